//! Schema versions on PostgreSQL (issue 18): every event row keeps the
//! schema version its body was written at, through both append statements
//! and every read (a load, a page, a command's load, the tracker's two
//! reads, a parked event), so that decoding upcasts each old row from its
//! own version. Rows written before migration 0009 read as version 1. A
//! version the integer column cannot hold, or 0, is refused and writes
//! nothing.

use std::time::{Duration, SystemTime};

use eventstore_core::backend::conformance::eventually::eventually;
use eventstore_core::backend::{AppendOutcome, AppendRequest, NewEvent, ReadPage, StreamEvent};
use eventstore_core::reactor::{ParkedEvent, ReactorStore};
use eventstore_core::schema::{UpcastError, UpcastStep, Upcaster};
use eventstore_core::{
    AggregateId, Checkpoint, DecodeError, Error, Event, EventBody, EventFilter, EventId,
    EventStore, RecordedEvent, Tracker,
};
use eventstore_postgres::PgEventStore;
use eventstore_tests::import::rows;
use eventstore_tests::postgres::{fresh_store, sql};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The current payload of `Counted`, schema version 3.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Counted {
    total: u64,
}

/// A family of one kind at schema version 3: version 1 stored the count
/// as `n`, version 2 as `count`. Decoding a row at the wrong version
/// fails, so each read below shows the version the store returned.
#[derive(Debug, PartialEq)]
enum CounterEvent {
    Counted(Counted),
}

/// `body`, a number in `from`, as an object with that number in `to`.
fn renamed(mut body: Value, from: &str, to: &str) -> Result<Value, UpcastError> {
    let number = body[from].take();
    if !number.is_u64() {
        return Err(UpcastError::new(format!("no {from}")));
    }
    Ok(json!({ to: number }))
}

/// Version 1 to 2: `n` became `count`.
fn counted_v1(body: Value) -> Result<Value, UpcastError> {
    renamed(body, "n", "count")
}

/// Version 2 to 3: `count` became `total`.
fn counted_v2(body: Value) -> Result<Value, UpcastError> {
    renamed(body, "count", "total")
}

impl Event for CounterEvent {
    const KINDS: &'static [&'static str] = &["Counted"];
    const VERSIONS: &'static [(&'static str, u32)] = &[("Counted", 3)];
    const UPCASTERS: &'static [Upcaster] = &[
        Upcaster {
            kind: "Counted",
            from: 1,
            step: UpcastStep::Body {
                to: 2,
                rewrite: counted_v1,
            },
            personal: &[],
        },
        Upcaster {
            kind: "Counted",
            from: 2,
            step: UpcastStep::Body {
                to: 3,
                rewrite: counted_v2,
            },
            personal: &[],
        },
    ];

    fn kind(&self) -> &'static str {
        "Counted"
    }

    fn to_body(&self) -> eventstore_core::Result<EventBody> {
        let Self::Counted(counted) = self;
        let encode = |source| Error::Encode {
            kind: "Counted".into(),
            source,
        };
        let value = serde_json::to_value(counted).map_err(|e| encode(Some(e)))?;
        EventBody::try_from(&value).map_err(|_| encode(None))
    }

    fn from_body(kind: &str, body: &EventBody) -> Result<Self, DecodeError> {
        match kind {
            "Counted" => serde_json::from_str(body.as_str())
                .map(Self::Counted)
                .map_err(DecodeError::Body),
            _ => Err(DecodeError::UnknownKind),
        }
    }
}

const KIND: &str = "Counter";

fn id(text: &str) -> AggregateId {
    text.parse().expect("a valid id")
}

/// A `Counted` of `total` as schema version `version` wrote it.
fn counted_at(version: u32, total: u64) -> NewEvent {
    let body = match version {
        1 => json!({ "n": total }),
        2 => json!({ "count": total }),
        _ => json!({ "total": total }),
    };
    NewEvent::new("Counted", &body)
        .expect("a JSON object")
        .schema_version(version)
}

/// The current event a row of `total` reads as.
fn counted(total: u64) -> CounterEvent {
    CounterEvent::Counted(Counted { total })
}

/// Each event's stream version, schema version and decoded event.
#[track_caller]
fn recorded(events: &[RecordedEvent]) -> Vec<(u64, u32, CounterEvent)> {
    events
        .iter()
        .map(|e| {
            let decoded = e.decode().unwrap_or_else(|error| panic!("{e:?}: {error}"));
            (e.version, e.schema_version, decoded)
        })
        .collect()
}

/// [`recorded`] for events of a load's pages, of the stream `id`.
#[track_caller]
fn folded(events: &[StreamEvent], id: &str) -> Vec<(u64, u32, CounterEvent)> {
    events
        .iter()
        .map(|e| {
            let decoded = e
                .decode(KIND, id)
                .unwrap_or_else(|error| panic!("{e:?}: {error}"));
            (e.version, e.schema_version, decoded)
        })
        .collect()
}

#[track_caller]
fn committed(outcome: eventstore_core::Result<AppendOutcome>) -> Vec<RecordedEvent> {
    match outcome {
        Ok(AppendOutcome::Committed(events)) => events,
        other => panic!("expected the append to commit, got {other:?}"),
    }
}

#[tokio::test]
async fn events_at_three_schema_versions_read_back_at_each_from_every_read() {
    let store = fresh_store().await;
    // append.sql: three events in one request, one at each version
    let batch = AppendRequest::new(KIND, id("c-1"), 0)
        .event(counted_at(1, 5))
        .event(counted_at(2, 6))
        .event(counted_at(3, 7));
    let mut written = committed(store.append(batch).await);
    // append_one.sql: one event, at an older version than the current
    let one = AppendRequest::new(KIND, id("c-1"), 3).event(counted_at(2, 8));
    written.extend(committed(store.append(one).await));
    let expected = || {
        vec![
            (1, 1, counted(5)),
            (2, 2, counted(6)),
            (3, 3, counted(7)),
            (4, 2, counted(8)),
        ]
    };
    assert_eq!(recorded(&written), expected(), "the append's envelopes");

    let loaded = store.load(KIND, "c-1", 0).await.expect("load");
    assert_eq!(recorded(&loaded), expected(), "load");
    assert_eq!(loaded, written, "load returns what the append said");

    let mut paged = store.load_page(KIND, "c-1", 0, 2).await.expect("page 1");
    paged.extend(store.load_page(KIND, "c-1", 2, 10).await.expect("page 2"));
    assert_eq!(folded(&paged, "c-1"), expected(), "load_page");

    for key in [None, Some("unused-key")] {
        let stream = store
            .load_stream(KIND, "c-1", key, 10)
            .await
            .expect("load_stream");
        assert_eq!(
            folded(&stream.events, "c-1"),
            expected(),
            "load_stream with key {key:?}"
        );
    }

    for (what, filter) in [
        ("read_after.sql", EventFilter::all()),
        ("read_partition.sql", EventFilter::all().partition(0, 1)),
    ] {
        let page = settled_page(&store, &filter, expected().len()).await;
        assert_eq!(recorded(&page.events), expected(), "{what}");
        assert!(page.unreadable.is_empty(), "{what}: {:?}", page.unreadable);
    }

    let reactor = "counter-mailer";
    let lease = store
        .acquire_lease(reactor, 0, 1, "runner-1", Duration::from_secs(30))
        .await
        .expect("acquire")
        .expect("a free lease");
    let third = &written[2];
    let parked = ParkedEvent {
        reactor: reactor.to_owned(),
        position: third.position,
        event: Some(third.clone()),
        error: "boom".to_owned(),
        attempts: 3,
        parked_at: SystemTime::now(),
    };
    assert!(store.park(&lease, parked).await.expect("park"), "parked");
    let one = store
        .parked_event(reactor, third.position)
        .await
        .expect("parked_event")
        .expect("the parked event");
    let listed = store.parked(reactor, 0, 10).await.expect("parked");
    assert_eq!(listed.len(), 1, "{listed:?}");
    for (what, parked) in [("parked_event.sql", one), ("parked.sql", listed[0].clone())] {
        let event = parked.event.expect("the event row is there");
        assert_eq!(recorded(&[event]), [(3, 3, counted(7))], "{what}");
    }
}

/// The `events` table's file, which a rewrite of the table replaces.
async fn table_file(store: &PgEventStore) -> i64 {
    sqlx::query_scalar(
        "SELECT pg_relation_filenode(format('%I.events', $1::text)::regclass)::bigint",
    )
    .bind(store.schema())
    .fetch_one(store.pool())
    .await
    .expect("the events table's file")
}

#[tokio::test]
async fn rows_written_before_migration_0009_read_as_version_1_and_stay_in_place() {
    let store = fresh_store().await;
    // the schema as a release before 0009 left it
    sql(
        &store,
        "ALTER TABLE {schema}.events DROP COLUMN schema_version",
    )
    .await;
    sql(
        &store,
        "DELETE FROM {schema}._sqlx_migrations WHERE version = 9",
    )
    .await;
    // rows as that release's appends wrote them, schema version 1 bodies
    for (version, n) in [(1_i64, 3_i64), (2, 4)] {
        sqlx::query(&format!(
            "INSERT INTO \"{}\".events (id, aggregate_kind, aggregate_id, version, kind, body) \
             VALUES ($1, $2, 'old-1', $3, 'Counted', jsonb_build_object('n', $4::bigint))",
            store.schema()
        ))
        .bind(EventId::new().to_string())
        .bind(KIND)
        .bind(version)
        .bind(n)
        .execute(store.pool())
        .await
        .expect("an old row");
    }
    let file = table_file(&store).await;
    store.migrate().await.expect("apply 0009");
    assert_eq!(
        table_file(&store).await,
        file,
        "adding the column did not rewrite the table"
    );

    // a release with 0009 appends after the old rows, at the current version
    let after = AppendRequest::new(KIND, id("old-1"), 2).event(counted_at(3, 9));
    committed(store.append(after).await);
    let expected = || vec![(1, 1, counted(3)), (2, 1, counted(4)), (3, 3, counted(9))];
    let loaded = store.load(KIND, "old-1", 0).await.expect("load");
    assert_eq!(recorded(&loaded), expected(), "load");
    let page = store.load_page(KIND, "old-1", 0, 10).await.expect("page");
    assert_eq!(folded(&page, "old-1"), expected(), "load_page");
    let stream = store
        .load_stream(KIND, "old-1", None, 10)
        .await
        .expect("load_stream");
    assert_eq!(folded(&stream.events, "old-1"), expected(), "load_stream");
    let read = settled_page(&store, &EventFilter::all(), expected().len()).await;
    assert_eq!(recorded(&read.events), expected(), "the tracker");
}

/// Whether a statement of the test's own failed on the table's check of
/// schema versions.
#[track_caller]
fn assert_refused_by_the_check(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) {
    let error = result.expect_err("the table refuses it");
    let constraint = error.as_database_error().and_then(|e| e.constraint());
    assert_eq!(constraint, Some("events_schema_version_from_1"), "{error}");
}

#[tokio::test]
async fn schema_version_0_is_refused_and_writes_nothing() {
    let store = fresh_store().await;
    let single = AppendRequest::new(KIND, id("z-1"), 0).event(counted_at(1, 1).schema_version(0));
    let batch = AppendRequest::new(KIND, id("z-1"), 0)
        .event(counted_at(1, 1))
        .event(counted_at(3, 2).schema_version(0));
    for (what, request) in [("one event", single), ("two events", batch)] {
        match store.append(request).await {
            Err(Error::ZeroSchemaVersion { kind }) => assert_eq!(kind, "Counted", "{what}"),
            other => panic!("{what}: expected ZeroSchemaVersion, got {other:?}"),
        }
    }
    assert_eq!(rows(&store).await, 0, "nothing written");
    // the table refuses it too, from writers other than the store
    let insert = sqlx::query(&format!(
        "INSERT INTO \"{}\".events (id, aggregate_kind, aggregate_id, version, kind, body, \
         schema_version) VALUES ($1, $2, 'z-1', 1, 'Counted', '{{}}', 0)",
        store.schema()
    ))
    .bind(EventId::new().to_string())
    .bind(KIND)
    .execute(store.pool())
    .await;
    assert_refused_by_the_check(insert);
    assert_eq!(rows(&store).await, 0, "nothing written");
}

/// One past the largest integer, which the column holds.
const ABOVE_INTEGER: u32 = i32::MAX.unsigned_abs() + 1;

#[tokio::test]
async fn a_schema_version_above_the_largest_integer_is_refused_and_writes_nothing() {
    let store = fresh_store().await;
    let single = AppendRequest::new(KIND, id("big-1"), 0)
        .event(counted_at(3, 1).schema_version(ABOVE_INTEGER));
    let batch = AppendRequest::new(KIND, id("big-1"), 0)
        .event(counted_at(3, 1))
        .event(counted_at(3, 2).schema_version(u32::MAX));
    for (what, request, value) in [
        ("one event", single, "2147483648"),
        ("two events", batch, "4294967295"),
    ] {
        match store.append(request).await {
            Err(Error::OutOfRange {
                what: named,
                value: given,
                ..
            }) => assert_eq!(
                (named, given.as_str()),
                ("event schema version", value),
                "{what}"
            ),
            other => panic!("{what}: expected OutOfRange, got {other:?}"),
        }
    }
    assert_eq!(rows(&store).await, 0, "nothing written");
    // the largest integer itself is stored and read back
    let largest = i32::MAX.unsigned_abs();
    let request =
        AppendRequest::new(KIND, id("big-1"), 0).event(counted_at(3, 1).schema_version(largest));
    committed(store.append(request).await);
    let loaded = store.load(KIND, "big-1", 0).await.expect("load");
    let versions: Vec<u32> = loaded.iter().map(|e| e.schema_version).collect();
    assert_eq!(versions, [largest]);
}

#[tokio::test]
async fn a_row_with_a_negative_schema_version_is_named_as_unreadable() {
    let store = fresh_store().await;
    let request = AppendRequest::new(KIND, id("neg-1"), 0).event(counted_at(3, 1));
    let position = committed(store.append(request).await)[0].position;
    // what only a writer that dropped the table's check could store
    sql(
        &store,
        "ALTER TABLE {schema}.events DROP CONSTRAINT events_schema_version_from_1",
    )
    .await;
    sql(&store, "UPDATE {schema}.events SET schema_version = -1").await;
    let problem = "schema version = -1 is out of range: allowed 0 to 4294967295";
    match store.load(KIND, "neg-1", 0).await {
        Err(Error::CorruptRow {
            position: at,
            aggregate_id,
            problem: said,
            ..
        }) => assert_eq!(
            (at, aggregate_id.as_str(), said.as_str()),
            (position, "neg-1", problem)
        ),
        other => panic!("expected CorruptRow, got {other:?}"),
    }
    match store.load_page(KIND, "neg-1", 0, 10).await {
        Err(Error::CorruptRow { problem: said, .. }) => assert_eq!(said, problem),
        other => panic!("expected CorruptRow, got {other:?}"),
    }
    let page = settled_page(&store, &EventFilter::all(), 1).await;
    assert!(page.events.is_empty(), "{:?}", page.events);
    let unreadable: Vec<(u64, &str)> = page
        .unreadable
        .iter()
        .map(|u| (u.checkpoint.position, u.problem.as_str()))
        .collect();
    assert_eq!(unreadable, [(position, problem)]);
}

/// The tracker's first page once it holds `rows` rows, readable or not:
/// a read may be held back for a while by other tests' transactions.
async fn settled_page(store: &PgEventStore, filter: &EventFilter, rows: usize) -> ReadPage {
    eventually(
        Duration::from_secs(10),
        "the tracker reads the rows written",
        async || {
            store
                .read_page(Checkpoint::BEGINNING, filter, 10)
                .await
                .expect("read")
        },
        |page| page.events.len() + page.unreadable.len() >= rows,
    )
    .await
}
