//! The `Tracker` contract, as far as one writer can show it (the gap tests
//! with concurrent writers are the backends' own).
//!
//! A durable store may hold reading back for a moment while another
//! session's transaction is open, so the reads here wait (a bounded time)
//! for what they expect instead of asserting on the first answer.

use std::time::{Duration, Instant};

use crate::backend::AppendRequest;
use crate::backend::stream_hash;
use crate::reactor::partition_of;
use crate::{Checkpoint, EventFilter, EventStore, RecordedEvent, Tracker};

use super::fixtures::{append_ok, deposited, opened};

/// How long a read may be held back by transactions of other tests.
const HOLD_BACK_LIMIT: Duration = Duration::from_secs(10);

/// Reads pages of `page` events after `after` until `want` events have come
/// (or the hold-back limit passes), checking each page's size.
async fn read_until<S: Tracker>(
    store: &S,
    mut after: Checkpoint,
    filter: &EventFilter,
    page: usize,
    want: usize,
) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + HOLD_BACK_LIMIT;
    let mut read: Vec<RecordedEvent> = Vec::new();
    while read.len() < want && Instant::now() < deadline {
        let events = store
            .read_after(after, filter, page)
            .await
            .expect("read_after");
        assert!(
            events.len() <= page,
            "limit {page} exceeded: {}",
            events.len()
        );
        match events.last() {
            Some(last) => after = last.checkpoint(),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
        read.extend(events);
    }
    read
}

/// Reads after a checkpoint, in commit order, filtered, at most `limit`.
pub async fn tracker_reads_in_order_with_filters_and_limits<S: EventStore + Tracker>(store: S) {
    assert_eq!(store.head().await.expect("head"), Checkpoint::BEGINNING);
    let mut written: Vec<RecordedEvent> = Vec::new();
    for request in [
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .event(opened(1))
            .event(deposited(1)),
        AppendRequest::new("Transfer", "t-1".parse().unwrap(), 0).event(opened(2)),
        AppendRequest::new("Account", "a-2".parse().unwrap(), 0).event(opened(3)),
        AppendRequest::new("Account", "a-1".parse().unwrap(), 2).event(deposited(4)),
    ] {
        written.extend(append_ok(&store, request).await);
    }
    let all = EventFilter::all();

    let everything = read_until(&store, Checkpoint::BEGINNING, &all, 100, written.len()).await;
    assert_eq!(everything, written, "everything, in commit order");
    // a limit above what any store holds means every event, in every store
    let unbounded = read_until(
        &store,
        Checkpoint::BEGINNING,
        &all,
        usize::MAX,
        written.len(),
    )
    .await;
    assert_eq!(unbounded, written, "a limit of usize::MAX reads everything");
    assert_eq!(store.head().await.expect("head"), written[4].checkpoint());

    let accounts = EventFilter::all().aggregate_kind("Account");
    let read = read_until(&store, Checkpoint::BEGINNING, &accounts, 100, 4).await;
    let expected: Vec<RecordedEvent> = [0, 1, 3, 4].iter().map(|&i| written[i].clone()).collect();
    assert_eq!(read, expected, "only Account events");

    let deposits = EventFilter::all()
        .aggregate_kind("Account")
        .event_kind("MoneyDeposited");
    let read = read_until(&store, Checkpoint::BEGINNING, &deposits, 100, 2).await;
    assert_eq!(
        read,
        [written[1].clone(), written[4].clone()],
        "only Account deposits"
    );

    // replaying up to a checkpoint stops there
    let until = EventFilter::all().until(written[2].checkpoint());
    let read = read_until(&store, Checkpoint::BEGINNING, &until, 100, 3).await;
    assert_eq!(read, written[..3], "nothing after the until checkpoint");
    let read = store
        .read_after(written[2].checkpoint(), &until, 100)
        .await
        .expect("read");
    assert!(
        read.is_empty(),
        "a replay that reached its end reads nothing more: {read:?}"
    );

    // paging with a limit and the last checkpoint reads everything once
    let paged = read_until(&store, Checkpoint::BEGINNING, &all, 2, written.len()).await;
    assert_eq!(paged, written);
    let after_last = written[4].checkpoint();
    assert!(
        store
            .read_after(after_last, &all, 10)
            .await
            .expect("read")
            .is_empty()
    );

    // a filter that passes nothing in the next several pages still finds
    // the event after them (a store that reads a page and then filters it
    // must read on)
    let mut others = AppendRequest::new("Transfer", "t-2".parse().unwrap(), 0);
    for i in 0..7 {
        others = others.event(opened(10 + i));
    }
    append_ok(&store, others).await;
    let rare = append_ok(
        &store,
        AppendRequest::new("Account", "a-2".parse().unwrap(), 1).event(deposited(5)),
    )
    .await;
    let read = read_until(&store, after_last, &deposits, 2, 1).await;
    assert_eq!(
        read, rare,
        "the deposit after 7 other events, read 2 at a time"
    );
}

/// A partition's reads return exactly the events of its aggregates, in
/// commit order, for partition counts that do not divide 2^64 (3, 7) and
/// one that does (4), over hashes of both signs as a bigint; and a page
/// says where it ended, past the events that did not pass, and whether it
/// stopped at its limit.
pub async fn tracker_reads_one_partition_and_says_where_it_ended<S: EventStore + Tracker>(
    store: S,
) {
    let mut written: Vec<RecordedEvent> = Vec::new();
    for i in 0..40 {
        let request =
            AppendRequest::new("Account", format!("acc-{i}").parse().unwrap(), 0).event(opened(i));
        written.extend(append_ok(&store, request).await);
    }
    let negative = |e: &RecordedEvent| stream_hash(&e.aggregate_id) > i64::MAX as u64;
    assert!(
        written.iter().any(negative) && !written.iter().all(negative),
        "the ids cover hashes of both signs"
    );
    let all = EventFilter::all();
    let everything = read_until(&store, Checkpoint::BEGINNING, &all, 100, written.len()).await;
    assert_eq!(everything, written);

    for count in [3, 4, 7] {
        let mut seen = Vec::new();
        for index in 0..count {
            let expected: Vec<RecordedEvent> = written
                .iter()
                .filter(|e| partition_of(&e.aggregate_id, count) == index)
                .cloned()
                .collect();
            let filter = EventFilter::all().partition(index, count);
            let read =
                read_until(&store, Checkpoint::BEGINNING, &filter, 100, expected.len()).await;
            assert_eq!(read, expected, "partition {index} of {count}");
            let page = store
                .read_page(Checkpoint::BEGINNING, &filter, 100)
                .await
                .expect("read_page");
            assert_eq!(
                page.events, expected,
                "partition {index} of {count}, one page"
            );
            assert_eq!(
                page.end,
                written[39].checkpoint(),
                "partition {index} of {count}: the page ends at the last event looked at"
            );
            seen.extend(read);
        }
        seen.sort_by_key(RecordedEvent::checkpoint);
        assert_eq!(
            seen, written,
            "the {count} partitions together read everything once"
        );
    }

    let nothing = EventFilter::all().aggregate_kind("Nothing");
    let page = store
        .read_page(Checkpoint::BEGINNING, &nothing, 10)
        .await
        .expect("read_page");
    assert!(page.events.is_empty(), "{page:?}");
    assert_eq!(page.end, written[39].checkpoint(), "past all it looked at");
    assert!(!page.more, "it reached the last event");

    let page = store
        .read_page(written[33].checkpoint(), &all, 5)
        .await
        .expect("read_page");
    assert_eq!(page.events, written[34..39], "5 of the last 6");
    assert_eq!(page.end, written[38].checkpoint());
    assert!(page.more, "one more event follows");

    let page = store
        .read_page(written[39].checkpoint(), &all, 5)
        .await
        .expect("read_page");
    assert_eq!(
        (page.events.len(), page.end, page.more),
        (0, written[39].checkpoint(), false),
        "nothing after the last event"
    );
}
