//! `sagas demo`: money transfers run by the transfer saga, in memory or on
//! PostgreSQL.

use std::io::Write;
use std::time::{Duration, Instant};

use eventstore_core::reactor::{ReactorStore, Runner, RunnerOptions};
use eventstore_core::{
    Aggregate, ErasedRejection, EventStore, Options, Outcome, RecordedEvent, Repository, Tracker,
};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use tokio::sync::{mpsc, oneshot};

use crate::account::{Account, AccountError, AccountEvent};
use crate::money::Money;
use crate::output::table;
use crate::saga::{TransferSaga, narrator};
use crate::transfer::Transfer;

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

/// The accounts the demo opens.
const ACCOUNTS: [&str; 3] = ["alice", "bob", "carol"];

/// The transfers the demo starts: id, from, to, amount.
const TRANSFERS: [(&str, &str, &str, u64); 3] = [
    ("t-1", "alice", "bob", 30_00),
    ("t-2", "bob", "alice", 500_00),
    ("t-3", "alice", "carol", 10_00),
];

/// Runs the demo on `store` (which should hold none of its accounts and
/// transfers), writing its story to `out`.
///
/// # Errors
/// [`DemoError`] when the store or the output fails; domain rejections are
/// part of the story, not errors.
pub(crate) async fn run<S>(store: S, out: &mut impl Write) -> Result<(), DemoError>
where
    S: EventStore + Tracker + ReactorStore,
{
    let repo = Repository::new(store.clone());
    let mut step = Step { repo: &repo, out };

    step.title("opening accounts; carol's is frozen")?;
    for (id, owner, balance) in [
        ("alice", "Alice Liddell", 100_00),
        ("bob", "Bob Marley", 50_00),
        ("carol", "Carol Danvers", 20_00),
    ] {
        let what = format!("open with {}", Money(balance));
        step.account(id, &what, Options::default(), |a| a.open(owner, balance))
            .await?;
    }
    step.account("carol", "freeze", Options::default(), |a| {
        a.freeze("suspicious activity")
    })
    .await?;

    step.title("starting transfers")?;
    for (id, from, to, amount) in TRANSFERS {
        let what = format!("{from} -> {to} {}", Money(amount));
        let start = |t: &Transfer| t.start(from, to, amount);
        let result = describe(repo.execute(id, Options::default(), start).await?);
        writeln!(step.out, "  {id:<6} {what:<26} {result}")?;
    }

    step.title("the transfer saga runs")?;
    settle(&store, &repo, step.out).await?;

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

/// Runs the saga until every demo transfer has settled, writing each step
/// as it is taken.
async fn settle<S>(store: &S, repo: &Repository<S>, out: &mut impl Write) -> Result<(), DemoError>
where
    S: EventStore + Tracker + ReactorStore,
{
    let (lines, mut steps) = mpsc::unbounded_channel();
    let saga = TransferSaga::new(repo.clone()).observe(narrator(Some(lines)));
    let runner = Runner::new(store.clone(), saga)
        .options(RunnerOptions::default().poll_interval(Duration::from_millis(20)));
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let started = Instant::now();
    let settled = loop {
        while let Ok(line) = steps.try_recv() {
            writeln!(out, "  {line}")?;
        }
        if all_settled(repo).await? {
            break true;
        }
        if started.elapsed() > SETTLE_LIMIT {
            break false;
        }
        if let Ok(Some(line)) = tokio::time::timeout(Duration::from_millis(20), steps.recv()).await
        {
            writeln!(out, "  {line}")?;
        }
    };
    let _ = stop.send(());
    if let Ok(ran) = running.await {
        ran?;
    }
    while let Ok(line) = steps.try_recv() {
        writeln!(out, "  {line}")?;
    }
    if settled {
        Ok(())
    } else {
        Err(DemoError::Unsettled(SETTLE_LIMIT))
    }
}

async fn all_settled<S: EventStore>(repo: &Repository<S>) -> Result<bool, DemoError> {
    for (id, ..) in TRANSFERS {
        if !repo.load::<Transfer>(id).await?.state.status.is_settled() {
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
    async fn runs_the_three_transfers_and_keeps_the_money() {
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
            "t-2       bob    alice  500.00  failed            insufficient funds",
            "t-3       alice  carol  10.00   failed, refunded  the account is frozen",
            "carol    Carol Danvers  frozen  20.00",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        for debug in ["Failed {", "minor units"] {
            assert!(!text.contains(debug), "{debug:?} in\n{text}");
        }
        assert_eq!(
            final_balances(&store).await.expect("balances"),
            [70_00, 80_00, 20_00]
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
    }
}
