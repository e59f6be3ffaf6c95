//! The [`ReactorStore`] impl: checkpoints, leases and parked events in
//! tables beside the events.

use std::time::Duration;

use eventstore_core::reactor::{Lease, ParkedEvent, ReactorStore};
use eventstore_core::{Checkpoint, Result};
use sqlx::Row;

use crate::rows::{backend, bigint, column, recorded_event, time_from_micros, unsigned};
use crate::store::PgEventStore;

fn partition_column(partition: u32) -> i32 {
    i32::try_from(partition).unwrap_or(i32::MAX)
}

impl ReactorStore for PgEventStore {
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Checkpoint> {
        let row = sqlx::query(&self.statements().load_checkpoint)
            .bind(reactor)
            .bind(partition_column(partition))
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

    async fn save_checkpoint(&self, lease: &Lease, checkpoint: Checkpoint) -> Result<bool> {
        let done = sqlx::query(&self.statements().save_checkpoint)
            .bind(&lease.reactor)
            .bind(partition_column(lease.partition))
            .bind(&lease.owner)
            .bind(bigint(checkpoint.tx))
            .bind(bigint(checkpoint.position))
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let row = sqlx::query(&self.statements().acquire_lease)
            .bind(reactor)
            .bind(partition_column(partition))
            .bind(owner)
            .bind(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX))
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        Ok(row.map(|_| Lease {
            reactor: reactor.to_owned(),
            partition,
            owner: owner.to_owned(),
        }))
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        sqlx::query(&self.statements().release_lease)
            .bind(&lease.reactor)
            .bind(partition_column(lease.partition))
            .bind(&lease.owner)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn lease_holder(&self, reactor: &str, partition: u32) -> Result<Option<String>> {
        sqlx::query_scalar(&self.statements().lease_holder)
            .bind(reactor)
            .bind(partition_column(partition))
            .fetch_optional(self.pool())
            .await
            .map_err(backend)
    }

    async fn heartbeat(&self, reactor: &str, owner: &str, ttl: Duration) -> Result<u32> {
        let live: i64 = sqlx::query_scalar(&self.statements().heartbeat)
            .bind(reactor)
            .bind(owner)
            .bind(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX))
            .fetch_one(self.pool())
            .await
            .map_err(backend)?;
        Ok(u32::try_from(live).unwrap_or(u32::MAX))
    }

    async fn leave(&self, reactor: &str, owner: &str) -> Result<()> {
        sqlx::query(&self.statements().leave)
            .bind(reactor)
            .bind(owner)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn park(&self, parked: ParkedEvent) -> Result<()> {
        sqlx::query(&self.statements().park)
            .bind(&parked.reactor)
            .bind(bigint(parked.event.position))
            .bind(&parked.error)
            .bind(i32::try_from(parked.attempts).unwrap_or(i32::MAX))
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn parked(&self, reactor: &str) -> Result<Vec<ParkedEvent>> {
        let rows = sqlx::query(&self.statements().parked)
            .bind(reactor)
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let attempts: i32 = row.try_get("attempts").map_err(backend)?;
                Ok(ParkedEvent {
                    reactor: reactor.to_owned(),
                    event: recorded_event(row, 0)?,
                    error: column(row, "error")?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                    parked_at: time_from_micros(column(row, "parked_us")?),
                })
            })
            .collect()
    }

    async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        let done = sqlx::query(&self.statements().unpark)
            .bind(reactor)
            .bind(bigint(position))
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}
