//! This project: `Repository::execute` on a `PgEventStore` from
//! `PgEventStore::connect` with default options (its own pool), tables
//! created by its `migrate`; case c snapshots every 100 versions.

use eventstore_core::{Aggregate, Error, Event, Options, Outcome, Repository};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use serde::{Deserialize, Serialize};

use super::{AMOUNT, Attempts, Overflow, PREPARED_EVENTS, SNAPSHOT_EVERY, Setup};
use crate::Result;
use crate::case::Case;

pub(super) const SCHEMA: &str = "peers_eventstore";
/// The tables to analyze.
pub(super) const TABLES: &str = "peers_eventstore.events, peers_eventstore.snapshots";

/// The counter was incremented.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Incremented {
    /// By how much.
    pub(crate) amount: u64,
}

/// The counter's events.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CounterEvent {
    /// See [`Incremented`].
    Incremented(Incremented),
}

/// A counter.
#[derive(Aggregate, Default, Serialize, Deserialize, Debug)]
#[aggregate(kind = "Counter", event = CounterEvent)]
pub(crate) struct Counter {
    /// The sum of the increments.
    value: u64,
}

impl CounterEventHandler for Counter {
    fn on_incremented(&mut self, e: &Incremented) {
        self.value += e.amount;
    }
}

impl Counter {
    /// Adds `amount`.
    fn increment(&self, amount: u64) -> Result<Vec<CounterEvent>, Overflow> {
        self.value.checked_add(amount).ok_or(Overflow)?;
        Ok(vec![Incremented { amount }.into()])
    }

    /// The prepared aggregate's events, decided at once.
    fn prepare(&self) -> Result<Vec<CounterEvent>, Overflow> {
        Ok((0..PREPARED_EVENTS)
            .map(|_| Incremented { amount: AMOUNT }.into())
            .collect())
    }
}

/// This project's repository.
pub(crate) struct Ours {
    repo: Repository<PgEventStore>,
}

impl Ours {
    pub(super) async fn open(setup: &Setup, case: Case) -> Result<Self> {
        sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            .execute(&setup.admin)
            .await?;
        let store =
            PgEventStore::connect(&setup.url, PgStoreOptions::default().schema(SCHEMA)).await?;
        store.migrate().await?;
        let repo = match case {
            Case::Growing => Repository::new(store).snapshot_every_for::<Counter>(SNAPSHOT_EVERY),
            Case::New | Case::Hundred => Repository::new(store),
        };
        Ok(Self { repo })
    }

    pub(super) async fn command(&self, id: &str) -> Result<Attempts> {
        let outcome = self
            .repo
            .execute(id, Options::default(), |c: &Counter| c.increment(AMOUNT))
            .await;
        match outcome {
            Ok(Outcome::Done(committed)) => Ok(Attempts::Done(committed.attempts)),
            Err(Error::Conflict { attempts, .. }) => Ok(Attempts::GaveUp(attempts)),
            Ok(other) => Err(format!("unexpected outcome on {id}: {other:?}").into()),
            Err(error) => Err(error.into()),
        }
    }

    pub(super) async fn prepare(&self, id: &str) -> Result<()> {
        self.repo
            .execute(id, Options::default().expect_new(), Counter::prepare)
            .await?
            .into_result()?;
        Ok(())
    }

    pub(super) async fn close(&self) {
        self.repo.store().pool().close().await;
    }
}

pub(super) async fn reset(setup: &Setup) -> Result<()> {
    setup
        .reset(
            &format!("DELETE FROM {SCHEMA}.events WHERE version > {PREPARED_EVENTS}"),
            &format!("{SCHEMA}.events"),
        )
        .await
}
