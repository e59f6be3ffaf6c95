include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    #[event(version = 0)]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
