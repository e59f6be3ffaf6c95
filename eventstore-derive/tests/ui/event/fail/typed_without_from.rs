include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    Opened(Opened),
    // no `From<OpenedV1> for Closed`
    #[event(version = 2, upcast(from = 1, typed = OpenedV1))]
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
