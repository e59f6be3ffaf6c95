include!("../schema_types.rs");

#[derive(Event)]
#[event(retired(kind = "Opened", events = split))]
pub enum AccountEvent {
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
