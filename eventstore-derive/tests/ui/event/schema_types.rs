// The payloads and upcasters that the schema cases under `fail/` share.

use eventstore_core::Event;
use eventstore_core::schema::{RawEvent, UpcastError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize)]
pub struct Opened {
    pub holder: Option<String>,
    pub balance: u64,
}

#[derive(Deserialize)]
pub struct OpenedV1 {
    pub owner: String,
    pub initial_balance: u64,
}

impl From<OpenedV1> for Opened {
    fn from(v1: OpenedV1) -> Self {
        Self { holder: Some(v1.owner), balance: v1.initial_balance }
    }
}

#[derive(Serialize, Deserialize)]
pub struct Closed {}

fn rename(body: Value) -> Result<Value, UpcastError> {
    Ok(body)
}

fn split(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![event])
}
