include!("../schema_types.rs");

#[derive(Event)]
pub enum AccountEvent {
    #[event(aliases = ["Closed"])]
    Opened(Opened),
    Closed(Closed),
}

fn main() {
    let _ = (rename, split);
}
