include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    // checked at once, however high: the first versions without an upcaster are named
    #[event(version = 4294967295, upcast(from = 2, raw = rename))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
