//! GDPR forget on PostgreSQL, judged by the raw text of every row of every
//! table in the store's schema, and all or nothing.

use std::time::{Duration, SystemTime};

use eventstore_core::backend::conformance::eventually::snapshot_when;
use eventstore_core::reactor::{ParkedEvent, ReactorStore};
use eventstore_core::{Error, EventStore, ForgetRequest, Options, Outcome, Repository};
use eventstore_postgres::PgEventStore;
use eventstore_tests::postgres::fresh_store;
use sagas_examples::account::{Account, Decision};

/// The personal values, with a marker no other row holds.
const NAMES: [&str; 2] = ["Ada Lovelace-forgetme", "Ada King-forgetme"];
const MARKER: &str = "forgetme";

async fn done(repo: &Repository<PgEventStore>, decide: impl Fn(&Account) -> Decision) {
    let outcome = repo
        .execute("acc-ada", Options::default(), |a: &Account| decide(a))
        .await
        .expect("command");
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
}

/// Each table of the store's schema whose rows' text holds `value`, with
/// how many rows do.
async fn tables_holding(store: &PgEventStore, value: &str) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(store.schema())
    .fetch_all(store.pool())
    .await
    .expect("tables");
    assert!(tables.len() >= 6, "the store's tables: {tables:?}");
    let mut holding = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{}\".\"{table}\" AS t WHERE strpos(t::text, $1) > 0",
            store.schema()
        ))
        .bind(value)
        .fetch_one(store.pool())
        .await
        .expect("search");
        if count > 0 {
            holding.push((table, count));
        }
    }
    holding.sort();
    holding
}

/// An account with two names, a snapshot and a parked event whose error
/// quotes the name.
async fn ada() -> PgEventStore {
    let store = fresh_store().await;
    let repo = Repository::new(store.clone()).snapshot_every(2);
    done(&repo, |a| a.open(NAMES[0], 100)).await;
    done(&repo, |a| a.update_owner(NAMES[1])).await;
    done(&repo, |a| a.deposit(5, "t-1")).await;
    snapshot_when(&store, "Account", "acc-ada", |_| true).await;
    let opened = store.load("Account", "acc-ada", 0).await.expect("load")[0].clone();
    let lease = store
        .acquire_lease("mailer", 0, 1, "test", Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("a free lease");
    let parked = store
        .park(
            &lease,
            ParkedEvent {
                reactor: "mailer".into(),
                position: opened.position,
                event: Some(opened),
                error: format!("no mailbox for {}", NAMES[0]),
                attempts: 3,
                parked_at: SystemTime::now(),
            },
        )
        .await
        .expect("park");
    assert!(parked, "parked under the lease");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_forget_no_row_of_any_table_holds_the_personal_value() {
    let store = ada().await;
    assert_eq!(
        tables_holding(&store, MARKER).await,
        [
            ("events".to_owned(), 2),
            ("parked_events".to_owned(), 1),
            ("snapshots".to_owned(), 1)
        ],
        "negative control: the search finds every copy before the forget"
    );
    let before = store.load("Account", "acc-ada", 0).await.expect("load");

    let forgotten = store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-ada".parse().unwrap(),
        ))
        .await
        .expect("forget");
    assert_eq!(
        (forgotten.events, forgotten.snapshots, forgotten.copies),
        (2, 1, 1)
    );

    assert_eq!(tables_holding(&store, MARKER).await, [], "no copy left");
    let after = store.load("Account", "acc-ada", 0).await.expect("load");
    let versions = |events: &[eventstore_core::RecordedEvent]| {
        events
            .iter()
            .map(|e| (e.version, e.position, e.id))
            .collect::<Vec<_>>()
    };
    assert_eq!(versions(&after), versions(&before));
    let loaded = Repository::new(store.clone())
        .load::<Account>("acc-ada")
        .await
        .expect("the aggregate loads");
    assert_eq!(
        (loaded.version, loaded.state.balance, loaded.state.owner),
        (3, 105, None)
    );
    assert_eq!(
        store
            .forget(&ForgetRequest::personal::<Account>(
                "acc-ada".parse().unwrap()
            ))
            .await
            .expect("again")
            .total(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forget_that_fails_part_way_changes_nothing() {
    let store = ada().await;
    // one of its later statements fails: the table it writes is gone
    sqlx::query(&format!(
        "ALTER TABLE \"{}\".parked_events RENAME TO parked_elsewhere",
        store.schema()
    ))
    .execute(store.pool())
    .await
    .expect("rename");
    let failed = store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-ada".parse().unwrap(),
        ))
        .await;
    assert!(matches!(failed, Err(Error::Backend { .. })), "{failed:?}");
    assert_eq!(
        tables_holding(&store, MARKER).await,
        [
            ("events".to_owned(), 2),
            ("parked_elsewhere".to_owned(), 1),
            ("snapshots".to_owned(), 1)
        ],
        "the events and the snapshot were not erased alone"
    );
}

/// A snapshot save that runs while a forget's transaction is still open
/// waits for it, and then sees that the state it holds was loaded before
/// the forget: it is not stored. The forget is held open at its last
/// statement by a row lock the test takes on the stream's forget record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_saved_while_a_forget_is_open_is_not_stored() {
    let store = fresh_store().await;
    let repo = Repository::new(store.clone());
    done(&repo, |a| a.open(NAMES[0], 100)).await;
    let forget = ForgetRequest::personal::<Account>("acc-ada".parse().unwrap());
    store.forget(&forget).await.expect("first forget");
    done(&repo, |a| a.update_owner(NAMES[1])).await;
    let loaded = store
        .load_stream("Account", "acc-ada", None, usize::MAX)
        .await
        .expect("a command loads the stream between the two forgets");

    let schema = store.schema().to_owned();
    let mut holder = store.pool().begin().await.expect("begin");
    sqlx::query(&format!(
        "SELECT 1 FROM \"{schema}\".forgotten WHERE aggregate_id = 'acc-ada' FOR UPDATE"
    ))
    .execute(&mut *holder)
    .await
    .expect("lock the forget record");
    let forgetting = tokio::spawn({
        let store = store.clone();
        async move { store.forget(&forget).await }
    });
    let waiting = async || -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid' \
               AND query LIKE '%forgotten%'",
        )
        .fetch_one(store.pool())
        .await
        .expect("activity")
    };
    eventstore_core::backend::conformance::eventually::eventually(
        Duration::from_secs(10),
        "the second forget waits at its last statement",
        waiting,
        |n| *n > 0,
    )
    .await;

    let saving = tokio::spawn({
        let store = store.clone();
        let snapshot = eventstore_core::backend::Snapshot {
            aggregate_kind: "Account".into(),
            aggregate_id: "acc-ada".parse().unwrap(),
            version: 2,
            forgets: loaded.forgets,
            schema_version: 1,
            state: serde_json::json!({ "owner": NAMES[1], "balance": 100 }).into(),
        };
        async move { store.save_snapshot(snapshot).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    holder.commit().await.expect("release the forget");
    forgetting.await.expect("task").expect("second forget");
    saving
        .await
        .expect("task")
        .expect("a refused save is no error");
    assert_eq!(
        store
            .load_snapshot("Account", "acc-ada")
            .await
            .expect("load"),
        None,
        "the state loaded before the second forget is not stored"
    );
    assert!(tables_holding(&store, MARKER).await.is_empty());
}

/// The most loops of a scan of `relation` in `plan` (an `EXPLAIN (ANALYZE,
/// FORMAT JSON)` node) and its children.
fn scans_of(plan: &serde_json::Value, relation: &str) -> u64 {
    let own = if plan["Relation Name"] == relation {
        plan["Actual Loops"].as_u64().unwrap_or(0)
    } else {
        0
    };
    plan["Plans"].as_array().map_or(own, |children| {
        children
            .iter()
            .map(|child| scans_of(child, relation))
            .fold(own, u64::max)
    })
}

#[tokio::test]
async fn erasing_parked_errors_reads_each_parked_row_once_not_once_per_event_of_the_stream() {
    const EVENTS: u64 = 2_000;
    const PARKED: u64 = 2_000;
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let mut connection = store.pool().acquire().await.expect("a connection");
    for statement in [
        format!(
            "INSERT INTO \"{schema}\".events (id, aggregate_kind, aggregate_id, version, kind, \
             body, metadata, tx) SELECT 'e-' || g, 'Account', 'long', g, 'Opened', '{{}}', '{{}}', \
             pg_current_xact_id() FROM generate_series(1, {EVENTS}) AS g"
        ),
        format!(
            "INSERT INTO \"{schema}\".events (id, aggregate_kind, aggregate_id, version, kind, \
             body, metadata, tx) SELECT 'o-' || g, 'Account', 'o-' || g, 1, 'Opened', '{{}}', \
             '{{}}', pg_current_xact_id() FROM generate_series(1, {PARKED}) AS g"
        ),
        format!(
            "INSERT INTO \"{schema}\".parked_events (reactor, position, error, attempts) \
             SELECT 'mailer', position, 'boom', 1 FROM \"{schema}\".events \
             WHERE aggregate_id <> 'long'"
        ),
        format!("ANALYZE \"{schema}\".events"),
        format!("ANALYZE \"{schema}\".parked_events"),
        "BEGIN".to_owned(),
        // the store's own sessions run so (connect.rs)
        "SET LOCAL plan_cache_mode = force_generic_plan".to_owned(),
        "SET LOCAL enable_seqscan = off".to_owned(),
        format!(
            "PREPARE forget_parked (text, text, text) AS {}",
            include_str!("../../eventstore-postgres/src/sql/forget_parked.sql")
                .replace("{schema}", &format!("\"{schema}\""))
        ),
    ] {
        sqlx::raw_sql(&statement)
            .execute(&mut *connection)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let plan: serde_json::Value = sqlx::query_scalar(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE forget_parked ('Account', 'long', 'erased')",
    )
    .fetch_one(&mut *connection)
    .await
    .expect("explain the forget of parked errors");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut *connection)
        .await
        .expect("roll back");
    // parked_events has no index on position alone: a scan of it per event
    // of the stream reads the whole table (or its whole primary key) that
    // many times, 17 s for 5,000 events and 20,000 parked rows
    let scans = scans_of(&plan[0]["Plan"], "parked_events");
    assert_eq!(
        scans, 1,
        "parked_events scanned {scans} times for {EVENTS} events: {plan:#}"
    );
}
