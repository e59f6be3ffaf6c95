//! The [`ReactorStore`] impl: checkpoints, leases, partition counts and
//! parked events in tables beside the events.

use std::collections::BTreeMap;
use std::time::Duration;

use eventstore_core::backend::{Joined, Lease, Repartitioned, repartition_from};
use eventstore_core::reactor::{ParkedEvent, ReactorStore};
use eventstore_core::{Checkpoint, Error, Result};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};

use crate::error::backend;
use crate::rows::{bigint, column, recorded_event, time_from_micros, unsigned};
use crate::store::PgEventStore;

fn partition_column(partition: u32) -> i32 {
    i32::try_from(partition).unwrap_or(i32::MAX)
}

fn micros(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX)
}

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// A row of parked.sql or parked_event.sql; the event is `None` when its
/// row cannot be read (or is gone).
fn parked_event(reactor: &str, row: &PgRow) -> Result<ParkedEvent> {
    let attempts: i32 = row.try_get("attempts").map_err(backend)?;
    let present: Option<String> = row.try_get(0).map_err(backend)?;
    let event = match present {
        Some(_) => recorded_event(row, 0).ok(),
        None => None,
    };
    Ok(ParkedEvent {
        reactor: reactor.to_owned(),
        position: unsigned(row, "position")?,
        event,
        error: column(row, "error")?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        parked_at: time_from_micros(column(row, "parked_us")?),
    })
}

impl PgEventStore {
    /// The stored checkpoints of a reactor, by partition.
    async fn checkpoints_of(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        reactor: &str,
    ) -> Result<BTreeMap<u32, Checkpoint>> {
        let rows = sqlx::query(&self.statements().checkpoints_of)
            .bind(reactor)
            .fetch_all(&mut **tx)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let partition: i32 = column(row, "partition")?;
                let checkpoint = Checkpoint {
                    tx: unsigned(row, "tx")?,
                    position: unsigned(row, "position")?,
                };
                Ok((count(partition), checkpoint))
            })
            .collect()
    }

    /// Replaces a reactor's checkpoints with `to` for each of `partitions`
    /// (none for `None`), drops its leases, stores the count.
    async fn rewrite_checkpoints(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        reactor: &str,
        partitions: u32,
        to: Option<Checkpoint>,
    ) -> Result<()> {
        let sql = self.statements();
        let partitions = partition_column(partitions);
        sqlx::query(&sql.repartition)
            .bind(reactor)
            .bind(partitions)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        if let Some(to) = to {
            sqlx::query(&sql.repartition_start)
                .bind(reactor)
                .bind(partitions)
                .bind(bigint(to.tx))
                .bind(bigint(to.position))
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    /// How many runners of `reactor` are live: by heartbeat, or by a
    /// running lease.
    async fn live_runners(&self, tx: &mut Transaction<'_, Postgres>, reactor: &str) -> Result<u32> {
        let live: i64 = sqlx::query_scalar(&self.statements().live_runners)
            .bind(reactor)
            .fetch_one(&mut **tx)
            .await
            .map_err(backend)?;
        let beating = u32::try_from(live).unwrap_or(u32::MAX);
        Ok(beating.max(self.lease_holders(tx, reactor, "").await?))
    }

    /// How many owners other than `owner` hold a running lease of `reactor`.
    async fn lease_holders(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        reactor: &str,
        owner: &str,
    ) -> Result<u32> {
        let holders: i64 = sqlx::query_scalar(&self.statements().lease_holders)
            .bind(reactor)
            .bind(owner)
            .fetch_one(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(u32::try_from(holders).unwrap_or(u32::MAX))
    }
}

impl ReactorStore for PgEventStore {
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Option<Checkpoint>> {
        let row = sqlx::query(&self.statements().load_checkpoint)
            .bind(reactor)
            .bind(partition_column(partition))
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.map(|row| {
            Ok(Checkpoint {
                tx: unsigned(&row, "tx")?,
                position: unsigned(&row, "position")?,
            })
        })
        .transpose()
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

    async fn join(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<Joined> {
        let sql = self.statements();
        let mut tx = self.pool().begin().await.map_err(backend)?;
        // the reactor's row stays locked until the commit: joins, resets and
        // re-partitions of one reactor take turns
        let locked = sqlx::query(&sql.join_lock)
            .bind(reactor)
            .bind(partition_column(partitions))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let stored: i32 = column(&locked, "partitions")?;
        let created: bool = column(&locked, "created")?;
        let other: Option<Option<i32>> = sqlx::query_scalar(&sql.live_counts)
            .bind(reactor)
            .bind(owner)
            .bind(partition_column(partitions))
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        // a runner whose heartbeat lapsed but whose lease runs is live too
        let other = match other {
            Some(other) => Some(other),
            None if !created && count(stored) != partitions => {
                let holders = self.lease_holders(&mut tx, reactor, owner).await?;
                (holders > 0).then_some(Some(stored))
            }
            None => None,
        };
        if let Some(other) = other {
            return Err(Error::PartitionCountMismatch {
                reactor: reactor.to_owned(),
                // a runner from before counts were stored: the stored count
                running: other.map_or(count(stored), count),
                requested: partitions,
            });
        }
        let old = self.checkpoints_of(&mut tx, reactor).await?;
        let stored = (!created).then_some(count(stored));
        let repartitioned = match repartition_from(stored, &old, partitions) {
            Some((from, checkpoint)) => {
                let to = (!old.is_empty()).then_some(checkpoint);
                self.rewrite_checkpoints(&mut tx, reactor, partitions, to)
                    .await?;
                Some(Repartitioned {
                    from,
                    to: partitions,
                    checkpoint,
                })
            }
            None => None,
        };
        let live: i64 = sqlx::query_scalar(&sql.heartbeat)
            .bind(reactor)
            .bind(owner)
            .bind(micros(ttl))
            .bind(partition_column(partitions))
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Joined {
            live: u32::try_from(live).unwrap_or(u32::MAX),
            repartitioned,
        })
    }

    async fn acquire_lease(
        &self,
        reactor: &str,
        partition: u32,
        partitions: u32,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let sql = self.statements();
        let row = sqlx::query(&sql.acquire_lease)
            .bind(reactor)
            .bind(partition_column(partition))
            .bind(owner)
            .bind(micros(ttl))
            .bind(partition_column(partitions))
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        if row.is_some() {
            return Ok(Some(Lease {
                reactor: reactor.to_owned(),
                partition,
                owner: owner.to_owned(),
            }));
        }
        // held by another runner, or the reactor was re-partitioned
        let stored: Option<i32> = sqlx::query_scalar(&sql.partition_count)
            .bind(reactor)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        match stored.map(count) {
            Some(stored) if stored != partitions => Err(Error::PartitionCountMismatch {
                reactor: reactor.to_owned(),
                running: stored,
                requested: partitions,
            }),
            _ => Ok(None),
        }
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let renewed = sqlx::query(&self.statements().renew_lease)
            .bind(&lease.reactor)
            .bind(partition_column(lease.partition))
            .bind(&lease.owner)
            .bind(micros(ttl))
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        Ok(renewed.is_some())
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

    async fn heartbeat(
        &self,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<u32> {
        let live: i64 = sqlx::query_scalar(&self.statements().heartbeat)
            .bind(reactor)
            .bind(owner)
            .bind(micros(ttl))
            .bind(partition_column(partitions))
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

    async fn reset_checkpoints(
        &self,
        reactor: &str,
        partitions: u32,
        to: Checkpoint,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        sqlx::query(&self.statements().join_lock)
            .bind(reactor)
            .bind(partition_column(partitions))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let live = self.live_runners(&mut tx, reactor).await?;
        if live > 0 {
            return Err(Error::RunnersLive {
                reactor: reactor.to_owned(),
                live,
            });
        }
        self.rewrite_checkpoints(&mut tx, reactor, partitions, Some(to))
            .await?;
        tx.commit().await.map_err(backend)
    }

    async fn park(&self, lease: &Lease, parked: ParkedEvent) -> Result<bool> {
        let done = sqlx::query(&self.statements().park)
            .bind(&parked.reactor)
            .bind(bigint(parked.position))
            .bind(&parked.error)
            .bind(i32::try_from(parked.attempts).unwrap_or(i32::MAX))
            .bind(partition_column(lease.partition))
            .bind(&lease.owner)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn parked(
        &self,
        reactor: &str,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<ParkedEvent>> {
        let rows = sqlx::query(&self.statements().parked)
            .bind(reactor)
            .bind(bigint(after_position))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(|row| parked_event(reactor, row)).collect()
    }

    async fn parked_count(&self, reactor: &str) -> Result<u64> {
        let parked: i64 = sqlx::query_scalar(&self.statements().parked_count)
            .bind(reactor)
            .fetch_one(self.pool())
            .await
            .map_err(backend)?;
        Ok(u64::try_from(parked).unwrap_or(0))
    }

    async fn parked_event(&self, reactor: &str, position: u64) -> Result<Option<ParkedEvent>> {
        let row = sqlx::query(&self.statements().parked_event)
            .bind(reactor)
            .bind(bigint(position))
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.map(|row| parked_event(reactor, &row)).transpose()
    }

    async fn record_retry(
        &self,
        reactor: &str,
        position: u64,
        attempts: u32,
        failure: Option<&str>,
    ) -> Result<bool> {
        let sql = self.statements();
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let query = match failure {
            Some(error) => sqlx::query(&sql.retried)
                .bind(reactor)
                .bind(bigint(position))
                .bind(attempts)
                .bind(error),
            None => sqlx::query(&sql.retried_ok)
                .bind(reactor)
                .bind(bigint(position))
                .bind(attempts),
        };
        let done = query.execute(self.pool()).await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
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
