//! GDPR forget: personal fields erased from events and snapshots, the
//! history kept, and every request safe to repeat.

use crate::backend::conformance::account::{Account, Decision};
use crate::backend::{AppendRequest, NewEvent, Snapshot};
use crate::{EventStore, ForgetRequest, Forgotten, Options, Outcome, RecordedEvent, Repository};
use serde_json::{Value, json};

use super::fixtures::{append_ok, body, field, load};
use crate::backend::conformance::eventually::snapshot_when;

async fn done<S: EventStore>(
    repo: &Repository<S>,
    id: &str,
    decide: impl Fn(&Account) -> Decision,
) {
    let outcome = repo
        .execute(id, Options::default(), |a: &Account| decide(a))
        .await
        .unwrap_or_else(|e| panic!("command on {id}: {e}"));
    assert!(
        matches!(outcome, Outcome::Done(_)),
        "command on {id}: {outcome:?}"
    );
}

/// Rows, versions, positions and ids of a stream, without the bodies.
fn shape(events: &[RecordedEvent]) -> Vec<(String, u64, u64, String)> {
    events
        .iter()
        .map(|e| (e.id.to_string(), e.version, e.position, e.kind.clone()))
        .collect()
}

/// Whether any body of `events` still holds `value` anywhere.
fn mentions(events: &[RecordedEvent], value: &str) -> bool {
    events.iter().any(|e| e.body.to_string().contains(value))
}

/// The declared personal fields are erased from every event of the
/// aggregate, its snapshot is dropped, other aggregates are untouched, the
/// aggregate still loads, and a second forget changes nothing.
pub async fn forget_erases_declared_personal_fields<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone()).snapshot_every(2);
    done(&repo, "acc-ada", |a| a.open("Ada Lovelace", 100)).await;
    done(&repo, "acc-ada", |a| a.update_owner("Ada King")).await;
    done(&repo, "acc-ada", |a| a.deposit(5, "t-1")).await;
    done(&repo, "acc-grace", |a| a.open("Grace Hopper", 7)).await;
    done(&repo, "acc-grace", |a| a.update_owner("Grace B. Hopper")).await;
    let snapshot = snapshot_when(&store, "Account", "acc-ada", |_| true).await;
    assert!(
        snapshot.state.to_string().contains("Ada King"),
        "the snapshot holds the name before the forget"
    );
    let before = load(&store, "Account", "acc-ada", 0).await;
    assert!(mentions(&before, "Ada Lovelace") && mentions(&before, "Ada King"));

    let forgotten = store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-ada".parse().unwrap(),
        ))
        .await
        .expect("forget");
    assert_eq!(
        forgotten,
        Forgotten {
            events: 2,
            snapshots: 1,
            copies: 0
        },
        "Opened and OwnerUpdated lose the owner; the snapshot is deleted"
    );

    let after = load(&store, "Account", "acc-ada", 0).await;
    assert_eq!(
        shape(&after),
        shape(&before),
        "every row, version, position and id stays"
    );
    assert!(!mentions(&after, "Ada"), "no name left: {after:?}");
    assert_eq!(
        after[0].body,
        body(&json!({ "owner": null, "initial_balance": 100 }))
    );
    assert_eq!(
        after[2].body, before[2].body,
        "the deposit had nothing personal"
    );
    assert_eq!(
        store
            .load_snapshot("Account", "acc-ada")
            .await
            .expect("snapshot"),
        None
    );

    let loaded = repo
        .load::<Account>("acc-ada")
        .await
        .expect("the aggregate still loads");
    assert_eq!((loaded.version, loaded.state.balance), (3, 105));
    assert_eq!(loaded.state.owner, None);

    let grace = load(&store, "Account", "acc-grace", 0).await;
    assert!(
        mentions(&grace, "Grace Hopper"),
        "another aggregate keeps its data"
    );

    let again = store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-ada".parse().unwrap(),
        ))
        .await
        .expect("forget again");
    assert_eq!(
        again.total(),
        0,
        "a repeated forget changes nothing: {again:?}"
    );

    // the aggregate lives on, and its next snapshot has nothing to forget
    done(&repo, "acc-ada", |a| a.deposit(1, "t-2")).await;
    let snapshot = snapshot_when(&store, "Account", "acc-ada", |s| s.version == 4).await;
    assert!(
        !snapshot.state.to_string().contains("Ada"),
        "a snapshot folded from the erased events"
    );
}

/// Forgetting an aggregate the store does not hold changes nothing and is
/// no error (an id no stream can have is no `AggregateId`: it cannot be
/// asked for).
pub async fn forget_of_an_unknown_aggregate_changes_nothing<S: EventStore>(store: S) {
    append_ok(
        &store,
        AppendRequest::new("Account", "acc-1".parse().unwrap(), 0).event(NewEvent {
            kind: "Opened".into(),
            schema_version: 1,
            body: body(&json!({ "owner": "Ada", "initial_balance": 1 })),
        }),
    )
    .await;
    for request in [
        ForgetRequest::personal::<Account>("acc-2".parse().unwrap()),
        ForgetRequest::of_kind("Nobody", "acc-1".parse().unwrap())
            .event_fields("Opened", ["owner"])
            .snapshot_fields(["owner"]),
    ] {
        let forgotten = store
            .forget(&request)
            .await
            .expect("forget of an unknown aggregate");
        assert_eq!(forgotten.total(), 0, "{request:?}: {forgotten:?}");
    }
    assert_eq!(
        field(&load(&store, "Account", "acc-1", 0).await[0].body, "owner"),
        "Ada",
        "the stream that was not named keeps its data"
    );
}

/// The explicit form erases undeclared fields of chosen kinds and of the
/// snapshot state; field names with quotes and SQL in them are data.
pub async fn forget_takes_explicit_fields_as_data<S: EventStore>(store: S) {
    let odd = [r#"o'wner"#, r#"na"me"#, r#"x'); DELETE FROM events; --"#];
    let value = json!({
        "o'wner": "Ada", "na\"me": "Lovelace", "x'); DELETE FROM events; --": "secret",
        "keep": "kept", "owner": "not named",
    });
    let body = body(&value);
    let written = append_ok(
        &store,
        AppendRequest::new("Profile", "p-1".parse().unwrap(), 0)
            .event(NewEvent {
                kind: "Created".into(),
                schema_version: 1,
                body: body.clone(),
            })
            .event(NewEvent {
                kind: "Other".into(),
                schema_version: 1,
                body: body.clone(),
            }),
    )
    .await;
    store
        .save_snapshot(Snapshot {
            aggregate_kind: "Profile".into(),
            aggregate_id: "p-1".parse().unwrap(),
            version: 2,
            forgets: 0,
            schema_version: 1,
            state: json!({ "o'wner": "Ada", "keep": 1 }).into(),
        })
        .await
        .expect("save snapshot");

    let request = ForgetRequest::of_kind("Profile", "p-1".parse().unwrap())
        .event_fields("Created", odd)
        .snapshot_fields([odd[0], "absent"]);
    let forgotten = store.forget(&request).await.expect("forget");
    assert_eq!(
        forgotten,
        Forgotten {
            events: 1,
            snapshots: 1,
            copies: 0
        }
    );

    let after = load(&store, "Profile", "p-1", 0).await;
    assert_eq!(after.len(), written.len(), "no event lost");
    let mut erased = value;
    for field in odd {
        erased[field] = Value::Null;
    }
    assert_eq!(
        after[0].body,
        super::fixtures::body(&erased),
        "only the named fields of Created"
    );
    assert_eq!(
        after[1].body, body,
        "a kind that was not named is untouched"
    );
    let snapshot = store
        .load_snapshot("Profile", "p-1")
        .await
        .expect("snapshot")
        .expect("the snapshot stays");
    assert_eq!(
        snapshot.state,
        json!({ "o'wner": null, "keep": 1 }).into(),
        "no field added"
    );
    assert_eq!(store.forget(&request).await.expect("again").total(), 0);
}

/// Opens `Account` acc-1 for Ada Lovelace at version 1.
async fn open_ada<S: EventStore>(store: &S) {
    let opened = NewEvent {
        kind: "Opened".into(),
        schema_version: 1,
        body: body(&json!({ "owner": "Ada Lovelace", "initial_balance": 1 })),
    };
    append_ok(
        store,
        AppendRequest::new("Account", "acc-1".parse().unwrap(), 0).event(opened),
    )
    .await;
}

/// A snapshot of acc-1 at `version`, its state loaded after `forgets`
/// forgets.
fn account_state(version: u64, owner: Option<&str>, balance: u64, forgets: u64) -> Snapshot {
    Snapshot {
        aggregate_kind: "Account".into(),
        aggregate_id: "acc-1".parse().unwrap(),
        version,
        forgets,
        schema_version: 1,
        state: json!({ "owner": owner, "balance": balance }).into(),
    }
}

/// A snapshot folded before a forget and saved after it (a background save
/// that lost the race) is not stored; a snapshot of a later version is.
pub async fn a_snapshot_from_before_the_forget_is_not_stored<S: EventStore>(store: S) {
    open_ada(&store).await;
    // a state loaded before the forget (0 forgets), or after it (1)
    let snapshot = |version, owner, forgets| account_state(version, owner, 1, forgets);
    store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-1".parse().unwrap(),
        ))
        .await
        .expect("forget");
    for version in [1, 0] {
        store
            .save_snapshot(snapshot(version, Some("Ada Lovelace"), 0))
            .await
            .expect("a refused save is no error");
    }
    assert_eq!(
        store.load_snapshot("Account", "acc-1").await.expect("load"),
        None,
        "a state from before the forget is not stored"
    );

    let more = NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: body(&json!({ "amount": 1, "transaction": "t-1" })),
    };
    append_ok(
        &store,
        AppendRequest::new("Account", "acc-1".parse().unwrap(), 1).event(more),
    )
    .await;
    store
        .save_snapshot(snapshot(2, None, 1))
        .await
        .expect("save a later snapshot");
    assert_eq!(
        store
            .load_snapshot("Account", "acc-1")
            .await
            .expect("load")
            .map(|s| s.version),
        Some(2),
        "a snapshot after the forget is stored"
    );
}

/// A command that loaded a stream before a forget and appends after it
/// holds the state from before the forget: the snapshot the repository
/// takes of it is not stored (it would bring the erased value back on every
/// later load); one loaded after the forget is.
pub async fn a_state_loaded_before_the_forget_is_not_snapshotted<S: EventStore>(store: S) {
    open_ada(&store).await;
    let before = store
        .load_stream("Account", "acc-1", None, usize::MAX)
        .await
        .expect("load before the forget");
    store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-1".parse().unwrap(),
        ))
        .await
        .expect("forget");
    let deposit = |n: u64| NewEvent {
        kind: "MoneyDeposited".into(),
        schema_version: 1,
        body: body(&json!({ "amount": 1, "transaction": format!("t-{n}") })),
    };
    append_ok(
        &store,
        AppendRequest::new("Account", "acc-1".parse().unwrap(), 1).event(deposit(1)),
    )
    .await;
    let state = |owner, version, forgets| account_state(version, owner, version, forgets);
    store
        .save_snapshot(state(Some("Ada Lovelace"), 2, before.forgets))
        .await
        .expect("a refused save is no error");
    assert_eq!(
        store.load_snapshot("Account", "acc-1").await.expect("load"),
        None,
        "the state loaded before the forget is not stored"
    );
    let after = store
        .load_stream("Account", "acc-1", None, usize::MAX)
        .await
        .expect("load after the forget");
    assert_eq!(after.forgets, before.forgets + 1, "the forget is counted");
    append_ok(
        &store,
        AppendRequest::new("Account", "acc-1".parse().unwrap(), 2).event(deposit(2)),
    )
    .await;
    store
        .save_snapshot(state(None, 3, after.forgets))
        .await
        .expect("save");
    assert_eq!(
        store
            .load_snapshot("Account", "acc-1")
            .await
            .expect("load")
            .map(|s| s.version),
        Some(3),
        "a state loaded after the forget is stored"
    );
}
