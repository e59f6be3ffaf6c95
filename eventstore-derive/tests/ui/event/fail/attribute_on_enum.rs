use eventstore_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub owner: String,
}

#[derive(Serialize, Deserialize)]
pub struct Closed {}

#[derive(Event)]
#[event(kind = "account")]
pub enum AccountEvent {
    Opened(Opened),
}

fn main() {}
