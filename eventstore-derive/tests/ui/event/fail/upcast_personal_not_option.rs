include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    // `owner` was a `String` in version 1: a forget could not erase it
    #[event(version = 2, personal(holder), upcast(from = 1, typed = OpenedV1, personal(owner)))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
