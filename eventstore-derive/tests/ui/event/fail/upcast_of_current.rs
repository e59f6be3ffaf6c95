include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    // no `version`: the kind is at version 1, which no upcaster reads
    #[event(upcast(from = 1, typed = OpenedV1))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
