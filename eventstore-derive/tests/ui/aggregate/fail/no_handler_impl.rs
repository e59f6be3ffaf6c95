use eventstore_core::{Aggregate, Event};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub owner: String,
}

#[derive(Serialize, Deserialize)]
pub struct MoneyWithdrawn {
    pub amount: u64,
}

#[derive(Event)]
pub enum AccountEvent {
    Opened(Opened),
    MoneyWithdrawn(MoneyWithdrawn),
}

#[derive(Aggregate, Default, Serialize, Deserialize)]
#[aggregate(kind = "Account", event = AccountEvent)]
pub struct Account {}

fn main() {}
