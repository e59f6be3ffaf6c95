use eventstore_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub owner: String,
}

#[derive(Serialize, Deserialize)]
pub struct Closed {}

#[derive(Event)]
pub enum AccountEvent {
    #[event(kind = "x", colour = "red")]
    Opened(Opened),
    Closed { at: u64 },
    #[event(personal(nope))]
    Frozen(Closed),
}

fn main() {}
