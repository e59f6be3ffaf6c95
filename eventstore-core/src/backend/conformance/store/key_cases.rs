//! Idempotency keys record the first decision, refusals included: given
//! back undecided, decided again when the stream moved, erased by forget.

use serde::{Deserialize, Serialize};

use crate::backend::conformance::account::{Account, AccountError, Decision};
use crate::backend::conformance::faulty::Faulty;
use crate::backend::{
    AppendOutcome, AppendRequest, JsonText, RecordedOutcome, RefusalOutcome, RefusalRequest,
};
use crate::{
    ErasedRejection, Error, EventStore, ForgetRequest, Options, Outcome, Repository, StreamAt,
};

use super::fixtures::{append_ok, deposited, load, open};

const KEY: &str = "t-1/withdraw";

/// A decision that must not be made: the key's outcome is recorded.
fn never(_: &Account) -> Decision {
    panic!("a command whose key has an outcome must not be decided again")
}

/// What the key recorded on Account `id`.
async fn recorded<S: EventStore>(store: &S, id: &str, key: &str) -> Option<RecordedOutcome> {
    store
        .idempotency_key_outcome("Account", id, key)
        .await
        .expect("key outcome")
}

/// The domain error as a store records it.
fn json(error: &AccountError) -> JsonText {
    JsonText::encode(error).expect("encodes")
}

/// A refusal under a key is recorded; the key gives it back without
/// deciding, even once the decision would go the other way.
pub async fn a_recorded_refusal_is_given_back_undecided<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "a-1", 10).await;
    let refused = AccountError::InsufficientFunds {
        balance: 10,
        requested: 11,
    };
    let first = repo
        .execute("a-1", Options::idempotent(KEY), |a: &Account| {
            a.withdraw(11, "t-1")
        })
        .await
        .expect("execute");
    assert_eq!(first, Outcome::Rejected(refused.clone()));
    assert_eq!(
        recorded(&store, "a-1", KEY).await,
        Some(RecordedOutcome::Rejected(Some(json(&refused))))
    );
    // money arrives: the same command would now be done, but its key says no
    let deposit = |a: &Account| a.deposit(100, "t-0");
    repo.execute("a-1", Options::default(), deposit)
        .await
        .and_then(Outcome::into_result)
        .expect("deposit");
    let again = repo
        .execute("a-1", Options::idempotent(KEY), never)
        .await
        .expect("execute");
    assert_eq!(again, Outcome::AlreadyRejected(Some(refused.clone())));
    let error = again.into_result().expect_err("a rejection");
    assert_eq!(error.rejection::<AccountError>(), Some(&refused));
    // an append with the key is refused by the store as well, at any version
    for version in [1, 2] {
        let request = AppendRequest::new("Account", "a-1".parse().unwrap(), version)
            .idempotency_key(KEY)
            .event(deposited(1));
        assert_eq!(
            store.append(request).await.expect("append"),
            AppendOutcome::AlreadyRejected(Some(json(&refused))),
            "an append with a refused key at version {version}"
        );
    }
    assert_eq!(load(&store, "Account", "a-1", 0).await.len(), 2);
}

/// A refusal decided on a version the stream has moved past is not
/// recorded: the command is decided again on the newer state, counting an
/// attempt.
pub async fn a_refusal_of_a_moved_stream_is_decided_again<S: EventStore>(store: S) {
    open(&Repository::new(store.clone()), "a-1", 10).await;
    let faulty = Faulty::new(store.clone()).rivals_before_refusals(1, deposited(10));
    let repo = Repository::new(faulty.clone());
    let mut decided = 0;
    let outcome = repo
        .execute("a-1", Options::idempotent(KEY), |a: &Account| {
            decided += 1;
            a.withdraw(15, "t-1")
        })
        .await
        .expect("execute");
    assert!(
        matches!(outcome, Outcome::Done(ref c) if (c.version, c.attempts) == (3, 2)),
        "done at the second attempt, after the rival's deposit: {outcome:?}"
    );
    assert_eq!(decided, 2, "refused at version 1, done at version 2");
    assert_eq!(faulty.refusals(), 1);
    assert_eq!(
        recorded(&store, "a-1", KEY).await,
        Some(RecordedOutcome::Applied)
    );
    let loaded = repo.load::<Account>("a-1").await.expect("load");
    assert_eq!(loaded.state.balance, 5);
}

/// A key that an append used keeps that outcome: a refusal recorded under
/// it later (a slower delivery of the same command) is told so, whatever
/// version it was decided on, and the command is `AlreadyApplied`.
pub async fn a_refusal_after_the_key_was_applied_is_already_applied<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "a-1", 10).await;
    let done = repo
        .execute("a-1", Options::idempotent(KEY), |a: &Account| {
            a.withdraw(10, "t-1")
        })
        .await
        .expect("execute");
    assert!(matches!(done, Outcome::Done(_)), "{done:?}");
    let refused = json(&AccountError::InsufficientFunds {
        balance: 0,
        requested: 10,
    });
    for version in [1, 2] {
        let request = RefusalRequest::new(
            "Account",
            "a-1".parse().unwrap(),
            KEY,
            version,
            refused.clone(),
        );
        assert_eq!(
            store.record_refusal(request).await.expect("refusal"),
            RefusalOutcome::AlreadyDecided(RecordedOutcome::Applied),
            "a refusal decided at version {version}"
        );
    }
    let again = repo
        .execute("a-1", Options::idempotent(KEY), |a: &Account| {
            a.withdraw(10, "t-1")
        })
        .await
        .expect("execute");
    assert_eq!(again, Outcome::AlreadyApplied);
    assert_eq!(
        recorded(&store, "a-1", KEY).await,
        Some(RecordedOutcome::Applied)
    );
}

/// A keyed command guarded by `unless_moved` whose decision refuses, once
/// the guarded stream moved on, is a [`Error::StreamMoved`] as its append
/// would be: its refusal is not recorded under the key, so the key is free
/// for the decision made where the guard holds. (A stale saga delivery
/// runs its step guarded so; a refusal it recorded would stand for the
/// step whatever the saga wants by then.)
pub async fn a_keyed_refusal_whose_guard_moved_records_nothing<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "a-1", 10).await;
    open(&repo, "g-1", 10).await;
    let guard = StreamAt::of::<Account>("g-1".parse().unwrap(), 1);
    repo.execute("g-1", Options::default(), |a: &Account| a.deposit(1, "t-0"))
        .await
        .and_then(Outcome::into_result)
        .expect("the guarded stream moves on");
    let outcome = repo
        .execute(
            "a-1",
            Options::idempotent(KEY).unless_moved(guard),
            |a: &Account| a.withdraw(11, "t-1"),
        )
        .await;
    assert!(
        matches!(outcome, Err(Error::StreamMoved { ref aggregate_id, version: 1, .. }) if aggregate_id == "g-1"),
        "the guard moved: {outcome:?}"
    );
    assert_eq!(
        recorded(&store, "a-1", KEY).await,
        None,
        "the key stays free"
    );
}

/// With `refusal_not_final`, a keyed refusal records nothing: a later
/// command with the key is decided again, and once done, the key records
/// that append as usual.
pub async fn a_refusal_not_final_is_decided_again<S: EventStore>(store: S) {
    let faulty = Faulty::new(store.clone());
    let repo = Repository::new(faulty.clone());
    open(&repo, "a-1", 10).await;
    let options = Options::idempotent(KEY).refusal_not_final();
    let withdraw = |a: &Account| a.withdraw(15, "t-1");
    let first = repo
        .execute("a-1", options.clone(), withdraw)
        .await
        .expect("execute");
    assert!(matches!(first, Outcome::Rejected(_)), "{first:?}");
    assert_eq!(faulty.refusals(), 0, "the refusal is not recorded");
    assert_eq!(recorded(&store, "a-1", KEY).await, None);
    let deposit = |a: &Account| a.deposit(10, "t-0");
    repo.execute("a-1", Options::default(), deposit)
        .await
        .and_then(Outcome::into_result)
        .expect("deposit");
    let again = repo
        .execute("a-1", options.clone(), withdraw)
        .await
        .expect("execute");
    assert!(
        matches!(again, Outcome::Done(_)),
        "decided again: {again:?}"
    );
    let third = repo.execute("a-1", options, never).await.expect("execute");
    assert_eq!(third, Outcome::AlreadyApplied);
}

/// A forget erases the domain errors of the refusals recorded on the
/// stream, and the keys stay refused: `AlreadyRejected(None)`.
pub async fn forget_erases_recorded_refusals<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    for id in ["a-1", "a-2"] {
        open(&repo, id, 10).await;
        let refused = repo
            .execute(id, Options::idempotent(KEY), |a: &Account| {
                a.withdraw(11, "t-1")
            })
            .await
            .expect("execute");
        assert!(matches!(refused, Outcome::Rejected(_)), "{refused:?}");
    }
    let forget = ForgetRequest::personal::<Account>("a-1".parse().unwrap());
    let forgotten = store.forget(&forget).await.expect("forget");
    assert_eq!(forgotten.copies, 1, "one refusal erased: {forgotten:?}");
    assert_eq!(
        recorded(&store, "a-1", KEY).await,
        Some(RecordedOutcome::Rejected(None))
    );
    let again = repo
        .execute("a-1", Options::idempotent(KEY), never)
        .await
        .expect("execute");
    assert_eq!(again, Outcome::AlreadyRejected(None));
    let error = again.into_result().expect_err("still a rejection");
    assert!(error.rejection::<ErasedRejection>().is_some(), "{error}");
    // the other stream's refusal keeps its error; a second forget erases
    // nothing more
    let other = recorded(&store, "a-2", KEY).await;
    assert!(
        matches!(other, Some(RecordedOutcome::Rejected(Some(_)))),
        "{other:?}"
    );
    assert_eq!(store.forget(&forget).await.expect("forget").copies, 0);
}

/// A command without a key that is refused records nothing.
pub async fn unkeyed_refusals_record_nothing<S: EventStore>(store: S) {
    let faulty = Faulty::new(store.clone());
    let repo = Repository::new(faulty.clone());
    open(&repo, "a-1", 10).await;
    let outcome = repo
        .execute("a-1", Options::default(), |a: &Account| {
            a.withdraw(11, "t-1")
        })
        .await
        .expect("execute");
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    assert_eq!(faulty.refusals(), 0, "nothing recorded without a key");
    assert_eq!(load(&store, "Account", "a-1", 0).await.len(), 1);
}

/// With `expect_new`, a refusal of the assumed (default) state is not
/// recorded: the command is decided on the loaded state, and only a
/// refusal of that one is.
pub async fn expect_new_records_only_refusals_of_the_loaded_state<S: EventStore>(store: S) {
    let faulty = Faulty::new(store.clone());
    let repo = Repository::new(faulty.clone());
    open(&repo, "a-1", 10).await;
    let withdraw = |a: &Account| a.withdraw(5, "t-1");
    // exists after all: NotOpen on the assumed state, done on the loaded one
    let outcome = repo
        .execute("a-1", Options::idempotent(KEY).expect_new(), withdraw)
        .await
        .expect("execute");
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert_eq!(
        faulty.refusals(),
        0,
        "the assumed state's refusal is not recorded"
    );
    // new indeed: NotOpen on the loaded state too, which is recorded
    let outcome = repo
        .execute("a-2", Options::idempotent(KEY).expect_new(), withdraw)
        .await
        .expect("execute");
    assert_eq!(outcome, Outcome::Rejected(AccountError::NotOpen));
    assert_eq!(faulty.refusals(), 1);
    assert_eq!(
        recorded(&store, "a-2", KEY).await,
        Some(RecordedOutcome::Rejected(Some(json(
            &AccountError::NotOpen
        ))))
    );
}

/// A domain error that fails to encode.
#[derive(Debug, PartialEq, Deserialize)]
struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this error cannot be encoded"))
    }
}

/// A refusal whose domain error does not encode, and a recorded one that
/// does not decode into the command's error type, are typed errors naming
/// the stream and the key; nothing is written.
pub async fn unrecordable_and_undecodable_refusals_are_typed_errors<S: EventStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "a-1", 10).await;
    let unencodable = repo
        .execute("a-1", Options::idempotent("k-1"), |_: &Account| {
            Err::<Vec<_>, _>(Unencodable)
        })
        .await;
    match unencodable {
        Err(Error::UnrecordableRejection {
            aggregate_kind,
            aggregate_id,
            key,
            ..
        }) => assert_eq!(
            (aggregate_kind.as_str(), aggregate_id.as_str(), key.as_str()),
            ("Account", "a-1", "k-1")
        ),
        other => panic!("expected UnrecordableRejection, got {other:?}"),
    }
    assert_eq!(
        recorded(&store, "a-1", "k-1").await,
        None,
        "nothing recorded"
    );
    // recorded as an AccountError, read back as a number
    let refused = repo
        .execute("a-1", Options::idempotent(KEY), |a: &Account| {
            a.withdraw(11, "t-1")
        })
        .await
        .expect("execute");
    assert!(matches!(refused, Outcome::Rejected(_)), "{refused:?}");
    let undecodable = repo
        .execute("a-1", Options::idempotent(KEY), |_: &Account| {
            Err::<Vec<_>, u64>(7)
        })
        .await;
    match undecodable {
        Err(Error::UndecodableRejection {
            aggregate_kind,
            aggregate_id,
            key,
            ..
        }) => assert_eq!(
            (aggregate_kind.as_str(), aggregate_id.as_str(), key.as_str()),
            ("Account", "a-1", KEY)
        ),
        other => panic!("expected UndecodableRejection, got {other:?}"),
    }
    assert_eq!(load(&store, "Account", "a-1", 0).await.len(), 1);
    let still = recorded(&store, "a-1", KEY).await;
    assert!(
        matches!(still, Some(RecordedOutcome::Rejected(Some(_)))),
        "{still:?}"
    );
    append_ok(
        &store,
        AppendRequest::new("Account", "a-1".parse().unwrap(), 1).event(deposited(1)),
    )
    .await;
}
