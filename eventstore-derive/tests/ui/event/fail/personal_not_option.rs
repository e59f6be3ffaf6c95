use eventstore_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub owner: String,
    pub email: Option<String>,
}

#[derive(Event)]
pub enum AccountEvent {
    // a forget sets personal fields to null: `owner` could not decode then
    #[event(personal(email, owner))]
    Opened(Opened),
}

fn main() {}
