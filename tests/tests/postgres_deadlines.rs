//! The pending deadlines of sagas on PostgreSQL (`DeadlineStore for
//! PgEventStore`), where it can differ from the memory store: due times and
//! payloads through `timestamptz` and `jsonb`, firing order under the
//! database's collation, partitions picked out in SQL, syncs of one saga
//! racing on real connections, and the firing-order index on a table of
//! 100,000 deadlines. Each test has a schema of its own.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::backend::Partition;
use eventstore_core::saga::{Deadline, DeadlineStore, DeadlinesAt, PendingDeadline};
use eventstore_core::{AggregateId, Error, MemoryStore};
use eventstore_postgres::{CommandStatement, PgEventStore};
use eventstore_tests::dice::Dice;
use eventstore_tests::postgres::{fresh_store_with, sample_plans};
use serde_json::{Value, json};
use sqlx::PgConnection;

const KIND: &str = "Transfer";

/// A far future (the year 11970): every deadline of these tests is due
/// then.
fn far_future() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(10_000 * 366 * 86_400)
}

fn at(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

fn id(id: &str) -> AggregateId {
    AggregateId::new(id).expect("a valid id")
}

fn synced(saga_id: &str, version: u64, deadlines: Vec<Deadline>) -> DeadlinesAt {
    DeadlinesAt {
        saga_kind: KIND.to_owned(),
        saga_id: id(saga_id),
        version,
        deadlines,
    }
}

/// Every pending deadline of `KIND`, in firing order.
async fn all<S: DeadlineStore>(store: &S) -> Vec<PendingDeadline> {
    store
        .due_deadlines(KIND, None, far_future(), usize::MAX)
        .await
        .expect("read the deadlines")
}

#[tokio::test]
async fn due_times_and_payloads_read_back_as_synced() {
    let store = fresh_store_with(2).await;
    let dues = [
        0,                       // 1970 itself
        1,                       // a microsecond after
        1_799_999_999_999_999,   // a microsecond before a whole second
        1_800_000_000_123_456,   // 2027
        32_503_680_000_000_001,  // 3000
        9_007_199_254_740_993,   // 2^53 + 1: beyond a float's exact integers
        253_402_300_799_999_999, // 9999-12-31T23:59:59.999999
    ];
    let payloads = [
        Value::Null,
        json!({ "reminders": 3, "nested": { "list": [1, "two", null, true] } }),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0.1),
        json!(-1.5e-7),
        json!("ünïcödé ✓ \"quoted\" \\ / \n\t"),
        json!({ "b": 1, "a": 2, "": [] }),
    ];
    let deadlines: Vec<Deadline> = dues
        .iter()
        .zip(payloads.iter().cycle())
        .enumerate()
        .map(|(i, (&due, payload))| Deadline::at(format!("d{i}"), at(due)).with(payload.clone()))
        .collect();
    store
        .sync_deadlines(synced("t-1", 7, deadlines.clone()))
        .await
        .expect("sync");

    let read = all(&store).await;
    let mut expected: Vec<PendingDeadline> = deadlines
        .iter()
        .map(|deadline| PendingDeadline {
            saga_kind: KIND.to_owned(),
            saga_id: id("t-1"),
            version: 7,
            deadline: deadline.clone(),
        })
        .collect();
    expected.sort_by_key(|p| p.deadline.due_micros());
    assert_eq!(read, expected);
    for (pending, due) in read.iter().zip({
        let mut sorted = dues;
        sorted.sort_unstable();
        sorted
    }) {
        assert_eq!(pending.deadline.due_micros(), due, "{pending:?}");
    }
    assert_eq!(
        store.next_deadline(KIND, None).await.expect("next"),
        Some(at(0))
    );

    // exactly at its due time a deadline is due, a microsecond before not
    let due = 1_800_000_000_123_456;
    let upto = |now| store.due_deadlines(KIND, None, at(now), usize::MAX);
    let names = |found: Vec<PendingDeadline>| {
        found
            .into_iter()
            .map(|p| p.deadline.name().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(upto(due).await.expect("due")),
        ["d0", "d1", "d2", "d3"]
    );
    assert_eq!(names(upto(due - 1).await.expect("due")), ["d0", "d1", "d2"]);
    // a time between two microseconds counts as the microsecond before it
    let between = at(due) - Duration::from_nanos(1);
    assert_eq!(
        names(
            store
                .due_deadlines(KIND, None, between, usize::MAX)
                .await
                .expect("due")
        ),
        ["d0", "d1", "d2"]
    );
}

#[tokio::test]
async fn equal_due_times_fire_in_the_memory_stores_order() {
    let store = fresh_store_with(2).await;
    let memory = MemoryStore::new();
    let due = at(1_800_000_000_000_000);
    // ids and names that sort differently bytewise and under a locale
    let sagas = ["b", "a", "B", "a-10", "a-9", "é", "e", "Z", "a b", "a_b"];
    let names = ["reminder", "Approval", "approval", "ä", "z"];
    for (version, saga) in (1..).zip(sagas) {
        let deadlines: Vec<Deadline> = names.iter().map(|n| Deadline::at(*n, due)).collect();
        let at = synced(saga, version, deadlines);
        store.sync_deadlines(at.clone()).await.expect("sync");
        memory.sync_deadlines(at).await.expect("sync in memory");
    }
    let order = |found: &[PendingDeadline]| {
        found
            .iter()
            .map(|p| (p.saga_id.to_string(), p.deadline.name().to_owned()))
            .collect::<Vec<_>>()
    };
    let expected = order(&all(&memory).await);
    let mut bytewise = expected.clone();
    bytewise.sort_unstable();
    assert_eq!(expected, bytewise, "the memory store sorts bytewise");
    assert_eq!(order(&all(&store).await), expected);
    // a page ends where the order says
    let page = store
        .due_deadlines(KIND, None, due, 7)
        .await
        .expect("a page");
    assert_eq!(order(&page), expected[..7]);
}

#[tokio::test]
async fn a_partition_reads_the_deadlines_its_runner_owns() {
    let store = fresh_store_with(2).await;
    let base = 1_800_000_000_000_000;
    let mut expected = Vec::new();
    for n in 0..300_u64 {
        let saga = format!("transfer-{n}");
        // due times in an order unrelated to the ids
        let due = base + (n * 7_919) % 300 * 1_000;
        store
            .sync_deadlines(synced(&saga, 1, vec![Deadline::at("approval", at(due))]))
            .await
            .expect("sync");
        expected.push((due, saga));
    }
    expected.sort();
    let negative = expected
        .iter()
        .filter(|(_, saga)| eventstore_core::backend::stream_hash(saga) > u64::MAX / 2)
        .count();
    assert!(
        negative > 0 && negative < 300,
        "hashes stored as negative bigints: {negative} of 300"
    );
    for count in [1_u32, 2, 3, 4, 7, 16] {
        let mut seen = BTreeSet::new();
        for index in 0..count {
            let partition = Partition { index, count };
            let owned: Vec<&(u64, String)> = expected
                .iter()
                .filter(|(_, saga)| partition.owns(saga))
                .collect();
            let found = store
                .due_deadlines(KIND, Some(partition), far_future(), usize::MAX)
                .await
                .expect("due in the partition");
            let found_ids: Vec<String> = found.iter().map(|p| p.saga_id.to_string()).collect();
            let owned_ids: Vec<String> = owned.iter().map(|(_, saga)| saga.clone()).collect();
            assert_eq!(found_ids, owned_ids, "partition {index} of {count}");
            let next = store
                .next_deadline(KIND, Some(partition))
                .await
                .expect("next in the partition");
            assert_eq!(
                next,
                owned.first().map(|(due, _)| at(*due)),
                "partition {index} of {count}"
            );
            seen.extend(found_ids);
        }
        assert_eq!(seen.len(), expected.len(), "{count} partitions cover all");
    }
    let none = Partition { index: 0, count: 0 };
    assert!(matches!(
        store
            .due_deadlines(KIND, Some(none), far_future(), 10)
            .await,
        Err(Error::OutOfRange { .. })
    ));
}

/// The deadlines a saga lists at `version` in the race: some names kept
/// from version to version with other due times, some of its own, and none
/// at every fifth version.
/// [`TASKS`] tasks, started together, each syncing its share of
/// `versions` (every `TASKS`-th, in the order given) of the saga `saga`,
/// with the deadlines [`listed_at`] each version; each ends with the first
/// error, naming its version.
fn race_syncs(
    store: &PgEventStore,
    saga: &str,
    versions: &[u64],
) -> Vec<tokio::task::JoinHandle<Result<(), String>>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    (0..TASKS)
        .map(|task| {
            let mine: Vec<u64> = versions.iter().copied().skip(task).step_by(TASKS).collect();
            let (store, saga, barrier) = (store.clone(), saga.to_owned(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                for version in mine {
                    store
                        .sync_deadlines(synced(&saga, version, listed_at(version)))
                        .await
                        .map_err(|e| format!("version {version}: {e:?}"))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect()
}

fn listed_at(version: u64) -> Vec<Deadline> {
    if version % 5 == 0 {
        return Vec::new();
    }
    let due = 1_800_000_000_000_000 + version * 1_000;
    let mut deadlines = vec![
        Deadline::at("approval", at(due)).with(json!({ "version": version })),
        Deadline::at(format!("only-{version}"), at(due + 1)),
    ];
    if version % 2 == 0 {
        deadlines.push(Deadline::at("even", at(due + 2)));
    }
    deadlines
}

/// Tasks syncing one saga at once.
const TASKS: usize = 8;

/// The versions synced in each round, in a shuffled order.
const VERSIONS: u64 = 50;

/// Rounds, each on a saga of its own.
const ROUNDS: u64 = 4;

/// The most all rounds together may take.
const TIME_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_syncs_of_one_saga_keep_the_latest_versions_deadlines() {
    let store = fresh_store_with(TASKS as u32).await;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let saga = format!("t-{round}");
        // the highest version last in one round, anywhere in the others
        let mut versions: Vec<u64> = (1..=VERSIONS).collect();
        let mut dice = Dice::new(round);
        for i in (1..versions.len()).rev() {
            versions.swap(i, dice.index(i + 1));
        }
        if round == 0 {
            versions.retain(|v| *v != VERSIONS);
            versions.push(VERSIONS);
        }
        let tasks = race_syncs(&store, &saga, &versions);
        let remaining = TIME_LIMIT.saturating_sub(started.elapsed());
        let results = tokio::time::timeout(remaining, async {
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.expect("a sync task"));
            }
            results
        })
        .await
        .expect("the race ends within the time limit");
        for result in results {
            result.unwrap_or_else(|e| panic!("round {round}: a sync failed: {e}"));
        }

        let kept: Vec<PendingDeadline> = all(&store)
            .await
            .into_iter()
            .filter(|p| p.saga_id == saga.as_str())
            .collect();
        // the highest version lists none, so none may be kept
        assert!(listed_at(VERSIONS).is_empty());
        assert!(
            kept.is_empty(),
            "round {round}: version {VERSIONS} lists no deadline, but {kept:?} are kept"
        );
        // and once more with a version that lists some, racing itself
        let last = VERSIONS + 1;
        let syncs: Vec<_> = (0..TASKS)
            .map(|_| {
                let (store, saga) = (store.clone(), saga.clone());
                tokio::spawn(async move {
                    store
                        .sync_deadlines(synced(&saga, last, listed_at(last)))
                        .await
                })
            })
            .collect();
        for sync in syncs {
            tokio::time::timeout(TIME_LIMIT, sync)
                .await
                .expect("a sync within the time limit")
                .expect("a sync task")
                .expect("sync");
        }
        let kept: Vec<(u64, String)> = all(&store)
            .await
            .into_iter()
            .filter(|p| p.saga_id == saga.as_str())
            .map(|p| (p.version, p.deadline.name().to_owned()))
            .collect();
        let wanted: Vec<(u64, String)> = listed_at(last)
            .iter()
            .map(|d| (last, d.name().to_owned()))
            .collect();
        assert_eq!(kept, wanted, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_syncs_with_a_highest_version_that_lists_deadlines_keep_exactly_its_set() {
    let store = fresh_store_with(TASKS as u32).await;
    let started = Instant::now();
    // the highest version lists deadlines; versions that list none race too
    let top = VERSIONS - 1;
    for round in 0..ROUNDS {
        let saga = format!("u-{round}");
        let mut versions: Vec<u64> = (1..=top).collect();
        let mut dice = Dice::new(100 + round);
        for i in (1..versions.len()).rev() {
            versions.swap(i, dice.index(i + 1));
        }
        let tasks = race_syncs(&store, &saga, &versions);
        for task in tasks {
            let remaining = TIME_LIMIT.saturating_sub(started.elapsed());
            tokio::time::timeout(remaining, task)
                .await
                .expect("the race ends within the time limit")
                .expect("a sync task")
                .unwrap_or_else(|e| panic!("round {round}: a sync failed: {e}"));
        }
        let kept: Vec<PendingDeadline> = all(&store)
            .await
            .into_iter()
            .filter(|p| p.saga_id == saga.as_str())
            .collect();
        let mut expected: Vec<PendingDeadline> = listed_at(top)
            .into_iter()
            .map(|deadline| PendingDeadline {
                saga_kind: KIND.to_owned(),
                saga_id: id(&saga),
                version: top,
                deadline,
            })
            .collect();
        expected.sort_by_key(|p| p.deadline.due_micros());
        assert_eq!(kept, expected, "round {round}");
    }
}

#[tokio::test]
async fn an_older_versions_sync_changes_nothing() {
    let store = fresh_store_with(2).await;
    let due = at(1_800_000_000_000_000);
    let names = |found: Vec<PendingDeadline>| {
        found
            .into_iter()
            .map(|p| (p.version, p.deadline.name().to_owned()))
            .collect::<Vec<_>>()
    };
    let sync = |version, listed: &[&str]| {
        let deadlines = listed.iter().map(|n| Deadline::at(*n, due)).collect();
        store.sync_deadlines(synced("t-1", version, deadlines))
    };
    sync(5, &["a", "b"]).await.expect("sync 5");
    sync(3, &["c"]).await.expect("sync 3");
    assert_eq!(names(all(&store).await), [(5, "a".into()), (5, "b".into())]);
    sync(4, &[]).await.expect("sync 4");
    assert_eq!(names(all(&store).await), [(5, "a".into()), (5, "b".into())]);
    // the same version again replaces them (a reconcile delivered twice)
    sync(5, &["b", "d"]).await.expect("sync 5 again");
    assert_eq!(names(all(&store).await), [(5, "b".into()), (5, "d".into())]);
    sync(6, &[]).await.expect("sync 6");
    assert!(all(&store).await.is_empty());
    // the saga's version is kept when its deadlines are gone
    sync(2, &["late"]).await.expect("sync 2");
    assert!(all(&store).await.is_empty(), "version 2 came after 6");
    sync(7, &["e"]).await.expect("sync 7");
    assert_eq!(names(all(&store).await), [(7, "e".into())]);
    // another saga's versions are its own
    store
        .sync_deadlines(synced("t-2", 1, vec![Deadline::at("f", due)]))
        .await
        .expect("sync another saga");
    assert_eq!(all(&store).await.len(), 2);
}

#[tokio::test]
async fn removing_and_summarising_deadlines() {
    let store = fresh_store_with(2).await;
    let now = 1_800_000_000_000_000;
    store
        .sync_deadlines(synced(
            "t-1",
            3,
            vec![
                Deadline::at("late", at(now - 5_000)).with(json!({ "n": 1 })),
                Deadline::at("now", at(now)),
                Deadline::at("later", at(now + 1)),
            ],
        ))
        .await
        .expect("sync");
    store
        .sync_deadlines(synced(
            "t-2",
            1,
            vec![Deadline::at("late", at(now - 5_000))],
        ))
        .await
        .expect("sync");
    let other = DeadlinesAt {
        saga_kind: "Shipment".to_owned(),
        ..synced("s-1", 1, vec![Deadline::at("x", at(now - 9_000))])
    };
    store
        .sync_deadlines(other)
        .await
        .expect("sync another kind");

    let summary = store
        .deadline_summary(KIND, at(now), 2)
        .await
        .expect("summary");
    assert_eq!(summary.pending, 4);
    assert_eq!(summary.next_due, Some(at(now - 5_000)));
    assert_eq!(summary.overdue, 3);
    let listed: Vec<(String, String)> = summary
        .most_overdue
        .iter()
        .map(|p| (p.saga_id.to_string(), p.deadline.name().to_owned()))
        .collect();
    assert_eq!(
        listed,
        [("t-1".into(), "late".into()), ("t-2".into(), "late".into())]
    );
    assert_eq!(
        summary.most_overdue[0].deadline.payload(),
        &json!({ "n": 1 })
    );
    assert_eq!(summary.most_overdue[0].version, 3);
    let before = store
        .deadline_summary(KIND, at(now - 5_001), 10)
        .await
        .expect("summary before any is due");
    assert_eq!((before.pending, before.overdue), (4, 0));
    assert!(before.most_overdue.is_empty());
    let empty = store
        .deadline_summary("Nothing", at(now), 10)
        .await
        .expect("summary of a kind without deadlines");
    assert_eq!(empty, Default::default());

    // a moved deadline (same name, another due time) is not removed
    let mut first = summary.most_overdue[0].clone();
    first.deadline = Deadline::at("late", at(now - 4_999));
    store.remove_deadline(&first).await.expect("remove");
    assert_eq!(all(&store).await.len(), 4);
    store
        .remove_deadline(&summary.most_overdue[0])
        .await
        .expect("remove");
    store
        .remove_deadline(&summary.most_overdue[0])
        .await
        .expect("remove again: nothing");
    let left: Vec<String> = all(&store)
        .await
        .iter()
        .map(|p| format!("{}/{}", p.saga_id, p.deadline.name()))
        .collect();
    assert_eq!(left, ["t-2/late", "t-1/now", "t-1/later"]);
    assert_eq!(
        store.next_deadline("Shipment", None).await.expect("next"),
        Some(at(now - 9_000))
    );
    assert_eq!(
        store.next_deadline("Nothing", None).await.expect("next"),
        None
    );
}

#[tokio::test]
async fn a_payload_jsonb_refuses_is_a_typed_error_and_nothing_is_written() {
    let store = fresh_store_with(2).await;
    let due = at(1_800_000_000_000_000);
    let good = Deadline::at("approval", due).with(json!({ "ok": true }));
    let bad = Deadline::at("reminder", due).with(json!({ "note": "a\u{0}b" }));
    let refused = store
        .sync_deadlines(synced("t-1", 1, vec![good.clone(), bad.clone()]))
        .await;
    let Err(Error::UnstorableJson {
        aggregate_kind,
        aggregate_id,
        problem,
    }) = refused
    else {
        panic!("a typed refusal, got {refused:?}");
    };
    assert_eq!(
        (aggregate_kind.as_str(), aggregate_id.as_str()),
        (KIND, "t-1")
    );
    assert!(problem.contains("\"reminder\""), "{problem}");
    assert!(all(&store).await.is_empty(), "nothing written");

    store
        .sync_deadlines(synced("t-1", 2, vec![good.clone()]))
        .await
        .expect("sync");
    let refused = store
        .sync_deadlines(synced("t-1", 3, vec![bad, good.clone()]))
        .await;
    assert!(
        matches!(&refused, Err(Error::UnstorableJson { problem, .. }) if problem.contains("\"reminder\"")),
        "{refused:?}"
    );
    let kept = all(&store).await;
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].version, &kept[0].deadline), (2, &good));
    // the refused version was not recorded: version 2 may sync again
    store
        .sync_deadlines(synced("t-1", 2, Vec::new()))
        .await
        .expect("sync");
    assert!(all(&store).await.is_empty());
}

/// How many deadlines the plan test's table holds.
const FILLED: u32 = 100_000;

/// What reading the deadlines through `statement` costs with `sample`:
/// the nodes that scan the table whole or sort its rows, and how many
/// rows its scans of the table read (returned or filtered out).
fn costs(plan: &Value, problems: &mut Vec<String>, rows_read: &mut f64) {
    let node = plan["Node Type"].as_str().unwrap_or_default();
    let relation = plan["Relation Name"].as_str();
    if relation == Some("deadlines") {
        if node == "Seq Scan" || node == "Bitmap Heap Scan" {
            problems.push(format!("{node} on deadlines"));
        }
        *rows_read += plan["Actual Rows"].as_f64().unwrap_or_default()
            + plan["Rows Removed by Filter"].as_f64().unwrap_or_default();
    }
    if node == "Sort" {
        problems.push(format!("Sort (key {})", plan["Sort Key"]));
    }
    for child in plan["Plans"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        costs(child, problems, rows_read);
    }
}

async fn check(connection: &mut PgConnection, statement: &CommandStatement) -> Vec<String> {
    let mut problems = Vec::new();
    for (sample, plan) in sample_plans(connection, statement, "ANALYZE, FORMAT JSON").await {
        let (mut found, mut rows_read) = (Vec::new(), 0.0);
        costs(&plan[0]["Plan"], &mut found, &mut rows_read);
        // a page of 100 of one partition of 4 reads about 400 entries
        if rows_read > 2_000.0 {
            found.push(format!("{rows_read} rows read of {FILLED}"));
        }
        problems.extend(
            found
                .into_iter()
                .map(|problem| format!("{} ({}): {problem}", statement.name, sample.join(", "))),
        );
    }
    problems
}

async fn check_all(store: &PgEventStore, connection: &mut PgConnection) -> Vec<String> {
    let mut problems = Vec::new();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        sqlx::raw_sql(&format!("SET plan_cache_mode = {mode}"))
            .execute(&mut *connection)
            .await
            .expect("set the plan mode");
        for statement in store.deadline_statements() {
            problems.extend(
                check(connection, &statement)
                    .await
                    .into_iter()
                    .map(|problem| format!("{mode}: {problem}")),
            );
        }
    }
    problems
}

#[tokio::test]
async fn the_deadline_loops_reads_use_the_firing_order_index_on_100_000_deadlines() {
    let store = fresh_store_with(1).await;
    let schema = store.schema().to_owned();
    let mut connection = store.pool().acquire().await.expect("a connection");
    // 100,000 transfers with an approval deadline each, due over a day from
    // 2027-01-15 (the samples' time is past them all), another kind's too
    let fill = format!(
        "ALTER TABLE \"{schema}\".deadlines SET (autovacuum_enabled = off);
         INSERT INTO \"{schema}\".deadlines (saga_kind, saga_id, name, due, payload, version, stream_hash)
         SELECT CASE WHEN n % 10 = 0 THEN 'Shipment' ELSE 'Transfer' END, 't-' || n, 'approval',
                timestamptz '2027-01-14 00:00:00+00' + (n % 86400) * interval '1 second',
                '{{}}', 1, hashtextextended('t-' || n, 0)
         FROM generate_series(1, {FILLED}) AS n",
    );
    sqlx::raw_sql(&fill)
        .execute(&mut *connection)
        .await
        .expect("fill the table");
    let mut problems: Vec<String> = check_all(&store, &mut connection)
        .await
        .into_iter()
        .map(|p| format!("not analyzed: {p}"))
        .collect();
    sqlx::raw_sql(&format!("ANALYZE \"{schema}\".deadlines"))
        .execute(&mut *connection)
        .await
        .expect("analyze");
    problems.extend(
        check_all(&store, &mut connection)
            .await
            .into_iter()
            .map(|p| format!("analyzed: {p}")),
    );
    assert!(
        problems.is_empty(),
        "reads that do not go through the index:\n{}",
        problems.join("\n")
    );

    // and the store's own reads agree with the table
    drop(connection);
    let partition = Partition { index: 1, count: 4 };
    let due = store
        .due_deadlines(KIND, Some(partition), far_future(), 100)
        .await
        .expect("due");
    assert_eq!(due.len(), 100);
    assert!(
        due.windows(2)
            .all(|pair| pair[0].deadline.due() <= pair[1].deadline.due())
    );
    assert!(
        store
            .next_deadline(KIND, Some(partition))
            .await
            .expect("next")
            .is_some()
    );
}
