//! `sagas demo`: the money-transfer domain, in memory or on PostgreSQL.

use std::io::Write;

use eventstore_core::{EventStore, Options, Outcome, RecordedEvent, Repository};
use eventstore_postgres::{PgEventStore, PgStoreOptions};

use crate::account::{Account, AccountError};
use crate::table::Table;

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] eventstore_core::Error),
    /// The PostgreSQL store could not be set up.
    #[error(transparent)]
    Postgres(#[from] eventstore_postgres::Error),
    /// Writing the output failed.
    #[error("cannot write the demo's output")]
    Output(#[from] std::io::Error),
}

/// Formats minor units as units and cents.
///
/// ```
/// assert_eq!(sagas_examples::demo::money(12_345), "123.45");
/// ```
#[must_use]
pub fn money(minor_units: u64) -> String {
    format!("{}.{:02}", minor_units / 100, minor_units % 100)
}

/// The schema that `sagas demo --database-url` uses, and resets each run.
pub const POSTGRES_SCHEMA: &str = "sagas_demo";

/// A PostgreSQL store in [`POSTGRES_SCHEMA`], emptied and migrated.
///
/// # Errors
/// [`DemoError::Postgres`] when the database cannot be reached or migrated.
pub async fn fresh_postgres_store(url: &str) -> Result<PgEventStore, DemoError> {
    let options = PgStoreOptions::new()
        .schema(POSTGRES_SCHEMA)
        .max_connections(2);
    let store = PgEventStore::connect(url, options).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {POSTGRES_SCHEMA} CASCADE"))
        .execute(store.pool())
        .await
        .map_err(eventstore_postgres::Error::Database)?;
    store.migrate().await?;
    Ok(store)
}

/// The accounts the demo opens.
pub const ACCOUNTS: [&str; 3] = ["alice", "bob", "carol"];

/// Runs the demo on `store` (which should hold none of [`ACCOUNTS`]),
/// writing its story to `out`.
///
/// # Errors
/// [`DemoError`] when the store or the output fails; domain rejections are
/// part of the story, not errors.
pub async fn run<S: EventStore>(store: S, out: &mut impl Write) -> Result<(), DemoError> {
    let repo = Repository::new(store.clone());
    let mut step = Step { repo: &repo, out };

    step.title("opening accounts")?;
    for (id, owner, balance) in [
        ("alice", "Alice Liddell", 100_00),
        ("bob", "Bob Marley", 50_00),
        ("carol", "Carol Danvers", 20_00),
    ] {
        step.run(
            id,
            &format!("open with {}", money(balance)),
            Options::default(),
            |a| a.open(owner, balance),
        )
        .await?;
    }

    step.title("moving 30.00 from alice to bob (transaction t-1)")?;
    step.run(
        "alice",
        "withdraw 30.00",
        Options::idempotent("t-1/withdraw"),
        |a| a.withdraw(30_00, "t-1"),
    )
    .await?;
    step.run(
        "bob",
        "deposit 30.00",
        Options::idempotent("t-1/deposit"),
        |a| a.deposit(30_00, "t-1"),
    )
    .await?;

    step.title("the same withdrawal delivered again")?;
    step.run(
        "alice",
        "withdraw 30.00",
        Options::idempotent("t-1/withdraw"),
        |a| a.withdraw(30_00, "t-1"),
    )
    .await?;

    step.title("bob tries to withdraw 500.00")?;
    step.run(
        "bob",
        "withdraw 500.00",
        Options::idempotent("t-2/withdraw"),
        |a| a.withdraw(500_00, "t-2"),
    )
    .await?;

    step.title("carol's account is frozen, then a deposit to it is tried")?;
    step.run("carol", "freeze", Options::default(), |a| {
        a.freeze("suspicious activity")
    })
    .await?;
    step.run(
        "carol",
        "deposit 5.00",
        Options::idempotent("t-3/deposit"),
        |a| a.deposit(5_00, "t-3"),
    )
    .await?;

    step.title("event log")?;
    let mut events: Vec<RecordedEvent> = Vec::new();
    for id in ACCOUNTS {
        events.extend(store.load("Account", id, 0).await?);
    }
    events.sort_by_key(|e| e.position);
    let mut log = Table::new(["pos", "aggregate", "ver", "kind", "body"]);
    for e in events {
        log.push([
            e.position.to_string(),
            format!("{}/{}", e.aggregate_kind, e.aggregate_id),
            e.version.to_string(),
            e.kind.clone(),
            e.body.to_string(),
        ]);
    }
    write!(step.out, "{log}")?;

    step.title("balances")?;
    let mut balances = Table::new(["account", "owner", "status", "balance", "version"]);
    for id in ACCOUNTS {
        let loaded = repo.load::<Account>(id).await?;
        balances.push([
            id.to_owned(),
            loaded.state.owner.clone(),
            format!("{:?}", loaded.state.status),
            money(loaded.state.balance),
            loaded.version.to_string(),
        ]);
    }
    write!(step.out, "{balances}")?;
    Ok(())
}

/// Runs commands and tells what each one did.
struct Step<'a, S, W> {
    repo: &'a Repository<S>,
    out: &'a mut W,
}

impl<S: EventStore, W: Write> Step<'_, S, W> {
    fn title(&mut self, title: &str) -> std::io::Result<()> {
        writeln!(self.out, "\n== {title}")
    }

    async fn run(
        &mut self,
        id: &str,
        what: &str,
        options: Options,
        decide: impl FnMut(&Account) -> Result<Vec<crate::account::AccountEvent>, AccountError>,
    ) -> Result<(), DemoError> {
        let result = match self.repo.execute(id, options, decide).await? {
            Outcome::Done(c) => format!("done, now at version {}", c.version),
            Outcome::AlreadyApplied => "already applied: nothing written".to_owned(),
            Outcome::Rejected(error) => format!("rejected: {error}"),
        };
        writeln!(self.out, "  {id:<6} {what:<20} {result}")?;
        Ok(())
    }
}

/// The balances of [`ACCOUNTS`] after a run, for checks.
///
/// # Errors
/// When the store fails.
pub async fn final_balances<S: EventStore>(store: &S) -> Result<Vec<u64>, DemoError> {
    let repo = Repository::new(store.clone());
    let mut balances = Vec::new();
    for id in ACCOUNTS {
        balances.push(repo.load::<Account>(id).await?.state.balance);
    }
    Ok(balances)
}

#[cfg(test)]
mod tests {
    use eventstore_core::MemoryStore;

    use super::*;

    #[tokio::test]
    async fn tells_the_story_and_keeps_the_money() {
        let store = MemoryStore::new();
        let mut out = Vec::new();
        run(store.clone(), &mut out).await.expect("demo runs");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("already applied: nothing written"), "{text}");
        assert!(text.contains("rejected: insufficient funds"), "{text}");
        assert!(text.contains("rejected: the account is frozen"), "{text}");
        assert_eq!(
            final_balances(&store).await.expect("balances"),
            [70_00, 80_00, 20_00]
        );
        assert_eq!(
            store.all_events().len(),
            6,
            "3 opens, 1 withdraw, 1 deposit, 1 freeze"
        );
    }
}
