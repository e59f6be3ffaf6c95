//! cqrs-es 0.5 with postgres-es: its own pool (sqlx's defaults, as
//! `default_postgress_pool` builds it), its own tables (`sql/cqrs_es.sql`,
//! from its `db/init.sql`) in the schema `peers_cqrs`, and the framework
//! from `postgres_cqrs` (events only), or `postgres_snapshot_cqrs` with
//! snapshots every 100 events in case c.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, AggregateError, DomainEvent};
use postgres_es::{PostgresCqrs, postgres_cqrs, postgres_snapshot_cqrs};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{AMOUNT, Attempts, MAX_ATTEMPTS, Overflow, PREPARED_EVENTS, SNAPSHOT_EVERY, Setup};
use crate::Result;
use crate::case::Case;

pub(super) const SCHEMA: &str = "peers_cqrs";
/// The tables to analyze.
pub(super) const TABLES: &str = "peers_cqrs.events, peers_cqrs.snapshots";

/// A counter.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Counter {
    value: u64,
}

/// The counter's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CounterEvent {
    /// The counter was incremented by `amount`.
    Incremented {
        /// By how much.
        amount: u64,
    },
}

impl DomainEvent for CounterEvent {
    fn event_type(&self) -> String {
        match self {
            CounterEvent::Incremented { .. } => "Incremented".to_owned(),
        }
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// The counter's commands.
pub(crate) enum CounterCommand {
    /// Add `amount`.
    Increment {
        /// How much.
        amount: u64,
    },
    /// Decide the prepared aggregate's events at once.
    Prepare,
}

impl Aggregate for Counter {
    const TYPE: &'static str = "Counter";
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = Overflow;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            CounterCommand::Increment { amount } => {
                self.value.checked_add(amount).ok_or(Overflow)?;
                sink.write(CounterEvent::Incremented { amount }, self).await;
            }
            CounterCommand::Prepare => {
                for _ in 0..PREPARED_EVENTS {
                    sink.write(CounterEvent::Incremented { amount: AMOUNT }, self)
                        .await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CounterEvent::Incremented { amount } => self.value += amount,
        }
    }
}

/// cqrs-es's framework and its pool.
pub(crate) struct Cqrs {
    cqrs: PostgresCqrs<Counter>,
    pub(super) pool: PgPool,
}

impl Cqrs {
    pub(super) async fn open(setup: &Setup, case: Case) -> Result<Self> {
        setup.fresh_schema(SCHEMA).await?;
        let pool = setup.peer_pool(SCHEMA).await?;
        sqlx::raw_sql(include_str!("../../sql/cqrs_es.sql"))
            .execute(&pool)
            .await?;
        let cqrs = match case {
            Case::Growing => {
                postgres_snapshot_cqrs(pool.clone(), vec![], SNAPSHOT_EVERY as usize, ())
            }
            Case::New | Case::Hundred => postgres_cqrs(pool.clone(), vec![], ()),
        };
        Ok(Self { cqrs, pool })
    }

    /// One command, tried again (at once) when another writer got in
    /// first, as an application must do with cqrs-es.
    pub(super) async fn command(&self, id: &str) -> Result<Attempts> {
        for attempt in 1..=MAX_ATTEMPTS {
            let command = CounterCommand::Increment { amount: AMOUNT };
            match self.cqrs.execute(id, command).await {
                Ok(()) => return Ok(Attempts::Done(attempt)),
                Err(AggregateError::AggregateConflict) => {}
                Err(error) => return Err(format!("cqrs-es on {id}: {error}").into()),
            }
        }
        Ok(Attempts::GaveUp(MAX_ATTEMPTS))
    }

    pub(super) async fn prepare(&self, id: &str) -> Result<()> {
        self.cqrs
            .execute(id, CounterCommand::Prepare)
            .await
            .map_err(|e| format!("cqrs-es preparing {id}: {e}").into())
    }
}

pub(super) async fn reset(setup: &Setup) -> Result<()> {
    setup
        .reset(
            &format!("DELETE FROM {SCHEMA}.events WHERE sequence > {PREPARED_EVENTS}"),
            &format!("{SCHEMA}.events"),
        )
        .await
}
