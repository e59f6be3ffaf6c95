//! The forget glue on a store made of vectors and a real secrets bucket:
//! the counts of the conformance cases, and what opens afterwards.

use std::future::{Future, ready};
use std::sync::{Mutex, PoisonError};

use eventstore_core::backend::JsonText;
use eventstore_core::{EventBody, ForgetRequest, Forgotten, Result};
use serde_json::{Value, json};

use super::{ForgetSource, StoredEvent, StoredSnapshot, forget};
use crate::secrets::{PlainEvent, Secrets};
use crate::test_nats::TestBucket;

/// One aggregate's stored data, in memory.
#[derive(Default)]
struct Fake {
    events: Vec<StoredEvent>,
    snapshot: Mutex<Option<StoredSnapshot>>,
    refusals: Vec<String>,
    markers: Mutex<Vec<u64>>,
}

impl Fake {
    fn snapshot_now(&self) -> Option<StoredSnapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn markers(&self) -> Vec<u64> {
        self.markers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ForgetSource for Fake {
    fn stored_events(
        &self,
        _: &str,
        _: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        ready(Ok(self.events.clone()))
    }

    fn snapshot(
        &self,
        _: &str,
        _: &str,
    ) -> impl Future<Output = Result<Option<StoredSnapshot>>> + Send {
        ready(Ok(self.snapshot_now()))
    }

    fn replace_snapshot_state(
        &self,
        _: &str,
        _: &str,
        revision: u64,
        state: String,
        forgets: u64,
    ) -> impl Future<Output = Result<bool>> + Send {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let replaced = match snapshot.as_mut() {
            Some(held) if held.revision == revision => {
                *held = StoredSnapshot {
                    revision: revision + 1,
                    forgets,
                    state,
                };
                true
            }
            _ => false,
        };
        ready(Ok(replaced))
    }

    fn delete_snapshot(
        &self,
        _: &str,
        _: &str,
        revision: u64,
    ) -> impl Future<Output = Result<bool>> + Send {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let deleted = snapshot.as_ref().is_some_and(|s| s.revision == revision);
        if deleted {
            *snapshot = None;
        }
        ready(Ok(deleted))
    }

    fn sealed_refusals(
        &self,
        _: &str,
        _: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        ready(Ok(self.refusals.clone()))
    }

    fn publish_forget_marker(
        &self,
        _: &str,
        _: &str,
        forgets: u64,
    ) -> impl Future<Output = Result<()>> + Send {
        self.markers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(forgets);
        ready(Ok(()))
    }

    fn erase_parked_errors(
        &self,
        _: &std::collections::BTreeSet<u64>,
    ) -> impl Future<Output = Result<u64>> + Send {
        ready(Ok(0))
    }
}

/// `events` of (kind, body) sealed as one append to `kind` `id`.
async fn append(
    secrets: &Secrets,
    kind: &str,
    id: &str,
    events: &[(&str, Value)],
) -> Vec<StoredEvent> {
    let bodies: Vec<EventBody> = events
        .iter()
        .map(|(_, body)| EventBody::try_from(body).unwrap())
        .collect();
    let plain: Vec<PlainEvent<'_>> = events
        .iter()
        .zip(&bodies)
        .map(|((kind, _), body)| PlainEvent {
            kind,
            schema_version: 1,
            body,
        })
        .collect();
    let sealed = secrets.seal(kind, id, 0, &plain).await.expect("seal");
    (1..)
        .zip(sealed.value)
        .map(|(version, body)| StoredEvent {
            version,
            position: version,
            body,
        })
        .collect()
}

async fn snapshot(
    secrets: &Secrets,
    kind: &str,
    id: &str,
    state: &Value,
) -> Mutex<Option<StoredSnapshot>> {
    let state = JsonText::encode(state).unwrap();
    let sealed = secrets.seal_state(kind, id, 0, &state).await.unwrap();
    Mutex::new(Some(StoredSnapshot {
        revision: 1,
        forgets: 0,
        state: sealed.value,
    }))
}

async fn state(secrets: &Secrets, snapshot: StoredSnapshot) -> Option<Value> {
    secrets
        .open_state("Profile", "p-1", snapshot.forgets, &snapshot.state)
        .await
        .unwrap()
        .map(|state| state.to_value().unwrap())
}

async fn opened(secrets: &Secrets, kind: &str, id: &str, event: &StoredEvent) -> Value {
    let body = secrets.open(kind, id, 1, &event.body).await.expect("open");
    body.to_value().unwrap()
}

#[tokio::test]
async fn declared_fields_are_counted_per_event_and_the_snapshot_deleted() {
    let bucket = TestBucket::new().await;
    let secrets = Secrets::new(bucket.kv.clone());
    let events = [
        (
            "Opened",
            json!({ "owner": "Ada Lovelace", "initial_balance": 100 }),
        ),
        ("OwnerUpdated", json!({ "owner": "Ada King" })),
        (
            "MoneyDeposited",
            json!({ "amount": 5, "transaction": "t-1" }),
        ),
        ("OwnerUpdated", json!({ "owner": null })),
    ];
    let fake = Fake {
        events: append(&secrets, "Account", "acc-ada", &events).await,
        snapshot: snapshot(
            &secrets,
            "Account",
            "acc-ada",
            &json!({ "owner": "Ada King" }),
        )
        .await,
        ..Fake::default()
    };
    let request = ForgetRequest::of_kind("Account", "acc-ada".parse().unwrap())
        .event_fields("Opened", ["owner"])
        .event_fields("OwnerUpdated", ["owner"])
        .delete_snapshots();
    let forgotten = forget(&fake, &secrets, &request).await.unwrap();
    let expected = Forgotten {
        events: 2,
        snapshots: 1,
        copies: 0,
    };
    assert_eq!(
        forgotten, expected,
        "Opened and OwnerUpdated lose the owner; the one already null is not counted"
    );
    assert_eq!(fake.snapshot_now(), None);
    assert_eq!(fake.markers(), [1]);
    let first = opened(&secrets, "Account", "acc-ada", &fake.events[0]).await;
    assert_eq!(first, json!({ "owner": null, "initial_balance": 100 }));
    let deposit = opened(&secrets, "Account", "acc-ada", &fake.events[2]).await;
    assert_eq!(deposit, events[2].1);

    let again = forget(&fake, &secrets, &request).await.unwrap();
    assert_eq!(again.total(), 0, "{again:?}");
    assert_eq!(fake.markers(), [1, 2]);
}

#[tokio::test]
async fn explicit_fields_and_snapshot_fields_are_data() {
    let bucket = TestBucket::new().await;
    let secrets = Secrets::new(bucket.kv.clone());
    let odd = ["o'wner", "na\"me", "x'); DELETE FROM events; --"];
    let value = json!({
        "o'wner": "Ada", "na\"me": "Lovelace", "x'); DELETE FROM events; --": "secret",
        "keep": "kept", "owner": "not named",
    });
    let events = [("Created", value.clone()), ("Other", value.clone())];
    let fake = Fake {
        events: append(&secrets, "Profile", "p-1", &events).await,
        snapshot: snapshot(
            &secrets,
            "Profile",
            "p-1",
            &json!({ "o'wner": "Ada", "keep": 1 }),
        )
        .await,
        ..Fake::default()
    };
    let request = ForgetRequest::of_kind("Profile", "p-1".parse().unwrap())
        .event_fields("Created", odd)
        .snapshot_fields([odd[0], "absent"]);
    let forgotten = forget(&fake, &secrets, &request).await.unwrap();
    let expected = Forgotten {
        events: 1,
        snapshots: 1,
        copies: 0,
    };
    assert_eq!(forgotten, expected);
    let mut erased = value.clone();
    for field in odd {
        erased[field] = Value::Null;
    }
    assert_eq!(
        opened(&secrets, "Profile", "p-1", &fake.events[0]).await,
        erased
    );
    assert_eq!(
        opened(&secrets, "Profile", "p-1", &fake.events[1]).await,
        value
    );
    let kept = fake.snapshot_now().expect("the snapshot stays");
    assert_eq!(kept.forgets, 1);
    assert_eq!(
        state(&secrets, kept).await,
        Some(json!({ "o'wner": null, "keep": 1 }))
    );

    assert_eq!(forget(&fake, &secrets, &request).await.unwrap().total(), 0);
    let kept = fake.snapshot_now().expect("still there");
    let fresh = Secrets::new(bucket.kv.clone());
    assert_eq!(
        state(&fresh, kept).await,
        Some(json!({ "o'wner": null, "keep": 1 })),
        "sealed again with the new state key"
    );
}

#[tokio::test]
async fn recorded_refusals_are_erased_once() {
    let bucket = TestBucket::new().await;
    let secrets = Secrets::new(bucket.kv.clone());
    let error = JsonText::parse(r#"{"InsufficientFunds": {"owner": "Ada"}}"#).unwrap();
    let mut refusals = Vec::new();
    for id in ["a-1", "a-2"] {
        let opened = [("Opened", json!({ "owner": "Ada", "initial_balance": 10 }))];
        append(&secrets, "Account", id, &opened).await;
        refusals.push(
            secrets
                .seal_refusal("Account", id, 0, &error)
                .await
                .unwrap()
                .value,
        );
    }
    let fake = Fake {
        events: append(&secrets, "Account", "a-1", &[("Noted", json!({}))]).await,
        refusals: vec![refusals[0].clone()],
        ..Fake::default()
    };
    let request = ForgetRequest::of_kind("Account", "a-1".parse().unwrap())
        .event_fields("Opened", ["owner"])
        .delete_snapshots();
    assert_eq!(forget(&fake, &secrets, &request).await.unwrap().copies, 1);
    let erased = secrets
        .open_refusal("Account", "a-1", 1, &refusals[0])
        .await;
    assert_eq!(erased.unwrap(), None);
    let other = secrets
        .open_refusal("Account", "a-2", 0, &refusals[1])
        .await;
    assert_eq!(other.unwrap(), Some(error), "another aggregate's refusal");
    assert_eq!(forget(&fake, &secrets, &request).await.unwrap().copies, 0);
}

#[tokio::test]
async fn an_aggregate_that_sealed_nothing_forgets_nothing() {
    let bucket = TestBucket::new().await;
    let secrets = Secrets::new(bucket.kv.clone());
    let fake = Fake::default();
    let request = ForgetRequest::of_kind("Nobody", "acc-1".parse().unwrap())
        .event_fields("Opened", ["owner"])
        .snapshot_fields(["owner"]);
    assert_eq!(
        forget(&fake, &secrets, &request).await.unwrap(),
        Forgotten::default()
    );
    assert!(
        fake.markers().is_empty(),
        "no marker for a stream that is not there"
    );
    assert!(
        bucket.kv.get("Nobody.acc-1").await.unwrap().is_none(),
        "nothing written"
    );
}
