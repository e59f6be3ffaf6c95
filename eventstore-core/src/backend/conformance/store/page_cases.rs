//! Loads a page at a time: [`EventStore::load_page`] and the first page of
//! [`EventStore::load_stream`] read what they are asked for, in version
//! order, and a [`Repository`] folds a stream longer than its page size
//! whole, in order, never holding more than a page, with the same errors
//! as in one read.

use crate::backend::conformance::account::Account;
use crate::backend::conformance::eventually::snapshot_when;
use crate::backend::conformance::faulty::Faulty;
use crate::backend::{AppendRequest, NewEvent, StreamEvent};
use crate::{Error, EventStore, Options, Outcome, Repository};
use serde_json::json;

use super::fixtures::{append_ok, body, deposited, load, opened};

/// Opens the account `id` and deposits 1, 2, ... up to version `events`;
/// its balance then.
async fn account_of<S: EventStore>(store: &S, id: &str, events: u64) -> u64 {
    let mut request = AppendRequest::new("Account", id.parse().unwrap(), 0).event(opened(100));
    request.events.extend((1..events).map(deposited));
    append_ok(store, request).await;
    100 + (1..events).sum::<u64>()
}

fn versions(events: &[StreamEvent]) -> Vec<u64> {
    events.iter().map(|e| e.version).collect()
}

/// A page is the first `limit` events after a version, in version order,
/// the same events as a whole load reads; a short page ends the stream.
pub async fn pages_are_read_in_version_order<S: EventStore>(store: S) {
    account_of(&store, "a-1", 10).await;
    let page = |after, limit| {
        let store = store.clone();
        async move {
            store
                .load_page("Account", "a-1", after, limit)
                .await
                .expect("load_page")
        }
    };
    assert_eq!(versions(&page(0, 4).await), [1, 2, 3, 4]);
    assert_eq!(versions(&page(4, 4).await), [5, 6, 7, 8]);
    assert_eq!(
        versions(&page(8, 4).await),
        [9, 10],
        "the last page is short"
    );
    assert!(page(10, 4).await.is_empty());
    assert!(page(0, 0).await.is_empty(), "a limit of 0 reads nothing");
    assert!(
        store
            .load_page("Account", "nobody", 0, 4)
            .await
            .expect("load_page")
            .is_empty()
    );
    let whole = load(&store, "Account", "a-1", 0).await;
    let paged = page(0, usize::MAX).await;
    assert_eq!(
        paged,
        whole.iter().map(StreamEvent::from).collect::<Vec<_>>(),
        "a page holds the events that a whole load reads"
    );

    let first = store
        .load_stream("Account", "a-1", None, 3)
        .await
        .expect("load_stream");
    assert_eq!(
        versions(&first.events),
        [1, 2, 3],
        "load_stream's first page"
    );
}

/// A stream longer than the page size loads whole and in order, through
/// `load` and through `execute`, from the beginning and after a snapshot,
/// while no read returns more than a page.
pub async fn a_stream_longer_than_a_page_loads_whole<S: EventStore>(store: S) {
    let balance = account_of(&store, "a-1", 10).await;
    let faulty = Faulty::new(store.clone());
    let paged = Repository::new(faulty.clone()).page_size(3);
    let loaded = paged.load::<Account>("a-1").await.expect("load");
    assert_eq!((loaded.version, loaded.state.balance), (10, balance));
    assert_eq!(
        faulty.most_events_read(),
        3,
        "every read returned a page of at most 3 events"
    );
    let whole = Repository::new(store.clone()).page_size(usize::MAX);
    let at_once = whole.load::<Account>("a-1").await.expect("load at once");
    assert_eq!((at_once.version, at_once.state.balance), (10, balance));

    // a page of exactly the page size, then an empty one
    let exact = Repository::new(store.clone()).page_size(5);
    assert_eq!(
        exact.load::<Account>("a-1").await.expect("load").version,
        10
    );

    // a command's load folds every page before it decides
    let deposit = |a: &Account| a.deposit(1, "t-paged");
    let outcome = paged
        .execute("a-1", Options::default(), deposit)
        .await
        .expect("execute");
    assert!(
        matches!(outcome, Outcome::Done(ref c) if c.version == 11),
        "appended after the last page: {outcome:?}"
    );

    // after a snapshot (at version 12), the pages that follow it
    let snapshotting = Repository::new(store.clone()).snapshot_every(12);
    for n in 0..6 {
        let deposit = |a: &Account| a.deposit(1, "t-more");
        let outcome = snapshotting
            .execute("a-1", Options::default(), deposit)
            .await
            .unwrap_or_else(|e| panic!("deposit {n}: {e}"));
        assert!(
            matches!(outcome, Outcome::Done(_)),
            "deposit {n}: {outcome:?}"
        );
    }
    snapshot_when(&store, "Account", "a-1", |s| s.version == 12).await;
    let from_snapshot = paged.load::<Account>("a-1").await.expect("load");
    assert_eq!(
        (from_snapshot.version, from_snapshot.state.balance),
        (17, balance + 7)
    );
    assert!(faulty.most_events_read() <= 3, "still a page at most");
}

/// An unknown kind or an undecodable body in a later page fails the load,
/// naming its own version, as in one read.
pub async fn decode_errors_in_a_later_page_name_their_row<S: EventStore>(store: S) {
    for (id, bad) in [
        (
            "a-kind",
            NewEvent {
                kind: "Teleported".into(),
                schema_version: 1,
                body: body(&json!({})),
            },
        ),
        (
            "a-body",
            NewEvent {
                kind: "MoneyDeposited".into(),
                schema_version: 1,
                body: body(&json!({ "amount": "lots" })),
            },
        ),
    ] {
        account_of(&store, id, 5).await;
        let request = AppendRequest::new("Account", id.parse().unwrap(), 5)
            .event(bad)
            .event(deposited(7));
        append_ok(&store, request).await;
        let paged = Repository::new(store.clone()).page_size(2);
        match paged.load::<Account>(id).await {
            Err(Error::UnknownEventKind { version, kind, .. }) => {
                assert_eq!((id, version, kind.as_str()), ("a-kind", 6, "Teleported"));
            }
            Err(Error::UndecodableBody {
                aggregate_id,
                version,
                ..
            }) => {
                assert_eq!((id, aggregate_id.as_str(), version), ("a-body", id, 6));
            }
            other => panic!("{id}: expected a decode error at version 6, got {other:?}"),
        }
    }
}
