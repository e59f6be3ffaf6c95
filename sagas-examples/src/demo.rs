//! `sagas demo`: money transfers run by the transfer saga, in memory or on
//! PostgreSQL, two of them above the approval limit: one approved, one
//! left to its deadline, which fires when the demo moves its clock on (no
//! one sleeps).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventstore_core::reactor::{ReactorStore, Runner, RunnerOptions};
use eventstore_core::{
    Aggregate, Clock, DeadlineStore, ErasedRejection, EventStore, ManualClock, Options, Outcome,
    RecordedEvent, Repository, SharedClock, Tracker,
};
use eventstore_nats::{NatsOptions, NatsStore};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use futures_util::StreamExt as _;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{mpsc, oneshot};

use crate::account::{Account, AccountError, AccountEvent};
use crate::money::Money;
use crate::output::{table, utc};
use crate::saga::{TransferSaga, narrator};
use crate::transfer::{ApprovalPolicy, Transfer, TransferStatus};

/// How long the demo waits for its transfers to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// The store failed, or could not be set up.
    #[error(transparent)]
    Store(#[from] eventstore_core::Error),
    /// Writing the output failed.
    #[error("cannot write the demo's output")]
    Output(#[from] std::io::Error),
    /// The transfers did not settle in time.
    #[error("the transfers did not settle within {} s", .0.as_secs())]
    Unsettled(Duration),
}

/// The schema that `sagas demo --database-url` uses, and resets each run.
pub(crate) const POSTGRES_SCHEMA: &str = "sagas_demo";

/// A PostgreSQL store in [`POSTGRES_SCHEMA`], emptied and migrated.
///
/// # Errors
/// [`DemoError::Store`] when the database cannot be reached or migrated.
pub(crate) async fn fresh_postgres_store(url: &str) -> Result<PgEventStore, DemoError> {
    let options = PgStoreOptions::default()
        .schema(POSTGRES_SCHEMA)
        .max_connections(4);
    let store = PgEventStore::connect(url, options).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {POSTGRES_SCHEMA} CASCADE"))
        .execute(store.pool())
        .await
        .map_err(|e| eventstore_core::Error::backend("cannot empty the demo's schema", e))?;
    store.migrate().await?;
    Ok(store)
}

/// The stream that `sagas demo --store nats://...` uses (its buckets are
/// named after it), and deletes each run.
pub(crate) const NATS_STREAM: &str = "SAGAS_DEMO";

/// A JetStream store in [`NATS_STREAM`] and its buckets, deleted first.
///
/// # Errors
/// [`DemoError::Store`] when NATS cannot be reached or has no JetStream.
pub(crate) async fn fresh_nats_store(url: &str) -> Result<NatsStore, DemoError> {
    let options = NatsOptions::new(url)
        .stream(NATS_STREAM)
        .prefix("sagas_demo");
    let store = NatsStore::connect(options.clone()).await?;
    let js = store.jetstream();
    let buckets = format!("KV_{NATS_STREAM}_");
    let mut names = js.stream_names();
    let mut ours = vec![NATS_STREAM.to_owned()];
    while let Some(name) = names.next().await {
        let name =
            name.map_err(|e| eventstore_core::Error::backend("cannot list the streams", e))?;
        if name.starts_with(&buckets) {
            ours.push(name);
        }
    }
    for name in ours {
        js.delete_stream(&name)
            .await
            .map_err(|e| eventstore_core::Error::backend(format!("cannot delete {name}"), e))?;
    }
    Ok(NatsStore::connect(options).await?)
}

/// The accounts the demo opens.
const ACCOUNTS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// The transfers the demo starts: id, from, to, amount.
const TRANSFERS: [(&str, &str, &str, u64); 5] = [
    ("t-1", "alice", "bob", 30_00),
    ("t-2", "bob", "alice", 500_00),
    ("t-3", "alice", "carol", 10_00),
    ("t-4", "dave", "bob", 1_500_00),
    ("t-5", "dave", "alice", 2_000_00),
];

/// Transfers above 1,000.00 wait 10 minutes for an approval.
const APPROVALS: ApprovalPolicy = ApprovalPolicy {
    limit: 1_000_00,
    timeout: Duration::from_secs(600),
};

/// Runs the demo on `store` (which should hold none of its accounts and
/// transfers), writing its story to `out`.
///
/// # Errors
/// [`DemoError`] when the store or the output fails; domain rejections are
/// part of the story, not errors.
pub(crate) async fn run<S>(store: S, out: &mut impl Write) -> Result<(), DemoError>
where
    S: EventStore + DeadlineStore + Tracker + ReactorStore,
{
    let repo = Repository::new(store.clone());
    let mut step = Step { repo: &repo, out };

    step.title("opening accounts; carol's is frozen")?;
    for (id, owner, balance) in [
        ("alice", "Alice Liddell", 100_00),
        ("bob", "Bob Marley", 50_00),
        ("carol", "Carol Danvers", 20_00),
        ("dave", "Dave Grohl", 5_000_00),
    ] {
        let what = format!("open with {}", Money(balance));
        step.account(id, &what, Options::default(), |a| a.open(owner, balance))
            .await?;
    }
    step.account("carol", "freeze", Options::default(), |a| {
        a.freeze("suspicious activity")
    })
    .await?;

    step.title("starting transfers; above 1,000.00 they wait 10 minutes for an approval")?;
    for (id, from, to, amount) in TRANSFERS {
        let what = format!("{from} -> {to} {}", Money(amount));
        let start = |t: &Transfer| t.start_with(from, to, amount, &APPROVALS);
        let result = describe(repo.execute(id, Options::default(), start).await?);
        writeln!(step.out, "  {id:<6} {what:<26} {result}")?;
    }

    // the demo's clock: it moves only when the demo says so
    let clock = ManualClock::default();
    step.title(&format!(
        "the transfer saga runs (the clock reads {})",
        utc(clock.now())
    ))?;
    let mut saga = Saga::start(&store, &repo, &clock);
    saga.wait(&repo, step.out, |s| {
        s.is_settled() || s == TransferStatus::AwaitingApproval
    })
    .await?;

    step.title("an operator approves t-4 and leaves t-5")?;
    let approve = describe(
        repo.execute("t-4", Options::default(), Transfer::approve)
            .await?,
    );
    writeln!(step.out, "  t-4    approve                    {approve}")?;
    saga.wait(&repo, step.out, |s| s != TransferStatus::Approved)
        .await?;

    step.title("ten minutes later (the demo moves its clock on; nobody sleeps)")?;
    clock.advance(APPROVALS.timeout);
    writeln!(step.out, "  the clock reads {}", utc(clock.now()))?;
    saga.wait(&repo, step.out, TransferStatus::is_settled)
        .await?;
    saga.stop(step.out).await?;

    step.title("a saga step delivered again")?;
    step.account(
        "alice",
        "withdraw 30.00 (Transfer/t-1/withdraw)",
        Options::idempotent("Transfer/t-1/withdraw"),
        |a| a.withdraw(30_00, "t-1"),
    )
    .await?;

    step.title("transfers")?;
    let mut transfers = table(["transfer", "from", "to", "amount", "status", "failure"]);
    for (id, ..) in TRANSFERS {
        let t = repo.load::<Transfer>(id).await?.state;
        transfers.add_row([
            id.to_owned(),
            t.from.clone(),
            t.to.clone(),
            Money(t.amount).to_string(),
            t.status.to_string(),
            t.failure.clone().unwrap_or_default(),
        ]);
    }
    writeln!(step.out, "{}", transfers.trim_fmt())?;

    step.title("event log")?;
    let mut events: Vec<RecordedEvent> = Vec::new();
    for id in ACCOUNTS {
        events.extend(store.load(Account::KIND, id, 0).await?);
    }
    for (id, ..) in TRANSFERS {
        events.extend(store.load(Transfer::KIND, id, 0).await?);
    }
    events.sort_by_key(|e| e.position);
    let mut log = table(["pos", "aggregate", "ver", "kind", "body"]);
    for e in events {
        log.add_row([
            e.position.to_string(),
            format!("{}/{}", e.aggregate_kind, e.aggregate_id),
            e.version.to_string(),
            e.kind.clone(),
            e.body.to_string(),
        ]);
    }
    writeln!(step.out, "{}", log.trim_fmt())?;

    step.title("balances")?;
    let mut balances = table(["account", "owner", "status", "balance", "version"]);
    for id in ACCOUNTS {
        let loaded = repo.load::<Account>(id).await?;
        balances.add_row([
            id.to_owned(),
            loaded.state.owner_name().to_owned(),
            loaded.state.status.to_string(),
            Money(loaded.state.balance).to_string(),
            loaded.version.to_string(),
        ]);
    }
    writeln!(step.out, "{}", balances.trim_fmt())?;
    Ok(())
}

/// The transfer saga, running on the demo's clock, and the lines it tells.
struct Saga {
    stop: oneshot::Sender<()>,
    running: tokio::task::JoinHandle<eventstore_core::Result<()>>,
    lines: UnboundedReceiver<String>,
}

impl Saga {
    /// Starts a runner of the saga over `store`, on `clock`.
    fn start<S>(store: &S, repo: &Repository<S>, clock: &ManualClock) -> Self
    where
        S: EventStore + DeadlineStore + Tracker + ReactorStore,
    {
        let clock: SharedClock = Arc::new(clock.clone());
        let (told, lines) = mpsc::unbounded_channel();
        let saga = TransferSaga::new(repo.clone())
            .clock(Arc::clone(&clock))
            .observe(narrator(Some(told)));
        let runner = Runner::new(store.clone(), saga)
            .clock(clock)
            .options(RunnerOptions::default().poll_interval(Duration::from_millis(20)));
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        Self {
            stop,
            running,
            lines,
        }
    }

    /// Writes what the saga does until every demo transfer is in a status
    /// that `done` accepts.
    async fn wait<S: EventStore>(
        &mut self,
        repo: &Repository<S>,
        out: &mut impl Write,
        done: impl Fn(TransferStatus) -> bool,
    ) -> Result<(), DemoError> {
        let started = Instant::now();
        loop {
            while let Ok(line) = self.lines.try_recv() {
                writeln!(out, "  {line}")?;
            }
            if all_are(repo, &done).await? {
                return Ok(());
            }
            if started.elapsed() > SETTLE_LIMIT {
                return Err(DemoError::Unsettled(SETTLE_LIMIT));
            }
            let next = tokio::time::timeout(Duration::from_millis(20), self.lines.recv()).await;
            if let Ok(Some(line)) = next {
                writeln!(out, "  {line}")?;
            }
        }
    }

    /// Stops the runner, then writes what the saga did that was not
    /// written yet: a step's line is sent after its outcome is recorded,
    /// so the last one may come after the wait saw every transfer settled.
    async fn stop(mut self, out: &mut impl Write) -> Result<(), DemoError> {
        let _ = self.stop.send(());
        if let Ok(ran) = self.running.await {
            ran?;
        }
        while let Ok(line) = self.lines.try_recv() {
            writeln!(out, "  {line}")?;
        }
        Ok(())
    }
}

/// Whether every demo transfer is in a status that `done` accepts.
async fn all_are<S: EventStore>(
    repo: &Repository<S>,
    done: impl Fn(TransferStatus) -> bool,
) -> Result<bool, DemoError> {
    for (id, ..) in TRANSFERS {
        if !done(repo.load::<Transfer>(id).await?.state.status) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One line for what a command did.
fn describe<D: std::fmt::Display>(outcome: Outcome<D>) -> String {
    match outcome {
        Outcome::Done(c) => format!("done, now at version {}", c.version),
        Outcome::AlreadyApplied => "already applied: nothing written".to_owned(),
        Outcome::Rejected(error) => format!("rejected: {error}"),
        Outcome::AlreadyRejected(Some(error)) => format!("rejected before: {error}"),
        Outcome::AlreadyRejected(None) => format!("rejected before: {ErasedRejection}"),
    }
}

/// Runs account commands and tells what each one did.
struct Step<'a, S, W> {
    repo: &'a Repository<S>,
    out: &'a mut W,
}

impl<S: EventStore, W: Write> Step<'_, S, W> {
    fn title(&mut self, title: &str) -> std::io::Result<()> {
        writeln!(self.out, "\n== {title}")
    }

    async fn account(
        &mut self,
        id: &str,
        what: &str,
        options: Options,
        decide: impl FnMut(&Account) -> Result<Vec<AccountEvent>, AccountError>,
    ) -> Result<(), DemoError> {
        let result = describe(self.repo.execute(id, options, decide).await?);
        writeln!(self.out, "  {id:<6} {what:<26} {result}")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use eventstore_core::MemoryStore;

    use super::*;
    use crate::transfer::TransferStatus;

    /// The balances of [`ACCOUNTS`] after a run.
    async fn final_balances<S: EventStore>(store: &S) -> Result<Vec<u64>, DemoError> {
        let repo = Repository::new(store.clone());
        let mut balances = Vec::new();
        for id in ACCOUNTS {
            balances.push(repo.load::<Account>(id).await?.state.balance);
        }
        Ok(balances)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_the_transfers_approves_one_times_one_out_and_keeps_the_money() {
        let store = MemoryStore::new();
        let mut out = Vec::new();
        run(store.clone(), &mut out).await.expect("demo runs");
        let text = String::from_utf8(out).expect("utf-8");
        for line in [
            "t-1: withdrew 30.00 from alice",
            "t-1: deposited 30.00 to bob",
            "t-1: completed",
            "t-2: bob refused the withdrawal: insufficient funds: the balance is 80.00, 500.00 was requested",
            "t-3: carol refused the deposit: the account is frozen",
            "t-3: refunded 10.00 to alice",
            "already applied: nothing written",
            "t-2       bob    alice  500.00   failed            insufficient funds",
            "t-3       alice  carol  10.00    failed, refunded  the account is frozen",
            "carol    Carol Danvers  frozen  20.00",
            "t-4: withdrew 1500.00 from dave",
            "t-4: waits for an approval until 2026-01-01 00:10:00 UTC",
            "t-4    approve                    done",
            "t-4: deposited 1500.00 to bob",
            "the clock reads 2026-01-01 00:10:00 UTC",
            "t-5: refunded 2000.00 to dave",
            "t-5       dave   alice  2000.00  failed, refunded  not approved in time",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        for debug in ["Failed {", "minor units"] {
            assert!(!text.contains(debug), "{debug:?} in\n{text}");
        }
        assert_eq!(
            final_balances(&store).await.expect("balances"),
            [7_000, 158_000, 2_000, 350_000]
        );
        let repo = Repository::new(store);
        let status = |id| {
            let repo = repo.clone();
            async move { repo.load::<Transfer>(id).await.expect("load").state.status }
        };
        assert_eq!(status("t-1").await, TransferStatus::Completed);
        assert_eq!(
            status("t-2").await,
            TransferStatus::Failed { refunded: false }
        );
        assert_eq!(
            status("t-3").await,
            TransferStatus::Failed { refunded: true }
        );
        assert_eq!(status("t-4").await, TransferStatus::Completed);
        assert_eq!(
            status("t-5").await,
            TransferStatus::Failed { refunded: true }
        );
    }
}
