//! The raw `EventStore` contract: append, load, keys, snapshots.

use std::collections::HashSet;

use crate::backend::conformance::account::Account;
use crate::backend::{AppendOutcome, AppendRequest, NewEvent, RecordedOutcome, Snapshot};
use crate::{
    Error, EventBody, EventStore, IdProblem, Metadata, Options, Repository, StreamAt, Tracker,
};
use serde_json::json;

use super::fixtures::{append_ok, body, deposited, load, opened, versions};

/// Versions count from 1 per stream, positions grow, ids are unique xids,
/// and kind, body and metadata come back as written.
pub async fn append_assigns_versions_positions_and_ids<S: EventStore>(store: S) {
    let metadata = Metadata::default()
        .correlation_id("c-1")
        .causation_id("cmd-1")
        .actor("ada")
        .with("k", "v");
    let first = append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .metadata(metadata.clone())
            .event(opened(5))
            .event(deposited(7)),
    )
    .await;
    let second = append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 2).event(deposited(9)),
    )
    .await;
    assert_eq!(versions(&first), [1, 2]);
    assert_eq!(versions(&second), [3]);

    let loaded = load(&store, "Account", "a-1", 0).await;
    assert_eq!(versions(&loaded), [1, 2, 3]);
    assert_eq!(loaded[..2], first[..], "load returns what append recorded");
    assert_eq!(loaded[0].kind, "Opened");
    assert_eq!(loaded[0].body, opened(5).body);
    assert_eq!(loaded[1].metadata, metadata);
    assert_eq!(loaded[2].metadata, Metadata::default());
    assert!(
        loaded.windows(2).all(|w| w[0].position < w[1].position),
        "positions grow: {loaded:?}"
    );
    assert_eq!(loaded[0].tx, loaded[1].tx, "one append is one transaction");
    assert!(loaded[1].checkpoint() < loaded[2].checkpoint());
    let ids: HashSet<String> = loaded.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids.len(), 3, "ids are unique");
    assert!(ids.iter().all(|id| id.len() == 20), "ids are xids: {ids:?}");
}

/// `load(after_version)` skips what the caller already has.
pub async fn load_returns_only_later_versions<S: EventStore>(store: S) {
    append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .event(opened(1))
            .event(deposited(2))
            .event(deposited(3)),
    )
    .await;
    assert_eq!(versions(&load(&store, "Account", "a-1", 2).await), [3]);
    assert!(load(&store, "Account", "a-1", 3).await.is_empty());
    assert!(load(&store, "Account", "nobody", 0).await.is_empty());
}

/// The same id under two kinds is two streams.
pub async fn streams_are_separate_by_kind_and_id<S: EventStore>(store: S) {
    append_ok(
        &store,
        AppendRequest::new("Account", "x".parse().unwrap(), 0).event(opened(1)),
    )
    .await;
    append_ok(
        &store,
        AppendRequest::new("Transfer", "x".parse().unwrap(), 0).event(opened(1)),
    )
    .await;
    append_ok(
        &store,
        AppendRequest::new("Account", "y".parse().unwrap(), 0).event(opened(1)),
    )
    .await;
    for (kind, id) in [("Account", "x"), ("Transfer", "x"), ("Account", "y")] {
        assert_eq!(
            versions(&load(&store, kind, id, 0).await),
            [1],
            "{kind}/{id}"
        );
    }
}

/// A writer with a stale version gets a typed conflict and writes nothing.
pub async fn stale_expected_version_is_a_conflict<S: EventStore>(store: S) {
    append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0).event(opened(1)),
    )
    .await;
    for stale in [0, 2] {
        match store
            .append(
                AppendRequest::new("Account", "a-1".parse().unwrap(), stale).event(deposited(5)),
            )
            .await
        {
            Err(Error::Conflict {
                aggregate_kind,
                aggregate_id,
                expected_version,
                ..
            }) => {
                assert_eq!(
                    (
                        aggregate_kind.as_str(),
                        aggregate_id.as_str(),
                        expected_version
                    ),
                    ("Account", "a-1", stale)
                );
            }
            other => panic!("expected a conflict at version {stale}, got {other:?}"),
        }
    }
    assert_eq!(versions(&load(&store, "Account", "a-1", 0).await), [1]);
}

/// A key is used once per stream; another stream may use the same key.
pub async fn idempotency_key_writes_once_per_stream<S: EventStore>(store: S) {
    let request = |id: &str, version| {
        AppendRequest::new("Account", id.parse().unwrap(), version)
            .idempotency_key("t-1/withdraw")
            .event(deposited(1))
    };
    append_ok(&store, request("a-1", 0)).await;
    assert_eq!(
        store
            .idempotency_key_outcome("Account", "a-1", "t-1/withdraw")
            .await
            .expect("key"),
        Some(RecordedOutcome::Applied)
    );
    assert!(
        store
            .idempotency_key_outcome("Account", "a-1", "t-2/withdraw")
            .await
            .expect("key")
            .is_none()
    );
    assert!(
        store
            .idempotency_key_outcome("Account", "a-2", "t-1/withdraw")
            .await
            .expect("key")
            .is_none()
    );
    // the key wins over the version: a redelivered command with a stale or
    // a current version is AlreadyApplied, never a conflict or a second write
    for version in [0, 1] {
        let outcome = store.append(request("a-1", version)).await.expect("append");
        assert_eq!(
            outcome,
            AppendOutcome::AlreadyApplied,
            "at version {version}"
        );
    }
    assert_eq!(load(&store, "Account", "a-1", 0).await.len(), 1);
    append_ok(&store, request("a-2", 0)).await;
}

/// Eight appends with one key, racing at different versions: one write.
pub async fn racing_idempotency_keys_write_once<S: EventStore>(store: S) {
    append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0).event(opened(0)),
    )
    .await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let request = AppendRequest::new("Account", "a-1".parse().unwrap(), 1)
                    .idempotency_key("same")
                    .event(deposited(1));
                store.append(request).await
            })
        })
        .collect();
    let mut committed = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(AppendOutcome::Committed(_)) => committed += 1,
            Ok(AppendOutcome::AlreadyApplied) | Err(Error::Conflict { .. }) => {}
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    assert_eq!(versions(&load(&store, "Account", "a-1", 0).await), [1, 2]);
}

/// An append of nothing is a no-op, even with a key.
pub async fn empty_append_writes_nothing<S: EventStore + Tracker>(store: S) {
    let outcome = store
        .append(AppendRequest::new("Account", "a-1".parse().unwrap(), 0).idempotency_key("k"))
        .await
        .expect("append");
    assert_eq!(outcome, AppendOutcome::Committed(Vec::new()));
    assert!(load(&store, "Account", "a-1", 0).await.is_empty());
    assert!(
        store
            .idempotency_key_outcome("Account", "a-1", "k")
            .await
            .expect("key")
            .is_none()
    );
}

/// Empty, too long, and control-character ids are refused, naming the id,
/// before anything is read or written: the repository parses them into an
/// `AggregateId`, and a store takes nothing else.
pub async fn invalid_ids_are_refused_before_writing<S: EventStore + Tracker>(store: S) {
    let repo = Repository::new(store.clone());
    let long = "x".repeat(256);
    for (id, expected) in [
        ("", IdProblem::Empty),
        (long.as_str(), IdProblem::TooLong { bytes: 256 }),
        ("a\nb", IdProblem::ControlCharacter { at: 1 }),
        ("nul\0", IdProblem::ControlCharacter { at: 3 }),
    ] {
        let open = |a: &Account| a.open("Ada", 1);
        match repo.execute(id, Options::default(), open).await {
            Err(Error::InvalidId { id: shown, problem }) => {
                assert_eq!(problem, expected, "{id:?}");
                assert_eq!(shown, id, "the error names the id");
            }
            other => panic!("expected InvalidId for {id:?}, got {other:?}"),
        }
    }
    assert_eq!(
        store.head().await.expect("head"),
        crate::Checkpoint::BEGINNING,
        "nothing written"
    );
}

/// Quotes, semicolons and SQL in ids and bodies are data.
pub async fn ids_with_sql_are_stored_verbatim<S: EventStore>(store: S) {
    for id in [
        "o'brien",
        "a;b",
        "'; DROP TABLE events; --",
        "\"quoted\"",
        "ünï✓",
    ] {
        let body = body(&json!({ "owner": id, "initial_balance": 1 }));
        append_ok(
            &store,
            AppendRequest::new("Account", id.parse().unwrap(), 0).event(NewEvent {
                kind: "Opened".into(),
                schema_version: 1,
                body: body.clone(),
            }),
        )
        .await;
        let loaded = load(&store, "Account", id, 0).await;
        assert_eq!((loaded.len(), loaded[0].aggregate_id.as_str()), (1, id));
        assert_eq!(loaded[0].body, body);
    }
}

/// When one event of an append is bad, none is written.
pub async fn a_bad_event_leaves_the_whole_append_unwritten<S: EventStore + Tracker>(store: S) {
    for bad in [
        // (a body that is not a JSON object cannot be made: EventBody)
        NewEvent {
            kind: String::new(),
            schema_version: 1,
            body: EventBody::empty(),
        },
    ] {
        let request = AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .event(opened(1))
            .event(bad.clone());
        match store.append(request).await {
            Err(Error::Encode { kind, .. }) => assert_eq!(kind, bad.kind),
            other => panic!("expected an encode error for {bad:?}, got {other:?}"),
        }
    }
    assert!(load(&store, "Account", "a-1", 0).await.is_empty());
    assert_eq!(
        store.head().await.expect("head"),
        crate::Checkpoint::BEGINNING
    );
}

/// The latest snapshot wins, whatever order they are saved in.
pub async fn snapshots_keep_the_latest<S: EventStore>(store: S) {
    let snapshot = |version| Snapshot {
        aggregate_kind: "Account".into(),
        aggregate_id: "a-1".parse().unwrap(),
        version,
        forgets: 0,
        schema_version: 1,
        state: json!({ "balance": version }).into(),
    };
    assert_eq!(
        store.load_snapshot("Account", "a-1").await.expect("load"),
        None
    );
    store.save_snapshot(snapshot(5)).await.expect("save");
    store.save_snapshot(snapshot(3)).await.expect("save");
    assert_eq!(
        store.load_snapshot("Account", "a-1").await.expect("load"),
        Some(snapshot(5))
    );
    store.save_snapshot(snapshot(7)).await.expect("save");
    assert_eq!(
        store.load_snapshot("Account", "a-1").await.expect("load"),
        Some(snapshot(7))
    );
    assert_eq!(
        store.load_snapshot("Transfer", "a-1").await.expect("load"),
        None
    );
}

/// `unless_moved` appends only while the other stream has no event after
/// the version it names; otherwise a typed error and nothing written. A
/// used key still answers first.
pub async fn unless_moved_appends_only_while_the_other_stream_has_not_moved<S: EventStore>(
    store: S,
) {
    append_ok(
        &store,
        AppendRequest::new("Transfer", "t-1".parse().unwrap(), 0).event(opened(1)),
    )
    .await;
    let at_1 = || StreamAt::of_kind("Transfer", "t-1".parse().unwrap(), 1);
    let written = append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .idempotency_key("t-1/withdraw")
            .unless_moved(at_1())
            .event(opened(5)),
    )
    .await;
    assert_eq!(written.len(), 1, "the transfer has not moved: written");

    append_ok(
        &store,
        AppendRequest::new("Transfer", "t-1".parse().unwrap(), 1).event(deposited(1)),
    )
    .await;
    for events in [vec![deposited(2)], vec![deposited(3), deposited(4)]] {
        let mut request =
            AppendRequest::new("Account", "a-1".parse().unwrap(), 1).unless_moved(at_1());
        request.events = events;
        let refused = store.append(request).await;
        match refused {
            Err(Error::StreamMoved {
                aggregate_kind,
                aggregate_id,
                version,
            }) => assert_eq!(
                (aggregate_kind.as_str(), aggregate_id.as_str(), version),
                ("Transfer", "t-1", 1)
            ),
            other => panic!("the transfer moved on: {other:?}"),
        }
    }
    assert_eq!(
        load(&store, "Account", "a-1", 0).await.len(),
        1,
        "nothing written"
    );

    let again = store
        .append(
            AppendRequest::new("Account", "a-1".parse().unwrap(), 1)
                .idempotency_key("t-1/withdraw")
                .unless_moved(at_1())
                .event(deposited(9)),
        )
        .await;
    assert!(
        matches!(again, Ok(AppendOutcome::AlreadyApplied)),
        "a used key answers first: {again:?}"
    );
    for (expected, guard) in [
        (1, StreamAt::of_kind("Transfer", "t-1".parse().unwrap(), 2)),
        (
            2,
            StreamAt::of_kind("Transfer", "nobody".parse().unwrap(), 0),
        ),
    ] {
        let request = AppendRequest::new("Account", "a-1".parse().unwrap(), expected)
            .unless_moved(guard.clone())
            .event(deposited(1));
        let done = store.append(request).await;
        assert!(
            matches!(done, Ok(AppendOutcome::Committed(_))),
            "{guard:?} has not moved: {done:?}"
        );
    }
}

/// Every combination of an append's checks (an expected version above 0
/// or not, an idempotency key or not, an `unless_moved` guard or not), with
/// one event and with several: each commits when nothing stands in its
/// way, and otherwise gets its typed outcome and writes nothing: a stale
/// or ahead expected version (0 on a stream that exists included) is a
/// conflict, a used key is `AlreadyApplied` whatever the version, a moved
/// guard is `StreamMoved`, and a used key answers before a moved guard,
/// which answers before a stale version.
pub async fn every_combination_of_checks_commits_or_refuses_as_typed<S: EventStore>(store: S) {
    let guard_stream = || "g".parse().unwrap();
    append_ok(
        &store,
        AppendRequest::new("Transfer", guard_stream(), 0).event(opened(1)),
    )
    .await;
    let not_moved = || StreamAt::of_kind("Transfer", guard_stream(), 1);
    let moved = || StreamAt::of_kind("Transfer", guard_stream(), 0);
    for form in 0..16_u8 {
        let (at_version, keyed, guarded, several) =
            (form & 1 != 0, form & 2 != 0, form & 4 != 0, form & 8 != 0);
        let what = format!(
            "expected version {}, {}, {}, {} event(s)",
            if at_version { "1" } else { "0" },
            if keyed { "a key" } else { "no key" },
            if guarded { "a guard" } else { "no guard" },
            if several { 2 } else { 1 },
        );
        let id = format!("form-{form}");
        let start = u64::from(at_version);
        if at_version {
            append_ok(
                &store,
                AppendRequest::new("Account", id.parse().unwrap(), 0).event(opened(1)),
            )
            .await;
        }
        let count = if several { 2 } else { 1 };
        let request = |expected: u64, key: &str, guard: Option<StreamAt>| {
            let mut request = AppendRequest::new("Account", id.parse().unwrap(), expected);
            if keyed {
                request = request.idempotency_key(key);
            }
            if guarded {
                request = request.unless_moved(guard.expect("a guard"));
            }
            for n in 0..count {
                request = request.event(deposited(n + 1));
            }
            request
        };
        let written = append_ok(&store, request(start, "k-1", Some(not_moved()))).await;
        let after = start + count;
        assert_eq!(
            versions(&written),
            (start + 1..=after).collect::<Vec<_>>(),
            "{what}"
        );

        // stale (the version taken, 0 on a stream that exists) and ahead
        for expected in [start, after - 1, after + 1] {
            let refused = store
                .append(request(expected, "k-2", Some(not_moved())))
                .await;
            assert!(
                matches!(
                    &refused,
                    Err(Error::Conflict { expected_version, .. }) if *expected_version == expected
                ),
                "{what}, then at {expected}: {refused:?}"
            );
        }
        if keyed {
            for expected in [0, start, after] {
                let again = store.append(request(expected, "k-1", Some(moved()))).await;
                assert!(
                    matches!(again, Ok(AppendOutcome::AlreadyApplied)),
                    "{what}, its key again at {expected}: {again:?}"
                );
            }
        }
        if guarded {
            for expected in [after, start] {
                let refused = store.append(request(expected, "k-3", Some(moved()))).await;
                assert!(
                    matches!(&refused, Err(Error::StreamMoved { version: 0, .. })),
                    "{what}, the guard moved, at {expected}: {refused:?}"
                );
            }
        }
        let stored = load(&store, "Account", &id, 0).await;
        assert_eq!(
            versions(&stored),
            (1..=after).collect::<Vec<_>>(),
            "{what}: only the first append wrote"
        );
        let unused = ["k-2", "k-3"];
        for key in unused {
            assert!(
                store
                    .idempotency_key_outcome("Account", &id, key)
                    .await
                    .expect("key")
                    .is_none(),
                "{what}: a refused append left its key {key}"
            );
        }
        let next = append_ok(&store, request(after, "k-4", Some(not_moved()))).await;
        assert_eq!(next[0].version, after + 1, "{what}: the stream goes on");
    }
}
