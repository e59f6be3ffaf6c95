//! Events and helpers shared by the cases.

use crate::backend::conformance::account::Account;
use crate::backend::{AppendOutcome, AppendRequest, NewEvent};
use crate::{EventBody, EventStore, Options, Outcome, RecordedEvent, Repository};
use serde_json::{Value, json};

/// The body of an event that a case writes: `value` must be a JSON object.
pub(crate) fn body(value: &Value) -> EventBody {
    EventBody::try_from(value).unwrap_or_else(|e| panic!("{value} is no event body: {e}"))
}

/// The field `field` of an event's body, parsed.
pub(crate) fn field(body: &EventBody, field: &str) -> Value {
    let value = body
        .to_value()
        .unwrap_or_else(|e| panic!("the body {body} does not parse: {e}"));
    value[field].clone()
}

/// An Account `MoneyDeposited` event as the store sees it.
pub(crate) fn deposited(amount: u64) -> NewEvent {
    NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: body(&json!({ "amount": amount, "transaction": format!("t-{amount}") })),
    }
}

/// An Account `Opened` event as the store sees it.
pub(crate) fn opened(balance: u64) -> NewEvent {
    NewEvent {
        kind: "Opened".into(),
        schema_version: 1,
        body: body(&json!({ "owner": "Ada", "initial_balance": balance })),
    }
}

/// Appends and expects the events to be written.
pub(crate) async fn append_ok<S: EventStore>(
    store: &S,
    request: AppendRequest,
) -> Vec<RecordedEvent> {
    let what = format!(
        "{}/{} at {}",
        request.aggregate_kind, request.aggregate_id, request.expected_version
    );
    match store.append(request).await {
        Ok(AppendOutcome::Committed(events)) => events,
        other => panic!("append to {what} should commit, got {other:?}"),
    }
}

/// The versions of a list of events.
pub(crate) fn versions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.version).collect()
}

/// Loads a stream and expects the load to work.
pub(crate) async fn load<S: EventStore>(
    store: &S,
    kind: &str,
    id: &str,
    after_version: u64,
) -> Vec<RecordedEvent> {
    match store.load(kind, id, after_version).await {
        Ok(events) => events,
        Err(error) => panic!("load of {kind}/{id} after {after_version} failed: {error:?}"),
    }
}

/// Opens the account `id` with `balance`, and expects it done.
pub(crate) async fn open<S: EventStore>(repo: &Repository<S>, id: &str, balance: u64) {
    let outcome = repo
        .execute(id, Options::default(), |a: &Account| a.open("Ada", balance))
        .await
        .expect("open");
    assert!(
        matches!(outcome, Outcome::Done(_)),
        "open {id}: {outcome:?}"
    );
}
