use eventstore_core::schema::{self, Decoded, RawEvent, UpcastError};
use eventstore_core::{Event, EventBody};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Opened {
    pub holder: Option<String>,
    pub balance: u64,
}

#[derive(Deserialize)]
pub struct OpenedV1 {
    pub owner: Option<String>,
    pub initial_balance: u64,
}

impl From<OpenedV1> for Opened {
    fn from(v1: OpenedV1) -> Self {
        Self { holder: v1.owner, balance: v1.initial_balance }
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Closed {
    pub reason: String,
}

/// Version 1 had no reason; version 2 called it `why`.
fn closed_v1(mut body: Value) -> Result<Value, UpcastError> {
    body["why"] = json!("unknown");
    Ok(body)
}

fn closed_v2(body: Value) -> Result<Value, UpcastError> {
    Ok(json!({ "reason": body["why"] }))
}

/// `Reopened` is gone: it reads as nothing.
fn drop_reopened(_: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![])
}

#[derive(Event, Debug, PartialEq)]
#[event(retired(kind = "Reopened", events = drop_reopened))]
pub enum AccountEvent {
    #[event(kind = "account.opened", version = 2, personal(holder), aliases = ["Opened"],
            upcast(from = 1, typed = OpenedV1, personal(owner)))]
    Opened(Opened),
    #[event(version = 3, upcast(from = 1, raw = closed_v1), upcast(from = 2, raw = closed_v2))]
    Closed(Closed),
}

fn main() {
    schema::check::<AccountEvent>().unwrap();
    assert_eq!(AccountEvent::current_version("account.opened"), 2);
    assert_eq!(AccountEvent::current_version("Closed"), 3);
    let closed: AccountEvent = Closed { reason: "done".into() }.into();
    assert_eq!(closed.schema_version(), 3);

    let v1: EventBody = r#"{"owner": "Ada", "initial_balance": 5}"#.parse().unwrap();
    let opened = Opened { holder: Some("Ada".into()), balance: 5 };
    for kind in ["account.opened", "Opened"] {
        let read = AccountEvent::from_stored(kind, 1, &v1).unwrap();
        assert_eq!(read, Decoded::One(AccountEvent::Opened(Opened { holder: Some("Ada".into()), balance: 5 })));
    }
    let v2: EventBody = r#"{"holder": "Ada", "balance": 5}"#.parse().unwrap();
    assert_eq!(AccountEvent::from_stored("Opened", 2, &v2).unwrap(), Decoded::One(opened.into()));

    let empty = EventBody::empty();
    let closed = AccountEvent::from_stored("Closed", 1, &empty).unwrap();
    assert_eq!(closed, Decoded::One(Closed { reason: "unknown".into() }.into()));
    assert!(AccountEvent::from_stored("Reopened", 1, &empty).unwrap().is_empty());

    assert_eq!(AccountEvent::stored_personal_fields("Opened"), ["holder", "owner"]);
    assert_eq!(AccountEvent::stored_personal_fields("account.opened"), ["holder", "owner"]);
}
