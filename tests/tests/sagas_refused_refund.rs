//! A refund the account refuses is meant to wait for an operator: the
//! transfer saga records no outcome for it, so that its event is retried,
//! then parked, and replayed once the operator has made the refund
//! possible. Since a keyed command records its refusal, the refund's key
//! keeps the first refusal: once the operator fixed the account, the
//! replay must refund `from`, not meet the old refusal again.

use eventstore_core::reactor::Reactor;
use eventstore_core::{MemoryStore, Options, Outcome, RecordedEvent, Repository};
use sagas_examples::account::{Account, AccountError};
use sagas_examples::saga::TransferSaga;
use sagas_examples::transfer::{
    DepositFailed, Transfer, TransferDebited, TransferEvent, TransferStarted, TransferStatus,
};

const AMOUNT: u64 = 50;

async fn account(
    repo: &Repository<MemoryStore>,
    id: &str,
    options: Options,
    decide: impl Fn(&Account) -> Result<Vec<sagas_examples::account::AccountEvent>, AccountError>,
) {
    repo.execute(id, options, decide)
        .await
        .and_then(Outcome::into_result)
        .unwrap_or_else(|e| panic!("a command on {id}: {e}"));
}

/// The transfer t-1 from alice to bob after bob refused the deposit: alice
/// was debited, and has received so much since that the refund would
/// overflow her balance. Returns the transfer's last event.
async fn refund_due_that_overflows(repo: &Repository<MemoryStore>) -> RecordedEvent {
    account(repo, "alice", Options::default(), |a| a.open("Alice", 100)).await;
    let withdraw = Options::idempotent("Transfer/t-1/withdraw");
    account(repo, "alice", withdraw, |a| a.withdraw(AMOUNT, "t-1")).await;
    let room = u64::MAX - (100 - AMOUNT) - 10;
    account(repo, "alice", Options::default(), |a| {
        a.deposit(room, "t-0")
    })
    .await;
    let history: Vec<TransferEvent> = vec![
        TransferStarted {
            from: "alice".into(),
            to: "bob".into(),
            amount: AMOUNT,
            approval_timeout_secs: None,
        }
        .into(),
        TransferDebited {}.into(),
        DepositFailed {
            reason: "the account is frozen".into(),
        }
        .into(),
    ];
    let committed = repo
        .execute("t-1", Options::default(), move |_: &Transfer| {
            Ok::<_, AccountError>(history.clone())
        })
        .await
        .and_then(Outcome::into_result)
        .expect("the transfer's history")
        .expect("new");
    committed.events[2].clone()
}

#[tokio::test]
async fn a_refused_refund_is_taken_once_the_operator_made_it_possible() {
    let repo = Repository::new(MemoryStore::new());
    let saga = TransferSaga::new(repo.clone());
    let due = refund_due_that_overflows(&repo).await;
    let refused = saga.handle(&due).await;
    assert!(
        refused.is_err(),
        "the refused refund fails the event: {refused:?}"
    );
    // the operator makes room on alice's account, then replays the event
    account(&repo, "alice", Options::default(), |a| {
        a.withdraw(1_000, "op-1")
    })
    .await;
    let replayed = saga.handle(&due).await;
    let alice = repo.load::<Account>("alice").await.expect("load").state;
    let transfer = repo.load::<Transfer>("t-1").await.expect("load").state;
    assert_eq!(
        (alice.balance, transfer.status),
        (
            u64::MAX - 10 - 1_000 + AMOUNT,
            TransferStatus::Failed { refunded: true }
        ),
        "the replay refunds alice ({replayed:?})"
    );
}
