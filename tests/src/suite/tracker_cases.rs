//! The `Tracker` contract, as far as one writer can show it (the gap tests
//! with concurrent writers are the backends' own).

use eventstore_core::{AppendRequest, Checkpoint, EventFilter, EventStore, RecordedEvent, Tracker};

use super::fixtures::{append_ok, deposited, opened};

/// Reads after a checkpoint, in commit order, filtered, at most `limit`.
pub async fn tracker_reads_in_order_with_filters_and_limits<S: EventStore + Tracker>(store: S) {
    assert_eq!(store.head().await.expect("head"), Checkpoint::BEGINNING);
    let mut written: Vec<RecordedEvent> = Vec::new();
    written.extend(
        append_ok(
            &store,
            AppendRequest::new("Account", "a-1", 0)
                .event(opened(1))
                .event(deposited(1)),
        )
        .await,
    );
    written.extend(
        append_ok(
            &store,
            AppendRequest::new("Transfer", "t-1", 0).event(opened(2)),
        )
        .await,
    );
    written.extend(
        append_ok(
            &store,
            AppendRequest::new("Account", "a-2", 0).event(opened(3)),
        )
        .await,
    );
    written.extend(
        append_ok(
            &store,
            AppendRequest::new("Account", "a-1", 2).event(deposited(4)),
        )
        .await,
    );

    let all = store
        .read_after(Checkpoint::BEGINNING, &EventFilter::all(), 100)
        .await
        .expect("read");
    assert_eq!(all, written, "everything, in commit order");
    assert_eq!(store.head().await.expect("head"), written[4].checkpoint());

    let accounts = store
        .read_after(
            Checkpoint::BEGINNING,
            &EventFilter::all().aggregate_kind("Account"),
            100,
        )
        .await
        .expect("read");
    assert_eq!(
        accounts.iter().map(|e| e.position).collect::<Vec<_>>(),
        [
            written[0].position,
            written[1].position,
            written[3].position,
            written[4].position
        ]
    );

    let deposits = EventFilter::all()
        .aggregate_kind("Account")
        .event_kind("MoneyDeposited");
    let read = store
        .read_after(Checkpoint::BEGINNING, &deposits, 100)
        .await
        .expect("read");
    assert_eq!(read, [written[1].clone(), written[4].clone()]);

    // paging with a limit and the last checkpoint reads everything once
    let mut paged: Vec<RecordedEvent> = Vec::new();
    let mut after = Checkpoint::BEGINNING;
    for _ in 0..10 {
        let page = store
            .read_after(after, &EventFilter::all(), 2)
            .await
            .expect("read");
        assert!(page.len() <= 2, "limit respected");
        let Some(last) = page.last() else { break };
        after = last.checkpoint();
        paged.extend(page);
    }
    assert_eq!(paged, written);
    assert!(
        store
            .read_after(after, &EventFilter::all(), 10)
            .await
            .expect("read")
            .is_empty()
    );
}
