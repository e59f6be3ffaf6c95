//! `PgEventStore::import` on a real PostgreSQL: history lands like appended
//! events (loadable, delivered to reactors in commit order), every refusal
//! names its line and writes nothing, and a concurrent writer to an
//! imported stream makes the import a conflict naming the stream.

use std::time::{Duration, Instant, UNIX_EPOCH};

use eventstore_core::backend::conformance::account::Account;
use eventstore_core::backend::conformance::eventually::eventually;
use eventstore_core::backend::conformance::reactor::recorder::Recorder;
use eventstore_core::backend::conformance::reactor::running::{Running, fast};
use eventstore_core::backend::stream_hash;
use eventstore_core::reactor::Runner;
use eventstore_core::{
    Checkpoint, Error, EventFilter, EventStore, ImportProblem, Options, Repository, Tracker,
};
use eventstore_postgres::PgEventStore;
use eventstore_tests::import::{line, rows, uncommitted_first_version};
use eventstore_tests::postgres::fresh_store;
use serde_json::json;

fn opened(id: &str, balance: u64) -> String {
    line(
        "Account",
        id,
        "Opened",
        1,
        &json!({ "owner": "Ada", "initial_balance": balance }),
        "2024-01-01T09:00:00Z",
    )
}

fn deposited(id: &str, version: u64, amount: u64) -> String {
    line(
        "Account",
        id,
        "MoneyDeposited",
        version,
        &json!({ "amount": amount, "transaction": format!("t-{version}") }),
        "2024-01-02T10:30:00.5Z",
    )
}

/// `line` with a `schema_version` field of `value` (JSON text).
fn at_schema_version(line: &str, value: &str) -> String {
    let open = line.strip_suffix('}').expect("a JSON object");
    format!(r#"{open},"schema_version":{value}}}"#)
}

async fn import(store: &PgEventStore, lines: &[String]) -> eventstore_core::Result<u64> {
    let text = lines.join("\n");
    store.import(text.as_bytes()).await.map(|r| r.events)
}

#[tokio::test]
async fn imports_new_and_existing_streams_that_load_like_appended_ones() {
    let store = fresh_store().await;
    let repo = Repository::new(store.clone());
    repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 10))
        .await
        .expect("open")
        .into_result()
        .expect("opened");
    let mut with_metadata = deposited("acc-2", 2, 7);
    with_metadata.insert_str(
        with_metadata.len() - 1,
        r#","metadata":{"actor":"legacy","extra":{"source":"mainframe"}}"#,
    );
    let file = [
        deposited("acc-1", 2, 5),
        opened("acc-2", 100),
        String::new(),
        deposited("acc-1", 3, 1),
        with_metadata,
    ]
    .join("\n");
    let report = store.import(file.as_bytes()).await.expect("import");
    assert_eq!(
        (report.lines, report.events, report.streams),
        (5, 4, 2),
        "{report:?}"
    );

    let one = repo.load::<Account>("acc-1").await.expect("load acc-1");
    let two = repo.load::<Account>("acc-2").await.expect("load acc-2");
    assert_eq!((one.version, one.state.balance), (3, 16));
    assert_eq!((two.version, two.state.balance), (2, 107));
    // commands go on after the imported versions
    repo.execute("acc-1", Options::default(), |a: &Account| {
        a.deposit(1, "t-4")
    })
    .await
    .expect("deposit")
    .into_result()
    .expect("deposited");

    let events = store.load("Account", "acc-2", 0).await.expect("events");
    let time = |secs: u64, micros: u64| {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros)
    };
    assert_eq!(events[0].recorded_at, time(1_704_099_600, 0));
    assert_eq!(events[1].recorded_at, time(1_704_191_400, 500_000));
    assert_eq!(events[0].id.created_at(), time(1_704_099_600, 0));
    assert!(events[0].id < events[1].id, "ids follow the events' times");
    assert_eq!(events[1].metadata.actor.as_deref(), Some("legacy"));
    assert_eq!(events[1].metadata.extra["source"], "mainframe");

    // imported rows carry the stream hash that appends store
    let hashes: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT DISTINCT aggregate_id, stream_hash FROM \"{}\".events ORDER BY 1",
        store.schema()
    ))
    .fetch_all(store.pool())
    .await
    .expect("hashes");
    let expected = |id: &str| {
        (
            id.to_owned(),
            i64::from_ne_bytes(stream_hash(id).to_ne_bytes()),
        )
    };
    assert_eq!(hashes, [expected("acc-1"), expected("acc-2")]);
}

/// Each line's `schema_version`, or 1 without one, is stored and read back
/// like an appended event's, by a load and by the tracker.
#[tokio::test]
async fn imported_lines_keep_their_schema_versions() {
    let store = fresh_store().await;
    let lines = [
        opened("sv-1", 10),
        at_schema_version(&deposited("sv-1", 2, 1), "3"),
        at_schema_version(&deposited("sv-1", 3, 1), "2147483647"),
    ];
    assert_eq!(import(&store, &lines).await.expect("import"), 3);
    let versions = |events: &[eventstore_core::RecordedEvent]| -> Vec<(u64, u32)> {
        events
            .iter()
            .map(|e| (e.version, e.schema_version))
            .collect()
    };
    let expected = [(1, 1), (2, 3), (3, 2_147_483_647)];
    let loaded = store.load("Account", "sv-1", 0).await.expect("load");
    assert_eq!(versions(&loaded), expected, "load");
    // the tracker may be held back a while by other tests' transactions
    let read = eventually(
        Duration::from_secs(10),
        "the tracker reads the imported events",
        async || {
            store
                .read_page(Checkpoint::BEGINNING, &EventFilter::all(), 10)
                .await
                .expect("read")
                .events
        },
        |events| events.len() >= expected.len(),
    )
    .await;
    assert_eq!(versions(&read), expected, "the tracker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reactor_catches_up_on_imported_events_in_version_order() {
    let store = fresh_store().await;
    let lines: Vec<String> = (1..=5)
        .flat_map(|version| {
            ["t-1", "t-2", "t-3"].map(|id| {
                line(
                    "Thing",
                    id,
                    "Ticked",
                    version,
                    &json!({ "n": version }),
                    "2024-03-01T00:00:00Z",
                )
            })
        })
        .collect();
    assert_eq!(import(&store, &lines).await.expect("import"), 15);
    let recorder = Recorder::new("imported");
    let running = Running::start(Runner::new(store.clone(), recorder.clone()).options(fast("r")));
    recorder
        .wait_until(Duration::from_secs(10), "all 15 imported events", |h| {
            h.len() == 15
        })
        .await;
    running.stop().await;
    for id in ["t-1", "t-2", "t-3"] {
        let versions: Vec<u64> = recorder
            .handled()
            .iter()
            .filter(|h| h.event.aggregate_id == id)
            .map(|h| h.event.version)
            .collect();
        assert_eq!(versions, [1, 2, 3, 4, 5], "{id}");
    }
}

/// A refusal: the import's lines, the line it names, and whether the
/// problem is the one expected.
type Case = (&'static str, Vec<String>, u64, fn(&ImportProblem) -> bool);

#[tokio::test]
async fn each_refusal_names_the_line_and_writes_nothing() {
    let store = fresh_store().await;
    import(&store, &[opened("stored", 1)])
        .await
        .expect("the stored stream");
    let good = || vec![opened("a", 1), deposited("a", 2, 1), opened("b", 1)];
    let with = |at: usize, bad: String| {
        let mut lines = good();
        lines.insert(at, bad);
        lines
    };
    let cases: Vec<Case> = vec![
        ("not JSON", with(1, "{nope".into()), 2, |p| {
            matches!(p, ImportProblem::Malformed { .. })
        }),
        (
            "a body that is not an object",
            with(
                3,
                line(
                    "Account",
                    "c",
                    "Opened",
                    1,
                    &json!([1]),
                    "2024-01-01T00:00:00Z",
                ),
            ),
            4,
            |p| matches!(p, ImportProblem::BodyNotObject { kind } if kind == "Opened"),
        ),
        (
            "an invalid aggregate id",
            with(0, opened("bad\nid", 1)),
            1,
            |p| matches!(p, ImportProblem::InvalidId { id, .. } if id == "bad\nid"),
        ),
        (
            "a gap in the file",
            with(3, deposited("a", 4, 1)),
            4,
            |p| matches!(p, ImportProblem::Gap { aggregate_id, expected: 3, found: 4, .. } if aggregate_id == "a"),
        ),
        (
            "a duplicate version in the file",
            with(2, deposited("a", 2, 9)),
            3,
            |p| matches!(p, ImportProblem::DuplicateVersion { aggregate_id, version: 2, .. } if aggregate_id == "a"),
        ),
        (
            "a version the store holds",
            with(3, opened("stored", 1)),
            4,
            |p| matches!(p, ImportProblem::VersionExists { aggregate_id, version: 1, stored: 1, .. } if aggregate_id == "stored"),
        ),
        (
            "a gap after the stored version",
            with(3, deposited("stored", 3, 1)),
            4,
            |p| matches!(p, ImportProblem::Gap { aggregate_id, expected: 2, found: 3, .. } if aggregate_id == "stored"),
        ),
        (
            "a new stream that does not start at 1",
            with(0, deposited("new", 2, 1)),
            1,
            |p| {
                matches!(
                    p,
                    ImportProblem::Gap {
                        expected: 1,
                        found: 2,
                        ..
                    }
                )
            },
        ),
        (
            "a time that is not RFC 3339",
            with(
                1,
                line("Account", "c", "Opened", 1, &json!({}), "yesterday"),
            ),
            2,
            |p| matches!(p, ImportProblem::Malformed { reason } if reason.contains("\"yesterday\"")),
        ),
        (
            "schema version 0",
            with(1, at_schema_version(&opened("s", 1), "0")),
            2,
            |p| matches!(p, ImportProblem::Malformed { reason } if reason.contains("schema version 0")),
        ),
        (
            "a schema version that is not an integer",
            with(3, at_schema_version(&opened("s", 1), "\"2\"")),
            4,
            |p| matches!(p, ImportProblem::Malformed { reason } if reason.contains("invalid type: string")),
        ),
        (
            "a schema version above the largest integer",
            with(0, at_schema_version(&opened("s", 1), "2147483648")),
            1,
            |p| matches!(p, ImportProblem::Malformed { reason } if reason.contains("schema version 2147483648")),
        ),
        (
            "metadata of another shape",
            with(
                1,
                opened("m", 1).replace("\"version\":1", "\"version\":1,\"metadata\":[]"),
            ),
            2,
            |p| matches!(p, ImportProblem::Malformed { reason } if reason.contains("metadata")),
        ),
    ];
    let before = rows(&store).await;
    for (what, lines, named, expected) in cases {
        match import(&store, &lines).await {
            Err(Error::Import { line, problem }) => {
                assert_eq!(line, named, "{what}: {problem}");
                assert!(expected(&problem), "{what}: {problem:?}");
            }
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(rows(&store).await, before, "{what}: nothing written");
    }
}

#[tokio::test]
async fn a_refusal_after_rows_were_copied_writes_nothing_either() {
    let store = fresh_store().await;
    // more lines than several chunks, so that the first chunks' rows were
    // sent to the COPY when the last line is refused
    let mut lines: Vec<String> = (0..101)
        .flat_map(|s| {
            let id = format!("s-{s}");
            std::iter::once(opened(&id, 1)).chain((2..=100).map(move |v| deposited(&id, v, 1)))
        })
        .collect();
    lines.push(deposited("s-0", 102, 1));
    let before = rows(&store).await;
    match import(&store, &lines).await {
        Err(Error::Import {
            line: 10_101,
            problem:
                ImportProblem::Gap {
                    expected: 101,
                    found: 102,
                    ..
                },
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(rows(&store).await, before);
    lines.pop();
    assert_eq!(
        import(&store, &lines).await.expect("the good lines"),
        10_100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_writer_makes_the_import_a_conflict_naming_the_stream() {
    let store = fresh_store().await;
    // another writer has written version 1 of "race" and not yet committed
    let mut writer = uncommitted_first_version(&store, "Account", "Opened").await;
    // the writer's transaction id, as pg_locks shows it (32 bits)
    let writer_xid: String =
        sqlx::query_scalar("SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text")
            .fetch_one(&mut *writer)
            .await
            .expect("the writer's xid");
    let importing = tokio::spawn({
        let store = store.clone();
        async move { import(&store, &[opened("calm", 1), opened("race", 1)]).await }
    });
    // the import reads version 0 for "race" and waits on the writer's row
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks \
             WHERE NOT granted AND locktype = 'transactionid' AND transactionid::text = $1",
        )
        .bind(&writer_xid)
        .fetch_one(store.pool())
        .await
        .expect("locks");
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the import never waited on the writer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    writer.commit().await.expect("the writer commits");
    match importing.await.expect("the import task") {
        Err(Error::Conflict {
            aggregate_kind,
            aggregate_id,
            expected_version: 0,
            ..
        }) => assert_eq!(
            (aggregate_kind.as_str(), aggregate_id.as_str()),
            ("Account", "race")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        rows(&store).await,
        1,
        "only the writer's row: nothing imported"
    );
    // tried again, the import finds where the stream is now
    match import(&store, &[opened("calm", 1), opened("race", 1)]).await {
        Err(Error::Import {
            line: 2,
            problem: ImportProblem::VersionExists { stored: 1, .. },
        }) => {}
        other => panic!("{other:?}"),
    }
}

/// An input that fails after its first bytes, as a broken pipe would.
struct Broken;

impl tokio::io::AsyncRead for Broken {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
    }
}

#[tokio::test]
async fn an_input_that_fails_names_the_line_it_was_reading_and_writes_nothing() {
    use tokio::io::AsyncReadExt;
    let store = fresh_store().await;
    let first = format!("{}\n", opened("a", 1));
    let input = tokio::io::BufReader::new(first.as_bytes().chain(Broken));
    match store.import(input).await {
        Err(Error::Import {
            line: 2,
            problem: ImportProblem::Unreadable(error),
        }) => assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("{other:?}"),
    }
    assert_eq!(rows(&store).await, 0);
}
