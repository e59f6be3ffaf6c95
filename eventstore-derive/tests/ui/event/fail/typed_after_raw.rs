include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    // a typed upcaster converts into the next version's type, which a raw one has not
    #[event(version = 3, upcast(from = 1, typed = OpenedV1), upcast(from = 2, raw = rename))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
