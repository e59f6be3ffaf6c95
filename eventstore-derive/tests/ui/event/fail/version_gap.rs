include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    // version 2 has no upcaster: rows written at it could not be read
    #[event(version = 3, upcast(from = 1, raw = rename))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
