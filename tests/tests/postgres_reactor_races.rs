//! Races of the reactor runtime that only PostgreSQL has: a lease renewal
//! racing a re-partition in another transaction, and checkpoints stored
//! before partition counts were (migration 0006).

use std::collections::HashSet;
use std::time::Duration;

use eventstore_core::Checkpoint;
use eventstore_core::backend::conformance::reactor::recorder::Recorder;
use eventstore_core::backend::conformance::reactor::running::{Running, fast};
use eventstore_core::backend::conformance::reactor::tick;
use eventstore_core::reactor::{ReactorStore, Runner, partition_of};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use eventstore_tests::postgres::{database_url, fresh_store};

/// Checkpoints stored before migration 0006 (no row in `reactors`) by a
/// runner of 3 partitions: partition 0 is at the head, partitions 1 and 2
/// have delivered nothing. Restarting with 4 partitions must deliver every
/// event the old partitions 1 and 2 had not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_checkpoints_going_to_more_partitions_skip_nothing() {
    let store = fresh_store().await;
    let mut written = Vec::new();
    for a in 0..24 {
        written.push(tick(&store, &format!("thing-{a}"), 0).await);
    }
    let head = written.last().expect("written").checkpoint();
    // what a pre-0006 runner of 3 partitions left behind
    for (partition, at) in [
        (0, head),
        (1, Checkpoint::BEGINNING),
        (2, Checkpoint::BEGINNING),
    ] {
        let lease = store
            .acquire_lease("legacy", partition, 3, "before", Duration::from_secs(60))
            .await
            .expect("acquire")
            .expect("free");
        assert!(store.save_checkpoint(&lease, at).await.expect("save"));
        store.release_lease(&lease).await.expect("release");
    }
    let stored: Option<i32> = sqlx::query_scalar(&format!(
        "SELECT partitions FROM \"{}\".reactors WHERE reactor = 'legacy'",
        store.schema()
    ))
    .fetch_optional(store.pool())
    .await
    .expect("count");
    assert_eq!(stored, None, "no stored count, as before migration 0006");

    let undelivered: HashSet<u64> = written
        .iter()
        .filter(|e| partition_of(&e.aggregate_id, 3) != 0)
        .map(|e| e.position)
        .collect();
    let recorder = Recorder::new("legacy");
    let running = Running::start(
        Runner::new(store.clone(), recorder.clone()).options(fast("new").partitions(4)),
    );
    recorder
        .wait_until(
            Duration::from_secs(15),
            "what the old runner had not delivered",
            |h| {
                h.iter()
                    .map(|h| h.event.position)
                    .collect::<HashSet<_>>()
                    .is_superset(&undelivered)
            },
        )
        .await;
    running.stop().await;
    let seen: HashSet<u64> = recorder
        .handled()
        .iter()
        .map(|h| h.event.position)
        .collect();
    let skipped: Vec<_> = written
        .iter()
        .filter(|e| undelivered.contains(&e.position) && !seen.contains(&e.position))
        .map(|e| (e.aggregate_id.clone(), partition_of(&e.aggregate_id, 4)))
        .collect();
    assert!(
        skipped.is_empty(),
        "events never delivered by the old runner nor the new one: {skipped:?}"
    );
}

/// A stale runner of 2 partitions renews or takes its lease while a runner
/// of 1 re-partitions the reactor (the join's transaction is open). Both
/// wait for the join; then the renewal finds the lease gone, and the take
/// reads the new count (FOR SHARE) and is refused, so the stale runner
/// cannot store its old partition's checkpoint over the re-partitioned
/// one. (Before: the take's count guard read the old count, and inserted
/// the lease anew after the join's delete.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_racing_a_repartition_is_refused() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let ttl = Duration::from_secs(60);
    store.join("race", "old", 2, ttl).await.expect("join");
    let lease = store
        .acquire_lease("race", 0, 2, "old", ttl)
        .await
        .expect("acquire")
        .expect("free");
    let old_checkpoint = Checkpoint {
        tx: 1_000,
        position: 1_000,
    };
    assert!(
        store
            .save_checkpoint(&lease, old_checkpoint)
            .await
            .expect("save")
    );
    store
        .leave("race", "old")
        .await
        .expect("the old runner's heartbeat lapses");

    // the re-partitioning join of a runner of 1, as repartition.sql and
    // repartition_start.sql do it, its transaction still open
    let mut join = store.pool().begin().await.expect("begin");
    sqlx::query(&format!(
        "WITH gone AS (DELETE FROM \"{schema}\".checkpoints WHERE reactor = 'race'), \
              unleased AS (DELETE FROM \"{schema}\".leases WHERE reactor = 'race') \
         INSERT INTO \"{schema}\".reactors (reactor, partitions) VALUES ('race', 1) \
         ON CONFLICT (reactor) DO UPDATE SET partitions = excluded.partitions"
    ))
    .execute(&mut *join)
    .await
    .expect("repartition");
    sqlx::query(&format!(
        "INSERT INTO \"{schema}\".checkpoints (reactor, partition, tx, position) VALUES ('race', 0, 0, 0)"
    ))
    .execute(&mut *join)
    .await
    .expect("repartition start");

    let stale = store.clone();
    let renewal = tokio::spawn(async move {
        stale
            .acquire_lease("race", 0, 2, "old", Duration::from_secs(60))
            .await
    });
    let extension = tokio::spawn({
        let stale = store.clone();
        let lease = lease.clone();
        async move { stale.renew_lease(&lease, Duration::from_secs(60)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    join.commit().await.expect("commit the join");
    let extended = tokio::time::timeout(Duration::from_secs(5), extension)
        .await
        .expect("the extension ends")
        .expect("task")
        .expect("renew");
    assert!(!extended, "a lease the re-partition dropped is not renewed");
    let renewed = tokio::time::timeout(Duration::from_secs(5), renewal)
        .await
        .expect("the renewal ends")
        .expect("task");
    let saved = store
        .save_checkpoint(&lease, old_checkpoint)
        .await
        .expect("save");
    let now = store.load_checkpoint("race", 0).await.expect("load");
    assert!(
        !matches!(renewed, Ok(Some(_))) && !saved,
        "a runner of 2 renewed its lease across a re-partition to 1: {renewed:?}; \
         its checkpoint saved over the re-partitioned one: {saved} (now {now:?})"
    );
}

/// A runner whose process stalls (no await: its renewals cannot run) past
/// its lease after handling an event, while another runner takes the
/// partition over: when it resumes, it handles nothing more of it, and the
/// other runner delivers the rest, each event once after the stalled one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runner_that_stalls_past_its_lease_between_events_acts_no_more() {
    let store = fresh_store().await;
    let mut written = Vec::new();
    for version in 0..6 {
        written.push(tick(&store, "thing-1", version).await);
    }
    let recorder = Recorder::new("stall");
    recorder.stall_at(written[1].position, Duration::from_millis(1_500));
    // the stalled runner has a thread, a runtime and a connection pool of
    // its own, as a process would: its stall holds up nothing of the heir's
    // (a shared pool would: connections go back to it through the runtime
    // that used them)
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stalled = std::thread::spawn({
        let (schema, recorder) = (store.schema().to_owned(), recorder.tag("a"));
        move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async move {
                    let options = PgStoreOptions::default().schema(schema).max_connections(4);
                    let own = PgEventStore::connect(&database_url(), options)
                        .await
                        .expect("connect");
                    let runner = Runner::new(own, recorder).options(fast("a"));
                    runner
                        .run(async move {
                            let _ = stopped.await;
                        })
                        .await
                })
        }
    });
    recorder
        .wait_until(Duration::from_secs(15), "the stalled event", |h| {
            h.len() >= 2
        })
        .await;
    let heir = Running::start(Runner::new(store.clone(), recorder.tag("b")).options(fast("b")));
    let all: HashSet<u64> = written.iter().map(|e| e.position).collect();
    recorder
        .wait_until(Duration::from_secs(15), "every event", |h| {
            h.iter().map(|h| h.event.position).collect::<HashSet<_>>() == all
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop.send(());
    tokio::task::spawn_blocking(move || stalled.join())
        .await
        .expect("join")
        .expect("the stalled runner's thread")
        .expect("its run ends without an error");
    heir.stop().await;
    let handled = recorder.handled();
    let by_a: Vec<u64> = handled
        .iter()
        .filter(|h| h.tag == "a")
        .map(|h| h.event.position)
        .collect();
    assert_eq!(
        by_a,
        [written[0].position, written[1].position],
        "the stalled runner acted no more after it resumed"
    );
    let after: Vec<u64> = handled
        .iter()
        .filter(|h| h.tag == "b" && h.event.position > written[1].position)
        .map(|h| h.event.position)
        .collect();
    assert_eq!(
        after,
        written[2..].iter().map(|e| e.position).collect::<Vec<_>>(),
        "the heir delivered the rest, each once"
    );
}
