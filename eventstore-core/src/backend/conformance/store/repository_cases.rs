//! `Repository` over the store: decide, retry, idempotency, snapshots.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::EventBody;
use crate::backend::conformance::account::{
    Account, AccountError, AccountEvent, Closed, Frozen, MoneyDeposited, MoneyRefunded,
    MoneyWithdrawn, Opened, OwnerUpdated,
};
use crate::backend::{AppendRequest, NewEvent, Snapshot};
use crate::{Error, Event, EventStore, Options, Outcome, Repository};
use serde_json::json;

use super::fixtures::{append_ok, body, load, open, opened};
use crate::backend::conformance::eventually::snapshot_when;
use crate::backend::conformance::faulty::Faulty;

/// Every kind of the Account family is stored and decoded back equal.
pub async fn every_account_event_kind_round_trips<S: EventStore>(store: S) {
    let events: Vec<AccountEvent> = vec![
        Opened {
            owner: Some("Ada \"the\" O'Neil".into()),
            initial_balance: u64::MAX - 10,
        }
        .into(),
        MoneyDeposited {
            amount: 1,
            transaction: "t-1".into(),
        }
        .into(),
        MoneyWithdrawn {
            amount: 2,
            transaction: "t-2".into(),
        }
        .into(),
        MoneyRefunded {
            amount: 3,
            transaction: "t-3".into(),
        }
        .into(),
        Frozen {
            reason: "🧊".into(),
        }
        .into(),
        Closed {}.into(),
        OwnerUpdated {
            owner: Some("Grace".into()),
        }
        .into(),
    ];
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, AccountEvent::KINDS, "the list covers every kind");
    let mut request = AppendRequest::new("Account", "a-1".parse().unwrap(), 0);
    request.events = events
        .iter()
        .map(|e| NewEvent::encode(e).expect("encode"))
        .collect();
    append_ok(&store, request).await;
    let decoded: Vec<AccountEvent> = load(&store, "Account", "a-1", 0)
        .await
        .iter()
        .map(|e| e.decode().expect("decode"))
        .collect();
    assert_eq!(decoded, events);
}

/// A stored kind that the code does not know fails the load, naming it.
pub async fn unknown_kind_is_a_typed_error_naming_the_row<S: EventStore>(store: S) {
    append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .event(opened(1))
            .event(NewEvent {
                kind: "Teleported".into(),
                schema_version: 1,
                body: EventBody::empty(),
            }),
    )
    .await;
    match Repository::new(store).load::<Account>("a-1").await {
        Err(e @ Error::UnknownEventKind { .. }) => {
            let Error::UnknownEventKind {
                aggregate_kind,
                aggregate_id,
                version,
                kind,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(
                (
                    aggregate_kind.as_str(),
                    aggregate_id.as_str(),
                    *version,
                    kind.as_str()
                ),
                ("Account", "a-1", 2, "Teleported")
            );
            assert_eq!(
                e.to_string(),
                "unknown event kind \"Teleported\" in Account \"a-1\" at version 2"
            );
        }
        other => panic!("expected UnknownEventKind, got {other:?}"),
    }
}

/// A body that does not fit its payload type fails the load, naming it.
pub async fn undecodable_body_is_a_typed_error_naming_the_row<S: EventStore>(store: S) {
    let bad = NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: body(&json!({ "amount": "lots" })),
    };
    append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
            .event(opened(1))
            .event(bad),
    )
    .await;
    match Repository::new(store).load::<Account>("a-1").await {
        Err(Error::UndecodableBody {
            aggregate_kind,
            aggregate_id,
            version,
            kind,
            source,
        }) => {
            assert_eq!(
                (
                    aggregate_kind.as_str(),
                    aggregate_id.as_str(),
                    version,
                    kind.as_str()
                ),
                ("Account", "a-1", 2, "MoneyDeposited")
            );
            assert!(source.to_string().contains("invalid type"), "{source}");
        }
        other => panic!("expected UndecodableBody, got {other:?}"),
    }
}

/// A lost race is retried with the newer events, and decided again.
pub async fn repository_retries_a_forced_conflict<S: EventStore>(store: S) {
    let plain = Repository::new(store.clone());
    open(&plain, "a-1", 100).await;
    let repo = Repository::new(Faulty::new(store).rivals(1));
    let decided = AtomicU32::new(0);
    let outcome = repo
        .execute("a-1", Options::default(), |a: &Account| {
            decided.fetch_add(1, Ordering::SeqCst);
            a.withdraw(10, "t-1")
        })
        .await
        .expect("execute");
    assert!(
        matches!(outcome, Outcome::Done(ref c) if (c.version, c.attempts) == (3, 2)),
        "committed at the second attempt: {outcome:?}"
    );
    assert_eq!(
        decided.load(Ordering::SeqCst),
        2,
        "decided once, lost the race, decided again"
    );
    let loaded = plain.load::<Account>("a-1").await.expect("load");
    assert_eq!(
        (loaded.state.balance, loaded.version),
        (80, 3),
        "the rival's withdrawal and ours"
    );
}

/// After `max_attempts` lost races, a typed conflict says how many.
pub async fn repository_gives_up_after_max_attempts<S: EventStore>(store: S) {
    open(&Repository::new(store.clone()), "a-1", 100).await;
    let repo = Repository::new(Faulty::new(store).rivals(u32::MAX)).max_attempts(3);
    let decided = AtomicU32::new(0);
    let result = repo
        .execute("a-1", Options::default(), |a: &Account| {
            decided.fetch_add(1, Ordering::SeqCst);
            a.withdraw(1, "t-1")
        })
        .await;
    match result {
        Err(Error::Conflict {
            aggregate_kind,
            aggregate_id,
            attempts,
            ..
        }) => {
            assert_eq!(
                (aggregate_kind.as_str(), aggregate_id.as_str(), attempts),
                ("Account", "a-1", 3)
            );
        }
        other => panic!("expected a conflict after 3 attempts, got {other:?}"),
    }
    assert_eq!(decided.load(Ordering::SeqCst), 3);
}

/// The second execute with a key is AlreadyApplied, without deciding, even
/// when the decision would now be rejected.
pub async fn idempotent_second_execute_is_already_applied<S: EventStore>(store: S) {
    let repo = Repository::new(store);
    open(&repo, "a-1", 100).await;
    let first = repo
        .execute("a-1", Options::idempotent("t-1/withdraw"), |a: &Account| {
            a.withdraw(100, "t-1")
        })
        .await
        .expect("execute");
    assert!(matches!(first, Outcome::Done(_)), "{first:?}");
    let second = repo
        .execute(
            "a-1",
            Options::idempotent("t-1/withdraw"),
            |_: &Account| -> Result<Vec<AccountEvent>, AccountError> {
                panic!("a command whose key was used must not be decided again")
            },
        )
        .await
        .expect("execute");
    assert_eq!(second, Outcome::AlreadyApplied);
    let loaded = repo.load::<Account>("a-1").await.expect("load");
    assert_eq!((loaded.state.balance, loaded.version), (0, 2));
}

/// A rejection writes nothing and hands back the domain error (with a
/// key, the key records it: `key_cases`).
pub async fn rejected_command_writes_nothing<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "a-1", 10).await;
    let outcome = repo
        .execute("a-1", Options::default(), |a: &Account| {
            a.withdraw(11, "t-9")
        })
        .await
        .expect("execute");
    assert_eq!(
        outcome,
        Outcome::Rejected(AccountError::InsufficientFunds {
            balance: 10,
            requested: 11
        })
    );
    assert_eq!(load(&store, "Account", "a-1", 0).await.len(), 1);
}

/// Eight writers deposit into one account at once, each deposit naming the
/// balance its decision saw: every successful command is in the final
/// state, and every decision was made on the latest state (no lost update).
pub async fn concurrent_writers_lose_no_update<S: EventStore>(store: S) {
    concurrent_writers(store, 8, 25).await;
}

/// `writers` tasks each run `commands` deposits on one account at once;
/// see [`concurrent_writers_lose_no_update`].
///
/// # Panics
/// When an update is lost, doubled, or decided on stale state.
pub async fn concurrent_writers<S: EventStore>(store: S, writers: u64, commands: u64) {
    let repo = Arc::new(
        Repository::new(Faulty::new(store.clone()).pause_before_append()).max_attempts(1_000),
    );
    open(&repo, "a-1", 0).await;
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                let mut done = 0_u64;
                for _ in 0..commands {
                    let amount = 1 << w; // each writer's deposits are recognisable in the sum
                    let deposit = |a: &Account| a.deposit(amount, &a.balance.to_string());
                    match repo.execute("a-1", Options::default(), deposit).await {
                        Ok(Outcome::Done(_)) => done += 1,
                        Err(Error::Conflict { .. }) => {}
                        other => panic!("writer {w}: unexpected {other:?}"),
                    }
                }
                (w, done)
            })
        })
        .collect();
    let mut successes = 0;
    let mut expected_balance = 0;
    for task in tasks {
        let (w, done) = task.await.expect("writer task");
        successes += done;
        expected_balance += done << w;
    }
    let loaded = repo.load::<Account>("a-1").await.expect("load");
    assert_eq!(
        successes,
        writers * commands,
        "with 1000 attempts every command lands"
    );
    assert_eq!(
        loaded.version,
        1 + successes,
        "final version = open + successful commands"
    );
    assert_eq!(
        loaded.state.balance, expected_balance,
        "no lost or doubled deposit"
    );
    let mut balance = 0;
    for event in &load(&store, "Account", "a-1", 1).await[..] {
        let AccountEvent::MoneyDeposited(deposit) = event.decode().expect("decode") else {
            panic!("only deposits expected, got {event:?}");
        };
        assert_eq!(
            deposit.transaction,
            balance.to_string(),
            "version {} was decided on a stale balance",
            event.version
        );
        balance += deposit.amount;
    }
}

/// With `snapshot_every(10)`, 25 commands leave a snapshot at version 20,
/// and loading from it equals the full replay.
pub async fn snapshots_are_taken_every_n_versions_and_load_the_same_state<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone()).snapshot_every(10);
    open(&repo, "a-1", 0).await;
    for i in 1..25 {
        repo.execute("a-1", Options::default(), |a: &Account| a.deposit(i, "t"))
            .await
            .and_then(Outcome::into_result)
            .expect("deposit");
    }
    let snapshot = snapshot_when(&store, "Account", "a-1", |s| s.version == 20).await;
    assert_eq!(snapshot.schema_version, 1);
    let from_snapshot = repo.load::<Account>("a-1").await.expect("load");
    let full = Repository::new(Faulty::new(store).without_snapshots())
        .load::<Account>("a-1")
        .await
        .expect("replay");
    assert_eq!(from_snapshot, full);
    assert_eq!(
        (full.version, full.state.balance),
        (25, (1..25).sum::<u64>())
    );
}

/// A snapshot of another schema version, or one that does not decode, is
/// ignored and the state is rebuilt from the events.
pub async fn unreadable_snapshots_are_ignored<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "a-1", 40).await;
    repo.execute("a-1", Options::default(), |a: &Account| a.deposit(2, "t"))
        .await
        .and_then(Outcome::into_result)
        .expect("deposit");
    let replay = Repository::new(Faulty::new(store.clone()).without_snapshots());
    for (version, schema_version, state) in [
        (1, 1, json!({ "balance": "not a number" })),
        (
            2,
            99,
            json!({ "open": true, "balance": 1_000_000, "owner": "Mallory" }),
        ),
    ] {
        let snapshot = Snapshot {
            aggregate_kind: "Account".into(),
            aggregate_id: "a-1".parse().unwrap(),
            version,
            forgets: 0,
            schema_version,
            state: state.into(),
        };
        store.save_snapshot(snapshot).await.expect("save");
        let expected = replay.load::<Account>("a-1").await.expect("replay");
        assert_eq!(expected.state.balance, 42, "the real balance");
        assert_eq!(
            repo.load::<Account>("a-1").await.expect("load"),
            expected,
            "snapshot v{version} schema {schema_version}"
        );
        let outcome = repo
            .execute("a-1", Options::default(), |a: &Account| a.withdraw(42, "t"))
            .await
            .expect("execute");
        assert_eq!(
            outcome.rejection(),
            None,
            "the command sees the real balance of 42"
        );
        repo.execute("a-1", Options::default(), |a: &Account| a.deposit(42, "t"))
            .await
            .and_then(Outcome::into_result)
            .expect("deposit");
    }
}

/// `expect_new` creates without reading, and on an aggregate that exists
/// after all gives the outcome of a plain execute: refused, done on the
/// stored state, or already applied; racing creators open once.
pub async fn expect_new_skips_the_load_and_falls_back_when_not_new<S: EventStore>(store: S) {
    let faulty = Faulty::new(store);
    let repo = Repository::new(faulty.clone());
    let new = || Options::default().expect_new();
    let opened = repo
        .execute("a-1", new(), |a: &Account| a.open("Ada", 10))
        .await
        .expect("open");
    assert!(
        matches!(opened, Outcome::Done(ref c) if c.version == 1),
        "{opened:?}"
    );
    assert_eq!(
        faulty.reads(),
        0,
        "a new aggregate is created without a read"
    );

    let again = repo
        .execute("a-1", new(), |a: &Account| a.open("Ada", 10))
        .await
        .expect("open again");
    assert_eq!(again.rejection(), Some(AccountError::AlreadyOpen));
    let deposit = repo
        .execute("a-1", new(), |a: &Account| a.deposit(5, "t-1"))
        .await
        .expect("deposit");
    assert!(
        matches!(deposit, Outcome::Done(ref c) if c.version == 2),
        "refused on the default state (not open), done on the stored one: {deposit:?}"
    );

    let keyed = || Options::idempotent("open-a-2").expect_new();
    let first = repo
        .execute("a-2", keyed(), |a: &Account| a.open("Ada", 1))
        .await
        .expect("keyed open");
    assert!(matches!(first, Outcome::Done(_)), "{first:?}");
    let second = repo
        .execute("a-2", keyed(), |a: &Account| a.open("Ada", 1))
        .await
        .expect("keyed open again");
    assert_eq!(second, Outcome::AlreadyApplied);

    let racers = (0..8).map(|_| {
        let repo = repo.clone();
        tokio::spawn(async move {
            repo.execute("a-3", Options::default().expect_new(), |a: &Account| {
                a.open("Ada", 1)
            })
            .await
            .expect("racing open")
        })
    });
    let mut done = 0;
    for racer in racers {
        match racer.await.expect("racer") {
            Outcome::Done(_) => done += 1,
            Outcome::Rejected(AccountError::AlreadyOpen) => {}
            other => panic!("racing open: {other:?}"),
        }
    }
    assert_eq!(done, 1, "one creator wins, the others are refused");
    assert_eq!(load(&faulty, "Account", "a-3", 0).await.len(), 1);
}

/// `execute_from` decides on the state the caller holds and appends at its
/// version without a read; when the stream has moved on, or the held state
/// refuses, it reads and decides again as `execute` would; a key already
/// used returns what it recorded. The held state follows each command.
pub async fn execute_from_reads_only_when_the_held_state_moved<S: EventStore>(store: S) {
    let faulty = Faulty::new(store);
    let repo = Repository::new(faulty.clone());
    let opened = repo
        .execute("a-1", Options::default(), |a: &Account| a.open("Ada", 10))
        .await
        .expect("open");
    assert!(matches!(opened, Outcome::Done(_)), "{opened:?}");
    let mut held = repo.load::<Account>("a-1").await.expect("load");
    let reads = faulty.reads();
    let withdraw = |amount| move |a: &Account| a.withdraw(amount, "t-1");

    let spent = repo
        .execute_from("a-1", &mut held, Options::default(), withdraw(3))
        .await
        .expect("withdraw on the held state");
    assert!(
        matches!(spent, Outcome::Done(ref c) if c.version == 2),
        "{spent:?}"
    );
    assert_eq!(
        faulty.reads(),
        reads,
        "a current held state is not read again"
    );
    assert_eq!((held.state.balance, held.version), (7, 2), "held follows");
    assert_eq!(held, repo.load::<Account>("a-1").await.expect("load"));

    let stale = held.clone();
    let before = faulty.reads();
    let deposited = repo
        .execute("a-1", Options::default(), |a: &Account| a.deposit(5, "t-2"))
        .await
        .expect("another writer deposits");
    assert!(matches!(deposited, Outcome::Done(_)), "{deposited:?}");
    let one_load = faulty.reads() - before;
    let reads = faulty.reads();
    let spent = repo
        .execute_from("a-1", &mut held, Options::default(), withdraw(10))
        .await
        .expect("withdraw on a held state that refuses");
    assert!(
        matches!(spent, Outcome::Done(ref c) if c.version == 4),
        "refused on the held 7, done on the stored 12: {spent:?}"
    );
    assert_eq!(
        faulty.reads(),
        reads + one_load,
        "read once, as execute reads"
    );
    assert_eq!((held.state.balance, held.version), (2, 4));

    let mut moved = stale;
    let spent = repo
        .execute_from("a-1", &mut moved, Options::default(), withdraw(1))
        .await
        .expect("withdraw on a stale held state");
    assert!(
        matches!(spent, Outcome::Done(ref c) if c.version == 5 && c.attempts == 1),
        "the conflict of the stale state is not an attempt: {spent:?}"
    );
    assert_eq!((moved.state.balance, moved.version), (1, 5));

    let keyed = || Options::idempotent("pay-once");
    let first = repo
        .execute_from("a-1", &mut moved, keyed(), withdraw(1))
        .await
        .expect("keyed withdraw");
    assert!(matches!(first, Outcome::Done(_)), "{first:?}");
    let again = repo
        .execute_from("a-1", &mut held, keyed(), withdraw(1))
        .await
        .expect("keyed withdraw again, from a stale state");
    assert_eq!(again, Outcome::AlreadyApplied);
    let stored = repo.load::<Account>("a-1").await.expect("load");
    assert_eq!((stored.state.balance, stored.version), (0, 6), "taken once");
    assert!(
        held.version <= stored.version,
        "held is a state the stream had"
    );
}

/// `execute_from` leaves in `held` a state the stream had even when it
/// fails: a lost race whose newer events cannot all be folded (one is
/// undecodable, or a page read fails) leaves the held state at the last
/// version it folded, not folded past the version it says.
pub async fn execute_from_leaves_a_state_the_stream_had_when_it_fails<S: EventStore>(store: S) {
    let rival = |amount: u64| NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: body(&json!({ "amount": amount, "transaction": "t-rival" })),
    };
    let garbage = NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: body(&json!({ "amount": "lots" })),
    };
    let faulty = Faulty::new(store).rival_events(vec![rival(5), garbage]);
    let repo = Repository::new(faulty.clone());
    repo.execute("a-1", Options::default(), |a: &Account| a.open("Ada", 10))
        .await
        .and_then(Outcome::into_result)
        .expect("open");
    let mut held = repo.load::<Account>("a-1").await.expect("load");
    repo.execute("a-1", Options::default(), |a: &Account| a.deposit(5, "t-2"))
        .await
        .and_then(Outcome::into_result)
        .expect("another writer deposits");
    // refused on the held 10, accepted on the stored 15; then a rival
    // commits a deposit and an undecodable event first
    let _rivals = faulty.clone().rivals(1);
    let failed = repo
        .execute_from("a-1", &mut held, Options::default(), |a: &Account| {
            a.withdraw(12, "t-3")
        })
        .await;
    assert!(
        matches!(failed, Err(Error::UndecodableBody { version: 4, .. })),
        "{failed:?}"
    );
    let had = (held.state.balance, held.version);
    assert!(
        matches!(had, (10, 1) | (15, 2) | (20, 3)),
        "the stream never had balance {} at version {}",
        had.0,
        had.1
    );
}

/// A key whose refusal was recorded at the version the caller holds wrote
/// no event: the held state is current, so `execute_from` appends without
/// a read and only the append can meet the key. It must return the
/// recorded refusal and write nothing, however the held state decides now.
pub async fn execute_from_meets_a_refusal_recorded_at_the_held_version<S: EventStore>(store: S) {
    let faulty = Faulty::new(store);
    let repo = Repository::new(faulty.clone());
    repo.execute("a-1", Options::default(), |a: &Account| a.open("Ada", 10))
        .await
        .and_then(Outcome::into_result)
        .expect("open");
    let keyed = || Options::idempotent("pay-once");
    let refused = repo
        .execute("a-1", keyed(), |a: &Account| a.withdraw(50, "t-1"))
        .await
        .expect("refused withdraw");
    assert!(matches!(refused, Outcome::Rejected(_)), "{refused:?}");
    let mut held = repo.load::<Account>("a-1").await.expect("load");
    assert_eq!(held.version, 1, "a refusal writes no event");
    let reads = faulty.reads();
    let again = repo
        .execute_from("a-1", &mut held, keyed(), |a: &Account| {
            a.withdraw(5, "t-1")
        })
        .await
        .expect("keyed withdraw again, on the held state");
    assert!(
        matches!(
            again,
            Outcome::AlreadyRejected(Some(AccountError::InsufficientFunds { .. }))
        ),
        "{again:?}"
    );
    assert!(faulty.reads() <= reads + 1, "at most the key is read back");
    let stored = repo.load::<Account>("a-1").await.expect("load");
    assert_eq!(
        (stored.state.balance, stored.version),
        (10, 1),
        "nothing written"
    );
    assert_eq!(
        (held.state.balance, held.version),
        (10, 1),
        "held as the stream is"
    );
}
