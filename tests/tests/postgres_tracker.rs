//! The tracker against real concurrent writers on PostgreSQL: transactions
//! that commit late, sleep, and roll back, while a tracker and a naive
//! `position >` poller read at the same time.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventstore_core::backend::conformance::eventually::eventually;
use eventstore_core::backend::stream_hash;
use eventstore_core::reactor::partition_of;
use eventstore_core::{Checkpoint, EventFilter, EventId, Tracker};
use eventstore_postgres::PgEventStore;
use eventstore_tests::dice::Dice;
use eventstore_tests::postgres::{
    append_tick, fresh_store_with, ids_after, insert_in_open_transaction, pool_in_database,
};

const WRITERS: usize = 8;
const TRANSACTIONS_PER_WRITER: u64 = 30;
const DEADLINE: Duration = Duration::from_secs(60);

/// One writer: transactions of 1 to 3 events on its own aggregate, each
/// held open 0-20 ms (one in eight: 300 ms), one in twenty rolled back.
async fn writer(store: PgEventStore, w: usize) -> u64 {
    let mut dice =
        Dice::new(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let insert = format!(
        "INSERT INTO \"{}\".events (id, aggregate_kind, aggregate_id, version, kind, body) \
         VALUES ($1, 'Gap', $2, $3, 'Tick', '{{}}')",
        store.schema()
    );
    let mut version = 0;
    let mut committed = 0;
    for _ in 0..TRANSACTIONS_PER_WRITER {
        let mut tx = store.pool().begin().await.expect("begin");
        let events = 1 + dice.roll(3);
        for k in 1..=events {
            sqlx::query(&insert)
                .bind(EventId::new().to_string())
                .bind(format!("gap-{w}"))
                .bind((version + k) as i64)
                .execute(&mut *tx)
                .await
                .expect("insert");
        }
        let hold = if dice.roll(8) == 0 {
            300
        } else {
            dice.roll(21)
        };
        tokio::time::sleep(Duration::from_millis(hold)).await;
        if dice.roll(20) == 0 {
            tx.rollback().await.expect("rollback");
        } else {
            tx.commit().await.expect("commit");
            version += events;
            committed += events;
        }
    }
    committed
}

/// Reads with the tracker until the writers are done and it has caught up.
async fn track(store: PgEventStore, done: Arc<AtomicBool>) -> Vec<(u64, String, u64)> {
    let filter = EventFilter::all().aggregate_kind("Gap");
    let mut after = Checkpoint::BEGINNING;
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        let writers_done = done.load(Ordering::SeqCst);
        let page = store
            .read_after(after, &filter, 50)
            .await
            .expect("read_after");
        if let Some(last) = page.last() {
            after = last.checkpoint();
        }
        let empty = page.is_empty();
        seen.extend(
            page.into_iter()
                .map(|e| (e.position, e.aggregate_id, e.version)),
        );
        if empty && writers_done {
            break;
        }
        if empty {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    seen
}

/// The naive reader: `WHERE position > last`, as most event stores do.
async fn poll_naively(store: PgEventStore, done: Arc<AtomicBool>) -> Vec<u64> {
    let sql = format!(
        "SELECT position FROM \"{}\".events WHERE aggregate_kind = 'Gap' AND position > $1 \
         ORDER BY position LIMIT 50",
        store.schema()
    );
    let mut last = 0_i64;
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        let writers_done = done.load(Ordering::SeqCst);
        let page: Vec<i64> = sqlx::query_scalar(&sql)
            .bind(last)
            .fetch_all(store.pool())
            .await
            .expect("poll");
        if let Some(&p) = page.last() {
            last = p;
        }
        let empty = page.is_empty();
        seen.extend(page.into_iter().map(|p| p as u64));
        if empty && writers_done {
            break;
        }
        if empty {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_tracker_never_skips_a_late_commit_where_a_naive_poller_does() {
    let store = fresh_store_with(WRITERS as u32 + 4).await;
    let done = Arc::new(AtomicBool::new(false));
    let tracker = tokio::spawn(track(store.clone(), Arc::clone(&done)));
    let naive = tokio::spawn(poll_naively(store.clone(), Arc::clone(&done)));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(store.clone(), w)))
        .collect();
    let mut committed_count = 0;
    for w in writers {
        committed_count += w.await.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let delivered = tracker.await.expect("tracker");
    let naive = naive.await.expect("naive poller");

    let committed: HashSet<u64> = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT position FROM \"{}\".events WHERE aggregate_kind = 'Gap'",
        store.schema()
    ))
    .fetch_all(store.pool())
    .await
    .expect("committed rows")
    .into_iter()
    .map(|p| p as u64)
    .collect();
    assert_eq!(
        committed.len() as u64,
        committed_count,
        "the writers' own count"
    );

    let delivered_positions: Vec<u64> = delivered.iter().map(|(p, _, _)| *p).collect();
    let unique: HashSet<u64> = delivered_positions.iter().copied().collect();
    assert_eq!(
        unique.len(),
        delivered_positions.len(),
        "no event delivered twice"
    );
    assert_eq!(
        unique, committed,
        "the tracker delivered exactly the committed events"
    );
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, aggregate, version) in &delivered {
        let last = versions.entry(aggregate.as_str()).or_default();
        assert_eq!(
            *version,
            *last + 1,
            "{aggregate}: version {version} after {last}"
        );
        *last = *version;
    }

    let naive: HashSet<u64> = naive.into_iter().collect();
    let missed = committed.difference(&naive).count();
    assert!(
        missed > 0,
        "negative control: the naive poller saw all {} events, so this schedule \
         is too gentle to show a late commit",
        committed.len()
    );
    println!(
        "committed {}, tracker delivered {}, naive poller missed {missed}",
        committed.len(),
        unique.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_safety_margin_mode_waits_the_lag_and_skips_a_commit_later_than_it() {
    let margin = Duration::from_millis(300);
    let transactions = fresh_store_with(4).await;
    let options = eventstore_postgres::PgStoreOptions::default()
        .schema(transactions.schema())
        .read_mode(eventstore_postgres::ReadMode::SafetyMargin(margin));
    let store = PgEventStore::from_pool(transactions.pool().clone(), options).expect("store");

    append_tick(&store, "first").await;
    assert!(
        ids_after(&store, Checkpoint::BEGINNING).await.is_empty(),
        "younger than the lag"
    );
    tokio::time::sleep(margin + Duration::from_millis(100)).await;
    assert_eq!(ids_after(&store, Checkpoint::BEGINNING).await, ["first"]);

    // the weakness: a transaction that commits more than the lag after it
    // wrote is behind the reader by the time it becomes visible
    let open = insert_in_open_transaction(&store, "slow").await;
    append_tick(&store, "fast").await;
    tokio::time::sleep(margin + Duration::from_millis(100)).await;
    let read = store
        .read_after(Checkpoint::BEGINNING, &EventFilter::all(), 100)
        .await
        .expect("read");
    assert_eq!(
        read.iter()
            .map(|e| e.aggregate_id.as_str())
            .collect::<Vec<_>>(),
        ["first", "fast"]
    );
    let checkpoint = read[1].checkpoint();
    open.commit().await.expect("commit");
    tokio::time::sleep(margin + Duration::from_millis(100)).await;
    assert!(
        ids_after(&store, checkpoint).await.is_empty(),
        "safety-margin mode skipped the slow commit"
    );
    // the default mode, reading the same rows, has it
    assert_eq!(
        ids_after(&transactions, Checkpoint::BEGINNING).await,
        ["first", "slow", "fast"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_wakes_a_waiting_tracker_and_a_rollback_does_not() {
    let store = fresh_store_with(4).await;
    let mut wakeups = store.wakeups();
    assert!(
        wakeups.wait(Duration::from_secs(10)).await,
        "the listener signals once it listens"
    );
    assert!(
        !wakeups.wait(Duration::from_millis(200)).await,
        "nothing appended: the timer ends the wait"
    );

    let started = Instant::now();
    append_tick(&store, "x").await;
    assert!(
        wakeups.wait(Duration::from_secs(10)).await,
        "woken by NOTIFY"
    );
    let latency = started.elapsed();
    assert!(latency < Duration::from_secs(5), "woken after {latency:?}");

    let open = insert_in_open_transaction(&store, "never").await;
    open.rollback().await.expect("rollback");
    assert!(
        !wakeups.wait(Duration::from_millis(300)).await,
        "a rollback notifies nobody"
    );
}

/// Every append stores its stream's hash, bit for bit; events without one
/// (appended before the column was added, or by hand) still reach only
/// their own partition's reads, which then check them in the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_read_their_own_events_with_or_without_a_stored_hash() {
    let store = fresh_store_with(4).await;
    let ids: Vec<String> = (0..24).map(|i| format!("gap-{i}")).collect();
    for id in &ids {
        append_tick(&store, id).await;
    }
    let stored: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT aggregate_id, stream_hash FROM \"{}\".events ORDER BY position",
        store.schema()
    ))
    .fetch_all(store.pool())
    .await
    .expect("select the hashes");
    for (id, hash) in &stored {
        assert_eq!(
            u64::from_ne_bytes(hash.to_ne_bytes()),
            stream_hash(id),
            "the hash stored for {id}"
        );
    }
    // half of the streams lose their hash, as if appended before it existed
    sqlx::query(&format!(
        "UPDATE \"{}\".events SET stream_hash = NULL WHERE aggregate_id ~ '[02468]$'",
        store.schema()
    ))
    .execute(store.pool())
    .await
    .expect("drop half of the hashes");

    let readable = async || ids_after(&store, Checkpoint::BEGINNING).await;
    eventually(DEADLINE, "every tick readable", readable, |read| {
        read.len() == ids.len()
    })
    .await;
    for index in 0..3 {
        let filter = EventFilter::all().partition(index, 3);
        let page = store
            .read_page(Checkpoint::BEGINNING, &filter, 100)
            .await
            .expect("read_page");
        let read: Vec<&str> = page
            .events
            .iter()
            .map(|e| e.aggregate_id.as_str())
            .collect();
        let expected: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| partition_of(id, 3) == index)
            .collect();
        assert_eq!(read, expected, "partition {index} of 3");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notify_after_an_append_goes_out_on_a_connection_of_its_own() {
    // a pool of one connection: before, the NOTIFY borrowed it from the
    // commands (and waited for it when they held it)
    let store = fresh_store_with(1).await;
    let pooled: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .expect("pid");
    let mut listener =
        sqlx::postgres::PgListener::connect_with(&pool_in_database("postgres").await)
            .await
            .expect("listener");
    listener
        .listen("eventstore_appended")
        .await
        .expect("LISTEN");

    append_tick(&store, "notified").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let notification = tokio::time::timeout(left, listener.recv())
            .await
            .expect("no NOTIFY within 10 s of the append")
            .expect("notification");
        if notification.payload() == store.schema() {
            break;
        }
    }

    let observer = pool_in_database("postgres").await;
    let (last_query, notifiers): (String, i64) = sqlx::query_as(
        "SELECT (SELECT query FROM pg_stat_activity WHERE pid = $1), \
                (SELECT count(*) FROM pg_stat_activity WHERE application_name = $2)",
    )
    .bind(pooled)
    .bind(eventstore_postgres::NOTIFIER_APPLICATION_NAME)
    .fetch_one(&observer)
    .await
    .expect("pg_stat_activity");
    assert!(
        !last_query.contains("pg_notify"),
        "the command pool's connection sent the NOTIFY: {last_query}"
    );
    assert!(
        notifiers >= 1,
        "no session named {:?}",
        eventstore_postgres::NOTIFIER_APPLICATION_NAME
    );
}
