//! Numbers that do not fit PostgreSQL's columns are refused with
//! `Error::OutOfRange`, naming them, and write nothing: never clamped to
//! the nearest number that fits. Limits (most rows to return) are not such
//! numbers: `usize::MAX` still means every row.

use std::time::Duration;

use eventstore_core::backend::{AppendRequest, Lease, NewEvent, Partition, Snapshot};
use eventstore_core::reactor::ReactorStore;
use eventstore_core::{AggregateId, Checkpoint, Error, EventFilter, EventStore, StreamAt, Tracker};
use eventstore_postgres::PgEventStore;
use eventstore_tests::postgres::fresh_store;
use serde_json::json;

/// One past the largest bigint.
const ABOVE_BIGINT: u64 = i64::MAX.unsigned_abs() + 1;

/// One past the largest integer.
const ABOVE_INTEGER: u32 = i32::MAX.unsigned_abs() + 1;

#[track_caller]
fn assert_out_of_range<T: std::fmt::Debug>(result: Result<T, Error>, what: &str, value: &str) {
    match result {
        Err(Error::OutOfRange {
            what: refused,
            value: given,
            ..
        }) => assert_eq!((refused, given.as_str()), (what, value)),
        other => panic!("expected {what} = {value} out of range, got {other:?}"),
    }
}

fn id(text: &str) -> AggregateId {
    text.parse().expect("a valid id")
}

fn deposit() -> NewEvent {
    NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: json!({ "amount": 1 }).try_into().expect("a JSON object"),
    }
}

/// How many rows a table of the store's schema holds.
async fn rows(store: &PgEventStore, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{}\".{table}", store.schema());
    sqlx::query_scalar(&sql)
        .fetch_one(store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn an_append_above_the_largest_version_is_refused_and_writes_nothing() {
    let store = fresh_store().await;
    let single = AppendRequest::new("Account", id("a-1"), ABOVE_BIGINT).event(deposit());
    assert_out_of_range(
        store.append(single).await,
        "expected version",
        "9223372036854775808",
    );
    let batch = AppendRequest::new("Account", id("a-1"), ABOVE_BIGINT)
        .event(deposit())
        .event(deposit());
    assert_out_of_range(
        store.append(batch).await,
        "expected version",
        "9223372036854775808",
    );
    let guarded = AppendRequest::new("Account", id("a-1"), 0)
        .unless_moved(StreamAt::of_kind("Transfer", id("t-1"), ABOVE_BIGINT))
        .event(deposit());
    assert_out_of_range(
        store.append(guarded).await,
        "unless_moved version",
        "9223372036854775808",
    );
    let past_the_end = AppendRequest::new("Account", id("a-1"), ABOVE_BIGINT - 2)
        .event(deposit())
        .event(deposit());
    assert_out_of_range(
        store.append(past_the_end).await,
        "last version written",
        "9223372036854775808",
    );
    assert_eq!(rows(&store, "events").await, 0);
    // the largest version itself is one the store can write and compare:
    // refused here as a conflict, since the stream is not at the version
    // before it
    let largest = AppendRequest::new("Account", id("a-1"), ABOVE_BIGINT - 2).event(deposit());
    assert!(
        matches!(store.append(largest).await, Err(Error::Conflict { .. })),
        "the largest bigint is a version the store can compare"
    );
}

#[tokio::test]
async fn a_load_or_snapshot_out_of_range_is_refused() {
    let store = fresh_store().await;
    assert_out_of_range(
        store.load("Account", "a-1", ABOVE_BIGINT).await,
        "after_version",
        "9223372036854775808",
    );
    let snapshot = Snapshot {
        aggregate_kind: "Account".into(),
        aggregate_id: id("a-1"),
        version: 1,
        forgets: 0,
        schema_version: ABOVE_INTEGER,
        state: json!({}).into(),
    };
    assert_out_of_range(
        store.save_snapshot(snapshot).await,
        "snapshot schema version",
        "2147483648",
    );
    assert_eq!(rows(&store, "snapshots").await, 0);
}

#[tokio::test]
async fn a_read_out_of_range_is_refused() {
    let store = fresh_store().await;
    let all = EventFilter::all();
    // a limit is a most-rows bound, not a number stored or compared: any
    // limit above the largest bigint reads what that one reads, as in the
    // memory store
    let page = store
        .read_page(Checkpoint::BEGINNING, &all, usize::MAX)
        .await
        .expect("a limit of usize::MAX reads everything");
    assert!(page.events.is_empty(), "{page:?}");
    let far = Checkpoint {
        tx: ABOVE_BIGINT,
        position: 0,
    };
    assert_out_of_range(
        store.read_page(far, &all, 10).await,
        "checkpoint transaction id",
        "9223372036854775808",
    );
    // EventFilter::partition takes a count of 0 as 1; the field does not
    let mut none = EventFilter::all();
    none.partition = Some(Partition { index: 0, count: 0 });
    assert_out_of_range(
        store.read_page(Checkpoint::BEGINNING, &none, 10).await,
        "partition count",
        "0",
    );
}

#[tokio::test]
async fn a_partition_or_ttl_out_of_range_is_refused_and_writes_nothing() {
    let store = fresh_store().await;
    let ttl = Duration::from_secs(10);
    assert_out_of_range(
        store.load_checkpoint("mailer", ABOVE_INTEGER).await,
        "partition",
        "2147483648",
    );
    assert_eq!(
        store
            .load_checkpoint("mailer", ABOVE_INTEGER - 1)
            .await
            .expect("the largest integer is a partition"),
        None
    );
    assert_out_of_range(
        store.join("mailer", "r-1", ABOVE_INTEGER, ttl).await,
        "partition count",
        "2147483648",
    );
    assert_out_of_range(
        store.join("mailer", "r-1", 1, Duration::MAX).await,
        "lease ttl in microseconds",
        &Duration::MAX.as_micros().to_string(),
    );
    assert_out_of_range(
        store
            .acquire_lease("mailer", ABOVE_INTEGER, 1, "r-1", ttl)
            .await,
        "partition",
        "2147483648",
    );
    for table in ["reactors", "runners", "leases", "checkpoints"] {
        assert_eq!(rows(&store, table).await, 0, "{table}");
    }
    let lease = Lease {
        reactor: "mailer".into(),
        partition: ABOVE_INTEGER,
        owner: "r-1".into(),
    };
    assert_out_of_range(
        store.save_checkpoint(&lease, Checkpoint::BEGINNING).await,
        "partition",
        "2147483648",
    );
    assert_eq!(
        store
            .parked("mailer", 0, usize::MAX)
            .await
            .expect("a limit of usize::MAX lists every parked event")
            .len(),
        0
    );
}
