use eventstore_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub owner: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Closed {}

#[derive(Event)]
pub enum AccountEvent {
    #[event(personal(owner), personal(owner))]
    Opened(Opened),
    #[event(personal(owner, owner))]
    Renamed(Renamed),
}

#[derive(Serialize, Deserialize)]
pub struct Renamed {
    pub owner: Option<String>,
}

fn main() {}
