//! What the reactor state on JetStream key-value buckets promises beyond
//! the suite, with runners on connections of their own as separate
//! processes would be: a lease taken over fences its old holder, and of
//! runners racing for one lease exactly one gets it. Also the bucket
//! behaviour of NATS 2.9 that the compare-and-sets rely on, and the test
//! buckets' clean-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::Checkpoint;
use eventstore_core::backend::Lease;
use eventstore_core::reactor::ParkedEvent;
use eventstore_nats::KvReactors;
use eventstore_nats::async_nats::jetstream::kv::{Operation, UpdateErrorKind};
use eventstore_tests::nats_kv::{DeleteOnDrop, fresh_layout};
use eventstore_tests::nats_server::shared_jetstream;
use tokio::sync::Barrier;

/// How long a runner may wait for what another one does.
const WAIT: Duration = Duration::from_secs(10);

fn at(n: u64) -> Checkpoint {
    Checkpoint {
        tx: n,
        position: n << 16,
    }
}

fn parked(reactor: &str, position: u64) -> ParkedEvent {
    ParkedEvent {
        reactor: reactor.to_owned(),
        position,
        event: None,
        error: "handler failed".to_owned(),
        attempts: 3,
        parked_at: SystemTime::now(),
    }
}

/// `count` handles on the same buckets, each on a connection of its own,
/// and what deletes the buckets at the end of the test.
async fn runners(count: usize) -> (Vec<KvReactors>, DeleteOnDrop) {
    let layout = fresh_layout().await;
    let cleanup = DeleteOnDrop::new(&layout, &["reactors", "parked"]);
    let mut opened = Vec::with_capacity(count);
    for _ in 0..count {
        let context = shared_jetstream().await;
        opened.push(
            KvReactors::open(&context, &layout)
                .await
                .expect("open the buckets"),
        );
    }
    (opened, cleanup)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runner_whose_lease_was_taken_over_can_neither_save_nor_park() {
    let (stores, _cleanup) = runners(2).await;
    let (a, b) = (stores[0].clone(), stores[1].clone());
    let ttl = Duration::from_millis(400);
    let lease_a = a
        .acquire_lease("mailer", 0, 1, "runner-a", ttl)
        .await
        .expect("acquire")
        .expect("a free lease");

    // runner A stalls in its renewals but goes on saving checkpoints
    let stop = Arc::new(AtomicBool::new(false));
    let saver = tokio::spawn({
        let (a, lease, stop) = (a.clone(), lease_a.clone(), Arc::clone(&stop));
        async move {
            let (mut saved, mut refused) = (0_u32, 0_u32);
            for n in 1..=1_000_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if a.save_checkpoint(&lease, at(n)).await.expect("save") {
                    saved += 1;
                } else {
                    refused += 1;
                }
            }
            (saved, refused)
        }
    });

    // runner B takes the partition over once A's lease ran out
    let started = Instant::now();
    let lease_b = loop {
        if let Some(lease) = b
            .acquire_lease("mailer", 0, 1, "runner-b", Duration::from_secs(60))
            .await
            .expect("acquire")
        {
            break lease;
        }
        assert!(started.elapsed() < WAIT, "runner B never got the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let taken_over = at(u64::from(u32::MAX));
    assert!(b.save_checkpoint(&lease_b, taken_over).await.expect("save"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let (saved, refused) = saver.await.expect("runner A");

    assert!(
        saved > 0,
        "negative control: A saved while it held the lease"
    );
    assert!(refused > 0, "A went on trying after the take-over");
    assert_eq!(
        b.load_checkpoint("mailer", 0).await.expect("load"),
        Some(taken_over),
        "no save of A landed after the take-over ({saved} saved, {refused} refused)"
    );
    assert!(
        !a.park(&lease_a, parked("mailer", 7 << 16))
            .await
            .expect("park")
    );
    assert_eq!(b.parked_count("mailer").await.expect("count"), 0);
    assert!(!a.renew_lease(&lease_a, ttl).await.expect("renew"));
    a.release_lease(&lease_a).await.expect("release");
    assert_eq!(
        b.lease_holder("mailer", 0)
            .await
            .expect("holder")
            .as_deref(),
        Some("runner-b"),
        "a release by the old holder leaves the new one's lease"
    );
    assert!(
        b.park(&lease_b, parked("mailer", 7 << 16))
            .await
            .expect("park"),
        "negative control: the holder parks"
    );
    assert_eq!(b.parked_count("mailer").await.expect("count"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runners_racing_for_one_lease_one_wins() {
    let (stores, _cleanup) = runners(4).await;
    for round in 0..20_u32 {
        let reactor = format!("race-{round}");
        if round % 2 == 1 {
            // odd rounds race for a lease that ran out
            stores[0]
                .acquire_lease(&reactor, 0, 1, "stalled", Duration::from_millis(1))
                .await
                .expect("acquire")
                .expect("a free lease");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let start = Arc::new(Barrier::new(stores.len()));
        let tries: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let (store, reactor, start) = (store.clone(), reactor.clone(), Arc::clone(&start));
                tokio::spawn(async move {
                    start.wait().await;
                    store
                        .acquire_lease(&reactor, 0, 1, &format!("runner-{i}"), WAIT)
                        .await
                        .expect("acquire")
                })
            })
            .collect();
        let mut won: Vec<Lease> = Vec::new();
        for attempt in tries {
            won.extend(attempt.await.expect("a racer"));
        }
        assert_eq!(won.len(), 1, "round {round}: {won:?}");
        assert_eq!(
            stores[0]
                .lease_holder(&reactor, 0)
                .await
                .expect("holder")
                .as_deref(),
            Some(won[0].owner.as_str()),
            "round {round}"
        );
    }
}

/// What the compare-and-sets rely on, tried on the server: a create fails
/// when the key has a value, an update names the revision it replaces, an
/// entry says its revision, a deleted key reads as a delete marker whose
/// revision the next write must name.
#[tokio::test]
async fn the_bucket_compares_and_sets_as_relied_on() {
    let layout = fresh_layout().await;
    let _cleanup = DeleteOnDrop::new(&layout, &["reactors", "parked"]);
    let context = shared_jetstream().await;
    KvReactors::open(&context, &layout).await.expect("open");
    let kv = context
        .get_key_value(format!("{}_reactors", layout.prefix))
        .await
        .expect("the bucket");

    let first = kv.create("probe.a", "1".into()).await.expect("create");
    let again = kv.create("probe.a", "2".into()).await;
    assert!(again.is_err(), "a second create of a key: {again:?}");
    let entry = kv.entry("probe.a").await.expect("entry").expect("a value");
    assert_eq!((entry.revision, &entry.value[..]), (first, &b"1"[..]));

    let second = kv
        .update("probe.a", "3".into(), first)
        .await
        .expect("update at the revision read");
    let stale = kv.update("probe.a", "4".into(), first).await;
    assert_eq!(
        stale.map_err(|e| e.kind()),
        Err(UpdateErrorKind::WrongLastRevision),
        "an update at a revision replaced"
    );
    let never = kv.update("probe.b", "5".into(), 1).await;
    assert!(never.is_err(), "an update of a key that never was");
    assert!(
        kv.update("probe.c", "6".into(), 0).await.is_ok(),
        "revision 0: only while the key never was"
    );

    let late = kv.delete_expect_revision("probe.a", Some(first)).await;
    assert!(late.is_err(), "a delete at a revision replaced");
    kv.delete_expect_revision("probe.a", Some(second))
        .await
        .expect("delete");
    let marker = kv.entry("probe.a").await.expect("entry").expect("a marker");
    assert_eq!(marker.operation, Operation::Delete);
    assert!(kv.get("probe.a").await.expect("get").is_none());
    assert!(
        kv.update("probe.a", "7".into(), 0).await.is_err(),
        "revision 0 after a delete"
    );
    kv.update("probe.a", "8".into(), marker.revision)
        .await
        .expect("a write at the marker's revision");
}

#[tokio::test]
async fn a_dropped_test_store_deletes_its_buckets() {
    let layout = fresh_layout().await;
    let context = shared_jetstream().await;
    KvReactors::open(&context, &layout)
        .await
        .expect("open the buckets");
    let names = ["reactors", "parked"];
    let store = DeleteOnDrop::new(&layout, &names);
    let buckets = names.map(|name| format!("{}_{name}", layout.prefix));
    for bucket in &buckets {
        let there = context.get_key_value(bucket.as_str()).await;
        assert!(there.is_ok(), "negative control: {bucket} is there");
    }
    drop(store);
    for bucket in &buckets {
        let there = context.get_key_value(bucket.as_str()).await;
        assert!(there.is_err(), "{bucket} is deleted");
    }
}

/// A listing while its entries change still finds each of them: a park
/// again replaces the parked entry over and over, and every count read
/// meanwhile is one (an ordered consumer over the last message of each key
/// missed it, or never learnt that it had read everything).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listing_while_its_entries_change_misses_none() {
    let (stores, _cleanup) = runners(1).await;
    let store = stores[0].clone();
    let lease = store
        .acquire_lease("mailer", 0, 1, "runner", Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("a free lease");
    store
        .park(&lease, parked("mailer", 5 << 16))
        .await
        .expect("park");
    let writer = tokio::spawn({
        let (store, lease) = (store.clone(), lease.clone());
        async move {
            for _ in 0..500 {
                assert!(
                    store
                        .park(&lease, parked("mailer", 5 << 16))
                        .await
                        .expect("park")
                );
            }
        }
    });
    let started = Instant::now();
    let mut counts = Vec::new();
    while !writer.is_finished() && started.elapsed() < WAIT {
        counts.push(store.parked_count("mailer").await.expect("count"));
    }
    writer.await.expect("the writer");
    assert!(!counts.is_empty(), "no listing ran while the entry changed");
    assert!(counts.iter().all(|&n| n == 1), "{counts:?}");
}
