//! disintegrate 4 with disintegrate-postgres: its own pool (sqlx's
//! defaults, as its examples build it with `PgPool::connect_with`), its own
//! tables and functions (`PgEventStore::try_new`, and in case c
//! `PgSnapshotter::try_new`) in the schema `peers_disintegrate`, and a
//! decision maker from `decision_maker`, with `NoSnapshot`, or in case c
//! `WithSnapshot` storing a snapshot every 100 events.

use std::sync::atomic::{AtomicI64, Ordering};

use disintegrate::serde::json::Json;
use disintegrate::{
    Decision, DecisionError, Event, NoSnapshot, StateMutate, StateQuery, WithSnapshot,
};
use disintegrate_postgres::{
    Error as PgError, PgDecisionMaker, PgEventStore, PgSnapshotter, WithPgSnapshot, decision_maker,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::{AMOUNT, Attempts, MAX_ATTEMPTS, Overflow, PREPARED_EVENTS, SNAPSHOT_EVERY, Setup};
use crate::Result;
use crate::case::Case;

pub(super) const SCHEMA: &str = "peers_disintegrate";

/// The events; the counter's stream is the `Incremented` events that carry
/// its id.
#[derive(Debug, Clone, PartialEq, Eq, Event, Serialize, Deserialize)]
#[stream(CounterEvent, [Incremented])]
pub(crate) enum DomainEvent {
    /// The counter was incremented by `amount`.
    Incremented {
        /// Which counter.
        #[id]
        counter_id: String,
        /// By how much.
        amount: u64,
    },
}

/// A counter, the state a decision queries.
#[derive(Default, StateQuery, Clone, Serialize, Deserialize)]
#[state_query(CounterEvent)]
pub(crate) struct Counter {
    #[id]
    counter_id: String,
    value: u64,
}

impl StateMutate for Counter {
    fn mutate(&mut self, event: Self::Event) {
        match event {
            CounterEvent::Incremented { amount, .. } => self.value += amount,
        }
    }
}

/// Add `amount` to the counter.
struct Increment {
    counter_id: String,
    amount: u64,
}

impl Decision for Increment {
    type Event = DomainEvent;
    type StateQuery = Counter;
    type Error = Overflow;

    fn state_query(&self) -> Self::StateQuery {
        Counter {
            counter_id: self.counter_id.clone(),
            ..Counter::default()
        }
    }

    fn process(&self, state: &Self::StateQuery) -> Result<Vec<Self::Event>, Self::Error> {
        state.value.checked_add(self.amount).ok_or(Overflow)?;
        Ok(vec![DomainEvent::Incremented {
            counter_id: self.counter_id.clone(),
            amount: self.amount,
        }])
    }
}

/// Decide the prepared aggregate's events at once.
struct Prepare {
    counter_id: String,
}

impl Decision for Prepare {
    type Event = DomainEvent;
    type StateQuery = Counter;
    type Error = Overflow;

    fn state_query(&self) -> Self::StateQuery {
        Counter {
            counter_id: self.counter_id.clone(),
            ..Counter::default()
        }
    }

    fn process(&self, _state: &Self::StateQuery) -> Result<Vec<Self::Event>, Self::Error> {
        Ok((0..PREPARED_EVENTS)
            .map(|_| DomainEvent::Incremented {
                counter_id: self.counter_id.clone(),
                amount: AMOUNT,
            })
            .collect())
    }
}

type Store = Json<DomainEvent>;

/// The decision maker, with or without snapshots.
enum Maker {
    Plain(PgDecisionMaker<DomainEvent, Store, NoSnapshot>),
    Snapshots(PgDecisionMaker<DomainEvent, Store, WithPgSnapshot>),
}

/// disintegrate's decision maker and its pool.
pub(crate) struct Disintegrate {
    maker: Maker,
    pub(super) pool: PgPool,
    /// The last event id before the timed part (case b's reset deletes the
    /// events after it).
    prepared_up_to: AtomicI64,
}

impl Disintegrate {
    pub(super) async fn open(setup: &Setup, case: Case) -> Result<Self> {
        setup.fresh_schema(SCHEMA).await?;
        let pool = setup.peer_pool(SCHEMA).await?;
        let event_store = PgEventStore::try_new(pool.clone(), Json::default()).await?;
        let maker = match case {
            Case::Growing => {
                let snapshotter = PgSnapshotter::try_new(pool.clone(), SNAPSHOT_EVERY).await?;
                Maker::Snapshots(decision_maker(event_store, WithSnapshot::new(snapshotter)))
            }
            Case::New | Case::Hundred => Maker::Plain(decision_maker(event_store, NoSnapshot)),
        };
        Ok(Self {
            maker,
            pool,
            prepared_up_to: AtomicI64::new(0),
        })
    }

    async fn make<D>(&self, decision: D) -> Result<(), DecisionError<Overflow>>
    where
        D: Decision<Event = DomainEvent, StateQuery = Counter, Error = Overflow>,
    {
        match &self.maker {
            Maker::Plain(maker) => maker.make(decision).await.map(drop),
            Maker::Snapshots(maker) => maker.make(decision).await.map(drop),
        }
    }

    /// One command, tried again (at once) on a concurrency error: the
    /// event store's own check, or PostgreSQL's serialization failure in
    /// its serializable transaction, as an application must do.
    pub(super) async fn command(&self, id: &str) -> Result<Attempts> {
        self.retrying(id, || Increment {
            counter_id: id.to_owned(),
            amount: AMOUNT,
        })
        .await
    }

    pub(super) async fn prepare(&self, id: &str) -> Result<()> {
        let prepare = || Prepare {
            counter_id: id.to_owned(),
        };
        match self.retrying(id, prepare).await? {
            Attempts::Done(_) => Ok(()),
            Attempts::GaveUp(n) => {
                Err(format!("disintegrate: preparing {id} lost {n} races").into())
            }
        }
    }

    async fn retrying<D>(&self, id: &str, decision: impl Fn() -> D) -> Result<Attempts>
    where
        D: Decision<Event = DomainEvent, StateQuery = Counter, Error = Overflow>,
    {
        for attempt in 1..=MAX_ATTEMPTS {
            match self.make(decision()).await {
                Ok(()) => return Ok(Attempts::Done(attempt)),
                Err(error) if is_conflict(&error) => {}
                Err(error) => return Err(format!("disintegrate on {id}: {error:?}").into()),
            }
        }
        Ok(Attempts::GaveUp(MAX_ATTEMPTS))
    }

    pub(super) async fn ready(&self, setup: &Setup) -> Result<()> {
        let tables = match self.maker {
            Maker::Plain(_) => format!("{SCHEMA}.event"),
            Maker::Snapshots(_) => format!("{SCHEMA}.event, {SCHEMA}.snapshot"),
        };
        setup.analyze(&tables).await?;
        let last: i64 = sqlx::query_scalar(&format!(
            "SELECT coalesce(max(event_id), 0) FROM {SCHEMA}.event"
        ))
        .fetch_one(&setup.admin)
        .await?;
        self.prepared_up_to.store(last, Ordering::Relaxed);
        Ok(())
    }

    pub(super) async fn reset(&self, setup: &Setup) -> Result<()> {
        let last = self.prepared_up_to.load(Ordering::Relaxed);
        setup
            .reset(
                &format!("DELETE FROM {SCHEMA}.event WHERE event_id > {last}"),
                &format!("{SCHEMA}.event"),
            )
            .await
    }
}

/// Whether a failed decision lost a race with another writer.
fn is_conflict(error: &DecisionError<Overflow>) -> bool {
    let (DecisionError::StateStore(source) | DecisionError::EventStore(source)) = error else {
        return false;
    };
    match source.downcast_ref::<PgError>() {
        Some(PgError::Concurrency) => true,
        Some(PgError::Database(sqlx::Error::Database(e))) => e.code().as_deref() == Some("40001"),
        _ => false,
    }
}
