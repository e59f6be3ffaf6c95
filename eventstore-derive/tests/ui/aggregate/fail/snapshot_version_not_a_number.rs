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
#[aggregate(event = AccountEvent, snapshot_version = "two")]
pub struct Account {}

impl AccountEventHandler for Account {
    fn on_opened(&mut self, _: &Opened) {}
    fn on_money_withdrawn(&mut self, _: &MoneyWithdrawn) {}
}

fn main() {}
