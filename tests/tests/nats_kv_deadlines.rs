//! The pending deadlines in a JetStream key-value bucket, seen from two
//! processes (two connections): each reads from memory, so what one syncs
//! must reach the other through the bucket's watch, and a process opened
//! later must start from what the bucket holds.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eventstore_core::Deadline;
use eventstore_core::backend::{DeadlinesAt, PendingDeadline};
use eventstore_nats::KvDeadlines;
use eventstore_tests::nats_kv::{DeleteOnDrop, fresh_layout};
use eventstore_tests::nats_server::shared_jetstream;

/// How long one process may take to see another's write.
const WAIT: Duration = Duration::from_secs(10);

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

fn synced(id: &str, version: u64, deadlines: Vec<Deadline>) -> DeadlinesAt {
    DeadlinesAt {
        saga_kind: "Approval".to_owned(),
        saga_id: id.parse().expect("an id"),
        version,
        deadlines,
    }
}

/// Waits (bounded) until `deadlines` has `next` as the earliest due time.
async fn until_next(deadlines: &KvDeadlines, next: Option<SystemTime>, what: &str) {
    let started = Instant::now();
    while deadlines.next_deadline("Approval", None) != next {
        assert!(
            started.elapsed() < WAIT,
            "{what}: still {:?}, not {next:?}",
            deadlines.next_deadline("Approval", None)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_sees_the_deadlines_another_keeps() {
    let layout = fresh_layout().await;
    let _cleanup = DeleteOnDrop::new(&layout, &["deadlines"]);
    let first = KvDeadlines::open(&shared_jetstream().await, &layout)
        .await
        .expect("open");
    first
        .sync_deadlines(synced(
            "ap-1",
            2,
            vec![Deadline::at("timeout", at(60)).with(serde_json::json!({"n": 1}))],
        ))
        .await
        .expect("sync");
    first
        .sync_deadlines(synced("ap-2", 1, vec![Deadline::at("timeout", at(90))]))
        .await
        .expect("sync");

    // opened later: starts from what the bucket holds
    let second = KvDeadlines::open(&shared_jetstream().await, &layout)
        .await
        .expect("open");
    let due = second.due_deadlines("Approval", None, at(100), 10);
    assert_eq!(
        due.iter()
            .map(|p| (p.saga_id.to_string(), p.version))
            .collect::<Vec<_>>(),
        [("ap-1".to_owned(), 2), ("ap-2".to_owned(), 1)]
    );
    assert_eq!(due[0].deadline.payload(), &serde_json::json!({"n": 1}));

    // a later sync in one process reaches the other through the watch
    first
        .sync_deadlines(synced("ap-1", 3, vec![Deadline::at("timeout", at(120))]))
        .await
        .expect("sync");
    until_next(&second, Some(at(90)), "ap-1 moved to 120").await;
    // a stale sync of an older version changes nothing, in either
    second
        .sync_deadlines(synced("ap-1", 2, vec![Deadline::at("timeout", at(10))]))
        .await
        .expect("stale sync");
    assert_eq!(second.next_deadline("Approval", None), Some(at(90)));

    // a removal in the second reaches the first
    let fired: PendingDeadline = second
        .due_deadlines("Approval", None, at(100), 1)
        .pop()
        .expect("ap-2 is due");
    second.remove_deadline(&fired).await.expect("remove");
    until_next(&first, Some(at(120)), "ap-2 removed").await;
    assert_eq!(second.next_deadline("Approval", None), Some(at(120)));
    let summary = first.deadline_summary("Approval", at(200), 5);
    assert_eq!((summary.pending, summary.overdue), (1, 1));
}
