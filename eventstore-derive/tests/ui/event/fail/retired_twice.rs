include!("../schema_types.rs");

#[derive(Event)]
// two functions for the rows of "Moved" at version 1: which one reads them?
#[event(retired(kind = "Moved", events = split), retired(kind = "Moved", from = 1, events = split))]
pub enum AccountEvent {
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = rename;
}
