//! The [`Tracker`] impl: reading committed events in commit order.

use eventstore_core::{Checkpoint, EventFilter, RecordedEvent, Result, Tracker};

use crate::rows::{backend, recorded_event, unsigned};
use crate::store::PgEventStore;

impl Tracker for PgEventStore {
    async fn read_after(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let rows = sqlx::query(&self.statements().read_after)
            .bind(i64::try_from(after.tx).unwrap_or(i64::MAX))
            .bind(i64::try_from(after.position).unwrap_or(i64::MAX))
            .bind(&filter.aggregate_kinds)
            .bind(&filter.event_kinds)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(|row| recorded_event(row, None)).collect()
    }

    async fn head(&self) -> Result<Checkpoint> {
        let row = sqlx::query(&self.statements().head)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        match row {
            Some(row) => Ok(Checkpoint {
                tx: unsigned(&row, "tx")?,
                position: unsigned(&row, "position")?,
            }),
            None => Ok(Checkpoint::BEGINNING),
        }
    }
}
