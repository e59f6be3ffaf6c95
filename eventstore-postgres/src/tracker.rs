//! The [`Tracker`] impl: reading committed events in commit order.

use std::time::Duration;

use eventstore_core::{Checkpoint, EventFilter, Holdback, RecordedEvent, Result, Tracker, Wakeups};

use crate::options::ReadMode;
use crate::rows::{backend, bigint, recorded_event, unsigned};
use crate::store::PgEventStore;

fn micros(lag: Duration) -> i64 {
    i64::try_from(lag.as_micros()).unwrap_or(i64::MAX)
}

impl Tracker for PgEventStore {
    async fn read_after(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let (sql, lag) = match self.read_mode() {
            ReadMode::Transactions => (&self.statements().read_after, None),
            ReadMode::SafetyMargin(lag) => {
                (&self.statements().read_after_margin, Some(micros(lag)))
            }
        };
        let mut query = sqlx::query(sql)
            .bind(bigint(after.tx))
            .bind(bigint(after.position))
            .bind(&filter.aggregate_kinds)
            .bind(&filter.event_kinds)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(filter.until.map(|u| bigint(u.tx)))
            .bind(filter.until.map(|u| bigint(u.position)));
        if let Some(lag) = lag {
            query = query.bind(lag);
        }
        let rows = query.fetch_all(self.pool()).await.map_err(backend)?;
        rows.iter().map(|row| recorded_event(row, 0)).collect()
    }

    async fn head(&self) -> Result<Checkpoint> {
        let query = match self.read_mode() {
            ReadMode::Transactions => sqlx::query(&self.statements().head),
            ReadMode::SafetyMargin(lag) => {
                sqlx::query(&self.statements().head_margin).bind(micros(lag))
            }
        };
        let row = query.fetch_optional(self.pool()).await.map_err(backend)?;
        match row {
            Some(row) => Ok(Checkpoint {
                tx: unsigned(&row, "tx")?,
                position: unsigned(&row, "position")?,
            }),
            None => Ok(Checkpoint::BEGINNING),
        }
    }

    fn wakeups(&self) -> Wakeups {
        self.subscribe()
    }

    async fn holdback(&self) -> Result<Option<Holdback>> {
        match self.read_mode() {
            ReadMode::Transactions => PgEventStore::holdback(self).await,
            ReadMode::SafetyMargin(_) => Ok(None),
        }
    }
}
