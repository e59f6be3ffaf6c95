//! `PgEventStore::import` attacked: JSON that PostgreSQL refuses though
//! serde reads it, a refused line after the server already failed the
//! COPY (the pool must stay sound), unusual but valid input, a tracker
//! reading while a long import runs, and a writer that appends while the
//! import's rows are written but not committed.

use std::time::{Duration, Instant};

use eventstore_core::backend::conformance::account::Account;
use eventstore_core::{
    Checkpoint, Error, EventFilter, EventStore, ImportProblem, Options, Repository, Tracker,
};
use eventstore_postgres::{PgEventStore, PgStoreOptions, ReadMode};
use eventstore_tests::import::{
    each_query_gets_its_own_answer, line, rows, uncommitted_first_version,
};
use eventstore_tests::postgres::{
    append_tick, fresh_store, fresh_store_with, fresh_store_with_options,
};
use serde_json::json;
use tokio::io::{AsyncWriteExt, BufReader, DuplexStream};

/// How long a test waits for the server to reach a state.
const DEADLINE: Duration = Duration::from_secs(20);

/// Lines per chunk of the import (import/chunk.rs): a first part this long
/// is sent to the COPY before the import reads on.
const CHUNK_LINES: u64 = 2_000;

fn tick(id: &str, version: u64) -> String {
    line(
        "Thing",
        id,
        "Ticked",
        version,
        &json!({ "n": version }),
        "2024-03-01T00:00:00Z",
    )
}

/// Waits until `sql` (one bigint, `$1` the store's schema) is above 0.
async fn wait_for(store: &PgEventStore, what: &str, sql: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(store.schema())
            .fetch_one(store.pool())
            .await
            .expect(what);
        if n > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the import's COPY into the store's events has processed
/// `rows` rows (written, not committed).
async fn wait_for_copied(store: &PgEventStore, rows: u64) {
    let sql = format!(
        "SELECT count(*) FROM pg_stat_progress_copy \
         WHERE relid = (quote_ident($1) || '.events')::regclass AND tuples_processed >= {rows}"
    );
    wait_for(store, "the import's COPY processed the first chunk", &sql).await;
}

/// An import fed through a pipe: `first` now, the rest through the pipe
/// returned, which ends the input when dropped.
async fn piped_import(
    store: &PgEventStore,
    first: String,
) -> (
    DuplexStream,
    tokio::task::JoinHandle<eventstore_core::Result<u64>>,
) {
    let (mut pipe, reader) = tokio::io::duplex(1 << 16);
    let importing = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .import(BufReader::new(reader))
                .await
                .map(|report| report.events)
        }
    });
    pipe.write_all(first.as_bytes()).await.expect("feed");
    (pipe, importing)
}

/// Reads a page after `after` with the tracker, noting each event's
/// stream and version in `seen`.
async fn read(store: &PgEventStore, after: &mut Checkpoint, seen: &mut Vec<(String, u64)>) {
    let page = store
        .read_after(*after, &EventFilter::all(), 500)
        .await
        .expect("read");
    if let Some(last) = page.last() {
        *after = last.checkpoint();
    }
    seen.extend(page.into_iter().map(|e| (e.aggregate_id, e.version)));
}

#[tokio::test]
async fn json_that_postgresql_refuses_is_an_import_error_naming_the_line() {
    let store = fresh_store().await;
    let good = tick("a", 1);
    // serde reads each of these; PostgreSQL's jsonb refuses them
    let cases = [
        ("a NUL in the body", r#""body":{"note":"a\u0000b"}"#),
        (
            "a lone surrogate in the body",
            r#""body":{"note":"\ud800"}"#,
        ),
        ("a number beyond numeric", r#""body":{"n":1e131072}"#),
        (
            "a NUL in the metadata",
            r#""body":{},"metadata":{"actor":"x\u0000"}"#,
        ),
    ];
    for (what, field) in cases {
        let bad = good.replace(r#""body":{"n":1}"#, field);
        assert_ne!(bad, good, "{what}: the case changes the line");
        let text = format!(
            "{good}\n{}\n",
            bad.replace(r#""aggregate_id":"a""#, r#""aggregate_id":"b""#)
        );
        match store.import(text.as_bytes()).await {
            Err(Error::Import {
                line: 2,
                problem: ImportProblem::Malformed { reason },
            }) => assert!(reason.contains("jsonb cannot store"), "{what}: {reason}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(rows(&store).await, 0, "{what}: nothing written");
    }
    // an escaped backslash before "u0000" is text, not a NUL: imported
    let text = good.replace(r#""body":{"n":1}"#, r#""body":{"path":"C:\\u0000"}"#);
    assert_eq!(
        store.import(text.as_bytes()).await.expect("import").events,
        1
    );
    let loaded = store.load("Thing", "a", 0).await.expect("load");
    assert_eq!(
        loaded[0].body.to_value().expect("a JSON body"),
        json!({ "path": "C:\\u0000" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_line_after_the_server_failed_the_copy_leaves_the_pool_sound() {
    // four connections: the writer's, the import's, its look-ups' and the
    // test's, each reused after them
    let store = fresh_store_with(4).await;
    // another writer holds version 1 of "race", uncommitted
    let writer = uncommitted_first_version(&store, "Thing", "Ticked").await;
    let first: String = std::iter::once(tick("race", 1))
        .chain((1..CHUNK_LINES).map(|v| tick("calm", v)))
        .map(|l| l + "\n")
        .collect();
    let (mut pipe, importing) = piped_import(&store, first).await;
    // the COPY waits on the writer's row, then fails when it commits
    wait_for(
        &store,
        "the import waits on the writer",
        "SELECT count(*) FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%events%'",
    )
    .await;
    writer.commit().await.expect("the writer commits");
    wait_for(
        &store,
        "the import's COPY failed",
        "SELECT count(*) FROM pg_stat_activity \
         WHERE state = 'idle in transaction (aborted)' AND query LIKE '%' || $1 || '%events%'",
    )
    .await;
    // then the import reads a line it refuses
    let fed = pipe.write_all(b"{nope\n").await;
    drop(pipe);
    let imported = importing.await.expect("the import task");
    fed.unwrap_or_else(|e| panic!("the import stopped reading ({e}): {imported:?}"));
    match imported {
        Err(Error::Import { line, .. }) => assert_eq!(line, CHUNK_LINES + 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(rows(&store).await, 1, "only the writer's row");
    each_query_gets_its_own_answer(&store).await;
    let loaded = store.load("Thing", "race", 0).await.expect("load");
    assert_eq!(loaded.len(), 1);
}

#[tokio::test]
async fn unusual_but_valid_input_imports_as_written() {
    let store = fresh_store().await;
    // nothing, blank lines, whitespace only: no event, no error
    for text in ["", "\n", "\n\n  \r\n\t\n"] {
        let report = store.import(text.as_bytes()).await.expect("empty");
        assert_eq!(report.events, 0, "{text:?}");
    }
    let long_id = "é".repeat(127); // 254 bytes
    let ids = [
        "o'brien",
        "a;b\"c",
        "ünï✓ 空",
        "'; DROP TABLE events; --",
        &long_id,
    ];
    let huge = "x".repeat(3 << 20); // a line longer than a chunk's bytes
    let mut lines = Vec::new();
    // streams interleave, each in order
    for version in 1..=3 {
        for id in ids {
            lines.push(line(
                "Kind with spaces/ünï",
                id,
                "Event kind ✓",
                version,
                &json!({ "id": id, "v": version }),
                "2024-01-01T00:00:00+14:00",
            ));
        }
    }
    lines.push(line(
        "Big",
        "big",
        "Huge",
        1,
        &json!({ "huge": huge }),
        "1970-01-01T00:00:00Z",
    ));
    lines.push(line(
        "Edge",
        "e",
        "Early",
        1,
        &json!({}),
        "1969-12-31T23:30:00-01:00",
    ));
    lines.push(line(
        "Edge",
        "e",
        "Late",
        2,
        &json!({}),
        "2105-12-31T23:59:59Z",
    ));
    // CRLF line ends and a trailing newline
    let text = lines.join("\r\n") + "\r\n";
    let report = store.import(text.as_bytes()).await.expect("import");
    assert_eq!((report.events, report.streams), (18, 7), "{report:?}");
    for id in ids {
        let events = store
            .load("Kind with spaces/ünï", id, 0)
            .await
            .expect("load");
        let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
        assert_eq!(versions, [1, 2, 3], "{id}");
        assert_eq!(events[0].body.to_value().expect("a JSON body")["id"], id);
        assert_eq!(events[0].kind, "Event kind ✓");
        // +14:00: ten in the morning of the day before, UTC
        let at = events[0]
            .recorded_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert_eq!(at.as_secs(), 1_704_067_200 - 14 * 3_600);
        // equal times: distinct ids, in line order
        assert!(events.windows(2).all(|w| w[0].id < w[1].id), "{events:?}");
    }
    let big = store.load("Big", "big", 0).await.expect("load");
    let huge = big[0].body.to_value().expect("a JSON body");
    assert_eq!(huge["huge"].as_str().map(str::len), Some(3 << 20));
    let edge = store.load("Edge", "e", 0).await.expect("load");
    let secs = |i: usize| {
        edge[i]
            .id
            .created_at()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    assert_eq!((secs(0), secs(1)), (1_800, 4_291_747_199));

    // a byte order mark is not JSON: refused naming line 1, nothing written
    let before = rows(&store).await;
    let bom = format!("\u{feff}{}\n", tick("bom", 1));
    match store.import(bom.as_bytes()).await {
        Err(Error::Import {
            line: 1,
            problem: ImportProblem::Malformed { .. },
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(rows(&store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracker_reading_during_a_long_import_skips_none_of_it() {
    let store = fresh_store().await;
    append_tick(&store, "before").await;
    let first: String = (1..=CHUNK_LINES)
        .map(|v| tick("imported", v) + "\n")
        .collect();
    let (mut pipe, importing) = piped_import(&store, first).await;
    wait_for_copied(&store, CHUNK_LINES).await;
    // appends commit while the import's rows wait for their commit; a
    // tracker reads all the while
    let mut after = Checkpoint::BEGINNING;
    let mut seen: Vec<(String, u64)> = Vec::new();
    for n in 0..5 {
        append_tick(&store, &format!("during-{n}")).await;
        read(&store, &mut after, &mut seen).await;
    }
    pipe.write_all((tick("imported", CHUNK_LINES + 1) + "\n").as_bytes())
        .await
        .expect("feed");
    drop(pipe);
    assert_eq!(
        importing.await.expect("task").expect("import"),
        CHUNK_LINES + 1
    );
    append_tick(&store, "after").await;
    let deadline = Instant::now() + DEADLINE;
    while seen.len() < 7 + CHUNK_LINES as usize + 1 {
        assert!(
            Instant::now() < deadline,
            "the tracker saw {} events",
            seen.len()
        );
        read(&store, &mut after, &mut seen).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    read(&store, &mut after, &mut seen).await;
    let imported: Vec<u64> = seen
        .iter()
        .filter(|(id, _)| id == "imported")
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(
        imported,
        (1..=CHUNK_LINES + 1).collect::<Vec<_>>(),
        "every imported event once, in order"
    );
    let others: Vec<&str> = seen
        .iter()
        .filter(|(id, _)| id != "imported")
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(others.len(), 7, "{others:?}");
    assert_eq!(others[0], "before");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_appends_while_the_import_is_uncommitted_retries_after_it() {
    let store = fresh_store().await;
    let repo = Repository::new(store.clone());
    repo.execute("x", Options::default(), |a: &Account| a.open("Ada", 10))
        .await
        .expect("open")
        .into_result()
        .expect("opened");
    let deposit = |version: u64| {
        line(
            "Account",
            "x",
            "MoneyDeposited",
            version,
            &json!({ "amount": 1, "transaction": format!("imp-{version}") }),
            "2024-01-01T00:00:00Z",
        )
    };
    let first: String = [deposit(2), deposit(3)]
        .into_iter()
        .chain((1..CHUNK_LINES - 1).map(|v| tick("filler", v)))
        .map(|l| l + "\n")
        .collect();
    let (mut pipe, importing) = piped_import(&store, first).await;
    wait_for_copied(&store, CHUNK_LINES).await;
    // the writer reads version 1 and writes version 2, which the import
    // holds uncommitted: it waits, then conflicts, reloads and retries
    let writing = tokio::spawn({
        let repo = repo.clone();
        async move {
            repo.execute("x", Options::default(), |a: &Account| a.deposit(5, "w-1"))
                .await
        }
    });
    wait_for(
        &store,
        "the writer waits on the import",
        "SELECT count(*) FROM pg_stat_activity \
         WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO \"' || $1 || '\".events%'",
    )
    .await;
    pipe.write_all((deposit(4) + "\n").as_bytes())
        .await
        .expect("feed");
    drop(pipe);
    assert_eq!(
        importing.await.expect("task").expect("import"),
        CHUNK_LINES + 1
    );
    writing
        .await
        .expect("task")
        .expect("the writer retries")
        .into_result()
        .expect("deposited");
    let account = repo.load::<Account>("x").await.expect("load");
    assert_eq!((account.version, account.state.balance), (5, 10 + 3 + 5));
}

/// In `ReadMode::SafetyMargin`, a tracker reads by `created_at` and skips a
/// transaction that commits later than the lag after rows of younger
/// transactions were read: an import is such a transaction whenever it
/// runs longer than the lag while anything else commits, so every one of
/// its events is skipped. The README says so, and that trackers of a store
/// that imports must use the default mode: this test fails when that mode
/// stops skipping it, and the README must change with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safety_margin_tracker_skips_an_import_that_outlasts_its_lag() {
    let lag = Duration::from_millis(200);
    let store =
        fresh_store_with_options(PgStoreOptions::default().read_mode(ReadMode::SafetyMargin(lag)))
            .await;
    let first: String = (1..=CHUNK_LINES)
        .map(|v| tick("imported", v) + "\n")
        .collect();
    let (pipe, importing) = piped_import(&store, first).await;
    wait_for_copied(&store, CHUNK_LINES).await;
    append_tick(&store, "during").await;
    tokio::time::sleep(lag * 2).await;
    let mut after = Checkpoint::BEGINNING;
    let mut seen = Vec::new();
    read(&store, &mut after, &mut seen).await;
    drop(pipe);
    assert_eq!(importing.await.expect("task").expect("import"), CHUNK_LINES);
    tokio::time::sleep(lag * 2).await;
    read(&store, &mut after, &mut seen).await;
    let imported = seen.iter().filter(|(id, _)| id == "imported").count();
    assert_eq!(imported, 0, "the tracker saw {seen:?}");
    assert!(
        seen.iter().any(|(id, _)| id == "during"),
        "the tracker read past the import: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_dropped_while_its_reader_stalls_leaves_nothing_open() {
    let store = fresh_store().await;
    let first: String = (1..=CHUNK_LINES)
        .map(|v| tick("stalled", v) + "\n")
        .collect();
    let (pipe, importing) = piped_import(&store, first).await;
    wait_for_copied(&store, CHUNK_LINES).await;
    // the caller gives up on an import whose input stalls
    importing.abort();
    assert!(importing.await.expect_err("aborted").is_cancelled());
    wait_for(
        &store,
        "the import's transaction ended",
        "SELECT (count(*) = 0)::int4::int8 FROM pg_stat_activity \
         WHERE state <> 'idle' AND query LIKE '%COPY%' || $1 || '%'",
    )
    .await;
    assert_eq!(rows(&store).await, 0, "nothing written");
    // trackers are not held back, and the pool answers each query its own
    append_tick(&store, "after").await;
    let mut after = Checkpoint::BEGINNING;
    let mut seen = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while seen.is_empty() {
        assert!(Instant::now() < deadline, "the tracker is held back");
        read(&store, &mut after, &mut seen).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(seen, [("after".to_owned(), 1)]);
    each_query_gets_its_own_answer(&store).await;
    drop(pipe);
}
