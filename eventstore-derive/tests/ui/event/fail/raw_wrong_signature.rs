include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    // `split` turns a row into events: it goes in `events = ...`
    #[event(version = 2, upcast(from = 1, raw = split))]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
