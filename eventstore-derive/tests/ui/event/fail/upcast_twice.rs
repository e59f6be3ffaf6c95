include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    #[event(version = 2, upcast(from = 1, raw = rename), upcast(from = 1, typed = OpenedV1))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
