//! Accounts, transfers, the worker and parked events.

use std::time::{Duration, Instant};

use eventstore_core::reactor::ReactorStore;
use eventstore_core::reactor::{RetryOutcome, Runner, RunnerOptions, Start};
use eventstore_core::{
    AggregateId, DeadlineStore, ErasedRejection, EventId, EventStore, Options, Outcome, Tracker,
};
use serde_json::json;

use super::args::{AccountCommand, Database, Output, ParkedCommand, TransferCommand};
use super::failure::Failure;
use super::store::{on_store, repository};
use crate::account::{Account, AccountError, Status};
use crate::money::Money;
use crate::output::{table, utc};
use crate::saga::{TransferSaga, narrator};
use crate::transfer::{ApprovalPolicy, Transfer, TransferError, TransferStatus};

/// The saga's partitions unless told otherwise: what `worker` and `status`
/// assume.
pub(crate) const DEFAULT_PARTITIONS: u32 = 4;

/// What an account command did, as a line, or the refusal as a failure.
fn account_outcome(id: &str, what: &str, outcome: Outcome<AccountError>) -> Result<(), Failure> {
    match outcome {
        Outcome::Done(c) => {
            println!("{id}: {what} (version {})", c.version);
            Ok(())
        }
        Outcome::AlreadyApplied => {
            println!("{id}: already done");
            Ok(())
        }
        Outcome::Rejected(error) | Outcome::AlreadyRejected(Some(error)) => {
            Err(Failure::Failed(format!("{id}: {error}")))
        }
        Outcome::AlreadyRejected(None) => Err(Failure::Failed(format!("{id}: {ErasedRejection}"))),
    }
}

/// `sagas account ...`
pub(crate) async fn account(db: &Database, command: AccountCommand) -> Result<(), Failure> {
    on_store!(db, |store| account_on(store, command).await)
}

/// `sagas account ...` on `store`.
async fn account_on<S: EventStore>(store: S, command: AccountCommand) -> Result<(), Failure> {
    let repo = repository(store);
    match command {
        AccountCommand::Open { id, owner, balance } => {
            let outcome = repo
                .execute(&id, Options::default().expect_new(), |a: &Account| {
                    a.open(&owner, balance.0)
                })
                .await?;
            account_outcome(id.as_str(), &format!("opened with {balance}"), outcome)
        }
        AccountCommand::Deposit { id, amount } => {
            let tx = format!("deposit-{}", EventId::new());
            let outcome = repo
                .execute(&id, Options::default(), |a: &Account| {
                    a.deposit(amount.0, &tx)
                })
                .await?;
            account_outcome(id.as_str(), &format!("deposited {amount}"), outcome)
        }
        AccountCommand::Freeze { id, reason } => {
            let outcome = repo
                .execute(&id, Options::default(), |a: &Account| a.freeze(&reason))
                .await?;
            account_outcome(id.as_str(), "frozen", outcome)
        }
        AccountCommand::Close { id } => {
            let outcome = repo
                .execute(&id, Options::default(), Account::close)
                .await?;
            account_outcome(id.as_str(), "closed", outcome)
        }
        AccountCommand::Show { id, output } => {
            let loaded = repo.load::<Account>(&id).await?;
            if loaded.state.status == Status::New {
                return Err(Failure::Failed(format!("{id}: no such account")));
            }
            let a = loaded.state;
            if output.json {
                let value = json!({ "id": id, "owner": a.owner, "status": a.status, "balance": a.balance, "version": loaded.version });
                println!("{value}");
            } else {
                let mut shown = table(["account", "owner", "status", "balance", "version"]);
                shown.add_row([
                    id.to_string(),
                    a.owner_name().to_owned(),
                    a.status.to_string(),
                    Money(a.balance).to_string(),
                    loaded.version.to_string(),
                ]);
                println!("{}", shown.trim_fmt());
            }
            Ok(())
        }
    }
}

fn transfer_json(id: &str, t: &Transfer) -> serde_json::Value {
    json!({
        "id": id, "from": t.from, "to": t.to, "amount": t.amount,
        "status": status_name(t.status), "failure": t.failure,
        "approval_due_micros": t.approval_due_micros,
    })
}

/// A transfer's state in one word, for scripts (`--json`); people read
/// its `Display`.
pub(crate) fn status_name(status: TransferStatus) -> &'static str {
    match status {
        TransferStatus::New => "new",
        TransferStatus::Started => "started",
        TransferStatus::Debited => "debited",
        TransferStatus::DepositFailed => "deposit-failed",
        TransferStatus::Completed => "completed",
        TransferStatus::Failed { refunded: false } => "failed",
        TransferStatus::Failed { refunded: true } => "refunded",
        TransferStatus::AwaitingApproval => "awaiting-approval",
        TransferStatus::Approved => "approved",
        TransferStatus::Declined { timed_out: false } => "rejected",
        TransferStatus::Declined { timed_out: true } => "timed-out",
    }
}

fn print_transfer(id: &str, t: &Transfer, output: Output) {
    if output.json {
        println!("{}", transfer_json(id, t));
    } else {
        let mut shown = table(["transfer", "from", "to", "amount", "status", "failure"]);
        shown.add_row([
            id.to_owned(),
            t.from.clone(),
            t.to.clone(),
            Money(t.amount).to_string(),
            t.status.to_string(),
            t.failure.clone().unwrap_or_default(),
        ]);
        println!("{}", shown.trim_fmt());
        if let Some(due) = t.approval_due() {
            println!(
                "waits for `sagas transfer approve {id}` (or reject) until {}",
                utc(due)
            );
        }
    }
}

/// What an approval or a rejection did, as a line, or the refusal as a
/// failure.
fn transfer_outcome(id: &str, what: &str, outcome: Outcome<TransferError>) -> Result<(), Failure> {
    match outcome {
        Outcome::Done(_) | Outcome::AlreadyApplied => {
            println!("{id}: {what}");
            Ok(())
        }
        Outcome::Rejected(error) | Outcome::AlreadyRejected(Some(error)) => {
            Err(Failure::Failed(format!("{id}: {error}")))
        }
        Outcome::AlreadyRejected(None) => Err(Failure::Failed(format!("{id}: {ErasedRejection}"))),
    }
}

/// `sagas transfer ...`
pub(crate) async fn transfer(db: &Database, command: TransferCommand) -> Result<(), Failure> {
    on_store!(db, |store| transfer_on(store, command).await)
}

/// `sagas transfer ...` on `store`.
async fn transfer_on<S: EventStore>(store: S, command: TransferCommand) -> Result<(), Failure> {
    let repo = repository(store);
    match command {
        TransferCommand::Start {
            from,
            to,
            amount,
            id,
            wait,
            approval_limit,
            approval_timeout,
        } => {
            let id = match id {
                Some(id) => id,
                None => AggregateId::new(format!("tx-{}", EventId::new()))?,
            };
            let policy = ApprovalPolicy {
                limit: approval_limit.0,
                timeout: approval_timeout,
            };
            let start = |t: &Transfer| t.start_with(from.as_str(), to.as_str(), amount.0, &policy);
            match repo
                .execute(&id, Options::idempotent("start").expect_new(), start)
                .await?
            {
                Outcome::Done(_) if policy.timeout_for(amount.0).is_some() => println!(
                    "{id}: started, {from} -> {to} {amount}; above {approval_limit}, it waits \
                     for `sagas transfer approve {id}` (or reject) for {} s once withdrawn",
                    approval_timeout.as_secs()
                ),
                Outcome::Done(_) => println!("{id}: started, {from} -> {to} {amount}"),
                Outcome::AlreadyApplied => println!("{id}: already started"),
                Outcome::Rejected(error) | Outcome::AlreadyRejected(Some(error)) => {
                    return Err(Failure::Failed(format!("{id}: {error}")));
                }
                Outcome::AlreadyRejected(None) => {
                    return Err(Failure::Failed(format!("{id}: {ErasedRejection}")));
                }
            }
            if !wait {
                return Ok(());
            }
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let t = repo.load::<Transfer>(&id).await?.state;
                if t.status.is_settled() {
                    print_transfer(id.as_str(), &t, Output { json: false });
                    return match t.status {
                        TransferStatus::Completed => Ok(()),
                        _ => Err(Failure::Failed(format!(
                            "{id}: {}",
                            t.failure.unwrap_or_default()
                        ))),
                    };
                }
                if Instant::now() > deadline {
                    return Err(Failure::Failed(format!(
                        "{id}: not settled after 60 s; is a worker running?"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        TransferCommand::Approve { id } => {
            let outcome = repo
                .execute(&id, Options::default(), Transfer::approve)
                .await?;
            transfer_outcome(id.as_str(), "approved: the money goes on", outcome)
        }
        TransferCommand::Reject { id, reason } => {
            let reject = |t: &Transfer| t.reject(&reason);
            let outcome = repo.execute(&id, Options::default(), reject).await?;
            transfer_outcome(id.as_str(), "rejected: the money goes back", outcome)
        }
        TransferCommand::Show { id, output } => {
            let t = repo.load::<Transfer>(&id).await?.state;
            if t.status == TransferStatus::New {
                return Err(Failure::Failed(format!("{id}: no such transfer")));
            }
            print_transfer(id.as_str(), &t, output);
            Ok(())
        }
    }
}

/// `sagas worker`: the saga until Ctrl-C.
pub(crate) async fn worker(
    db: &Database,
    partitions: u32,
    lease_ttl: Duration,
) -> Result<(), Failure> {
    let options = RunnerOptions::default()
        .partitions(partitions)
        .lease_ttl(lease_ttl)
        .poll_interval(Duration::from_millis(250));
    options
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    on_store!(db, |store| work_on(store, options).await)
}

/// `sagas worker` on `store`.
async fn work_on<S>(store: S, options: RunnerOptions) -> Result<(), Failure>
where
    S: EventStore + Tracker + ReactorStore + DeadlineStore,
{
    let partitions = options.partitions;
    let saga = TransferSaga::new(repository(store.clone())).observe(narrator(None));
    let owner = options.owner.clone();
    eprintln!(
        "worker {owner}: running the transfer saga over {partitions} partitions; Ctrl-C or SIGTERM stops it"
    );
    Runner::new(store, saga)
        .options(options)
        .run(async {
            stop_signal().await;
        })
        .await?;
    eprintln!("worker {owner}: stopped");
    Ok(())
}

/// `sagas reset`: every partition of the saga starts again at the first
/// event, or at the last one readable now, while no worker runs.
pub(crate) async fn reset(db: &Database, partitions: u32, to_end: bool) -> Result<(), Failure> {
    let options = RunnerOptions::default().partitions(partitions);
    options
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    on_store!(db, |store| reset_on(store, options, to_end).await)
}

/// `sagas reset` on `store`.
async fn reset_on<S>(store: S, options: RunnerOptions, to_end: bool) -> Result<(), Failure>
where
    S: EventStore + Tracker + ReactorStore + DeadlineStore,
{
    let partitions = options.partitions;
    let runner = Runner::new(store.clone(), TransferSaga::new(repository(store))).options(options);
    let start = if to_end { Start::End } else { Start::Beginning };
    runner.reset(start).await?;
    println!(
        "the transfer saga's {partitions} partitions start at the {}",
        if to_end { "last event" } else { "first event" }
    );
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM, as service managers send it.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// How many parked events `sagas parked list` reads at a time.
const PARKED_PAGE: usize = 500;

/// A parked event as JSON (`event` fields null when its row is unreadable).
fn parked_json(p: &eventstore_core::reactor::ParkedEvent) -> serde_json::Value {
    json!({
        "position": p.position,
        "aggregate": p.event.as_ref().map(|e| format!("{}/{}", e.aggregate_kind, e.aggregate_id)),
        "kind": p.event.as_ref().map(|e| e.kind.clone()),
        "attempts": p.attempts,
        "error": p.error,
    })
}

/// `sagas parked ...`
pub(crate) async fn parked(db: &Database, command: ParkedCommand) -> Result<(), Failure> {
    on_store!(db, |store| parked_on(store, command).await)
}

/// `sagas parked ...` on `store`.
async fn parked_on<S>(store: S, command: ParkedCommand) -> Result<(), Failure>
where
    S: EventStore + Tracker + ReactorStore + DeadlineStore,
{
    let runner = Runner::new(store.clone(), TransferSaga::new(repository(store)));
    match command {
        ParkedCommand::List { output } => {
            // a page at a time: the list may be long
            let mut after = 0;
            let mut items = Vec::new();
            loop {
                let parked = runner.parked(after, PARKED_PAGE).await?;
                let Some(last) = parked.last() else { break };
                after = last.position;
                if output.json {
                    items.extend(parked.iter().map(parked_json));
                    continue;
                }
                let mut listed = table(["position", "aggregate", "kind", "attempts", "error"]);
                for p in parked {
                    let (aggregate, kind) = p.event.as_ref().map_or_else(
                        || ("(unreadable)".to_owned(), "-".to_owned()),
                        |e| {
                            (
                                format!("{}/{}", e.aggregate_kind, e.aggregate_id),
                                e.kind.clone(),
                            )
                        },
                    );
                    listed.add_row([
                        p.position.to_string(),
                        aggregate,
                        kind,
                        p.attempts.to_string(),
                        p.error,
                    ]);
                }
                println!("{}", listed.trim_fmt());
            }
            if output.json {
                println!("{}", serde_json::Value::Array(items));
            }
            Ok(())
        }
        ParkedCommand::Retry { position } => match runner.retry_parked(position).await? {
            RetryOutcome::Handled => {
                println!("position {position}: handled, no longer parked");
                Ok(())
            }
            RetryOutcome::FailedAgain { error } => Err(Failure::Failed(format!(
                "position {position}: failed again: {error}"
            ))),
            RetryOutcome::NotParked => Err(Failure::Failed(format!(
                "no parked event at position {position}"
            ))),
        },
        ParkedCommand::Skip { position } => {
            if runner.skip_parked(position).await? {
                println!("position {position}: skipped");
                Ok(())
            } else {
                Err(Failure::Failed(format!(
                    "no parked event at position {position}"
                )))
            }
        }
    }
}
