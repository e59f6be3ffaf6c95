//! The [`ReactorStore`] impl: checkpoints, leases, partition counts and
//! parked events in tables beside the events.

use std::collections::BTreeMap;
use std::time::Duration;

use eventstore_core::backend::{Joined, Lease, Repartitioned, repartition_from};
use eventstore_core::reactor::{ParkedEvent, ReactorStore};
use eventstore_core::{Checkpoint, Error, Result};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgExecutor, Postgres, Transaction};

use crate::convert::{
    bigint, checkpoint_bigints, fit, integer, micros, row_limit, time_from_micros,
};
use crate::error::backend;
use crate::layout::{CHECKPOINT, CHECKPOINTS_OF, JOIN_LOCK, PARKED};
use crate::rows::{checkpoint, column, recorded_event, unsigned};
use crate::store::PgEventStore;

/// A partition as the integer column holds it.
fn partition_column(partition: u32) -> Result<i32> {
    integer("partition", partition)
}

/// A partition count as the integer column holds it.
fn partitions_column(partitions: u32) -> Result<i32> {
    integer("partition count", partitions)
}

/// A lease's ttl as the bigint of microseconds its statements take.
fn ttl_micros(ttl: Duration) -> Result<i64> {
    micros("lease ttl in microseconds", ttl)
}

/// A statement whose first three parameters are a lease's reactor,
/// partition and owner, with those bound.
fn lease_query<'q>(sql: &'q str, lease: &'q Lease) -> Result<Query<'q, Postgres, PgArguments>> {
    Ok(sqlx::query(sql)
        .bind(&lease.reactor)
        .bind(partition_column(lease.partition)?)
        .bind(&lease.owner))
}

/// A row of parked.sql or parked_event.sql; the event is `None` when its
/// row cannot be read (or is gone).
fn parked_event(reactor: &str, row: &PgRow) -> Result<ParkedEvent> {
    let present: Option<String> = column(row, PARKED.event.id)?;
    let event = match present {
        Some(_) => recorded_event(row, PARKED.event).ok(),
        None => None,
    };
    Ok(ParkedEvent {
        reactor: reactor.to_owned(),
        position: unsigned(row, PARKED.event.position, "parked position")?,
        event,
        error: column(row, PARKED.error)?,
        attempts: fit("parked attempts", column::<i32>(row, PARKED.attempts)?)?,
        parked_at: time_from_micros("parked at, in microseconds", column(row, PARKED.parked_us)?)?,
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
                let partition: i32 = column(row, CHECKPOINTS_OF.partition)?;
                Ok((
                    fit("partition", partition)?,
                    checkpoint(row, CHECKPOINTS_OF.checkpoint)?,
                ))
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
        let partitions = partitions_column(partitions)?;
        sqlx::query(&sql.repartition)
            .bind(reactor)
            .bind(partitions)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        if let Some(to) = to {
            let (tx_id, position) = checkpoint_bigints(to)?;
            sqlx::query(&sql.repartition_start)
                .bind(reactor)
                .bind(partitions)
                .bind(tx_id)
                .bind(position)
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
        let beating: u32 = fit("live runners", live)?;
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
        fit("lease holders", holders)
    }

    /// Marks `owner` a live runner of `reactor` (heartbeat.sql); returns
    /// how many are live.
    async fn beat<'c>(
        &self,
        executor: impl PgExecutor<'c>,
        reactor: &str,
        owner: &str,
        partitions: u32,
        ttl: Duration,
    ) -> Result<u32> {
        let live: i64 = sqlx::query_scalar(&self.statements().heartbeat)
            .bind(reactor)
            .bind(owner)
            .bind(ttl_micros(ttl)?)
            .bind(partitions_column(partitions)?)
            .fetch_one(executor)
            .await
            .map_err(backend)?;
        fit("live runners", live)
    }

    /// Takes the reactor's row lock until `tx` ends (join_lock.sql),
    /// storing `partitions` when it has no row yet; returns its stored
    /// count and whether its row was created now.
    async fn lock_reactor(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        reactor: &str,
        partitions: u32,
    ) -> Result<(u32, bool)> {
        let locked = sqlx::query(&self.statements().join_lock)
            .bind(reactor)
            .bind(partitions_column(partitions)?)
            .fetch_one(&mut **tx)
            .await
            .map_err(backend)?;
        let stored: i32 = column(&locked, JOIN_LOCK.partitions)?;
        Ok((
            fit("stored partition count", stored)?,
            column(&locked, JOIN_LOCK.created)?,
        ))
    }
}

impl ReactorStore for PgEventStore {
    async fn load_checkpoint(&self, reactor: &str, partition: u32) -> Result<Option<Checkpoint>> {
        let row = sqlx::query(&self.statements().load_checkpoint)
            .bind(reactor)
            .bind(partition_column(partition)?)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.map(|row| checkpoint(&row, CHECKPOINT)).transpose()
    }

    async fn save_checkpoint(&self, lease: &Lease, checkpoint: Checkpoint) -> Result<bool> {
        let (tx, position) = checkpoint_bigints(checkpoint)?;
        let done = lease_query(&self.statements().save_checkpoint, lease)?
            .bind(tx)
            .bind(position)
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
        let (stored, created) = self.lock_reactor(&mut tx, reactor, partitions).await?;
        let other: Option<Option<i32>> = sqlx::query_scalar(&sql.live_counts)
            .bind(reactor)
            .bind(owner)
            .bind(partitions_column(partitions)?)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let other: Option<Option<u32>> = other
            .map(|count| {
                count
                    .map(|c| fit("live runner's partition count", c))
                    .transpose()
            })
            .transpose()?;
        // a runner whose heartbeat lapsed but whose lease runs is live too
        let other = match other {
            Some(other) => Some(other),
            None if !created && stored != partitions => {
                let holders = self.lease_holders(&mut tx, reactor, owner).await?;
                (holders > 0).then_some(Some(stored))
            }
            None => None,
        };
        if let Some(other) = other {
            return Err(Error::PartitionCountMismatch {
                reactor: reactor.to_owned(),
                // a runner from before counts were stored: the stored count
                running: other.unwrap_or(stored),
                requested: partitions,
            });
        }
        let old = self.checkpoints_of(&mut tx, reactor).await?;
        let stored = (!created).then_some(stored);
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
        let live = self.beat(&mut *tx, reactor, owner, partitions, ttl).await?;
        tx.commit().await.map_err(backend)?;
        Ok(Joined {
            live,
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
            .bind(partition_column(partition)?)
            .bind(owner)
            .bind(ttl_micros(ttl)?)
            .bind(partitions_column(partitions)?)
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
        match stored
            .map(|count| fit("stored partition count", count))
            .transpose()?
        {
            Some(stored) if stored != partitions => Err(Error::PartitionCountMismatch {
                reactor: reactor.to_owned(),
                running: stored,
                requested: partitions,
            }),
            _ => Ok(None),
        }
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let renewed = lease_query(&self.statements().renew_lease, lease)?
            .bind(ttl_micros(ttl)?)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        Ok(renewed.is_some())
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        lease_query(&self.statements().release_lease, lease)?
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn lease_holder(&self, reactor: &str, partition: u32) -> Result<Option<String>> {
        sqlx::query_scalar(&self.statements().lease_holder)
            .bind(reactor)
            .bind(partition_column(partition)?)
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
        self.beat(self.pool(), reactor, owner, partitions, ttl)
            .await
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
        self.lock_reactor(&mut tx, reactor, partitions).await?;
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
            .bind(bigint("parked position", parked.position)?)
            .bind(&parked.error)
            .bind(integer("parked attempts", parked.attempts)?)
            .bind(partition_column(lease.partition)?)
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
            .bind(bigint("after_position", after_position)?)
            .bind(row_limit(limit))
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
        fit("parked count", parked)
    }

    async fn parked_event(&self, reactor: &str, position: u64) -> Result<Option<ParkedEvent>> {
        let row = sqlx::query(&self.statements().parked_event)
            .bind(reactor)
            .bind(bigint("parked position", position)?)
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
        // retried.sql takes the error as a fourth parameter
        let mut query = sqlx::query(if failure.is_some() {
            &sql.retried
        } else {
            &sql.retried_ok
        })
        .bind(reactor)
        .bind(bigint("parked position", position)?)
        .bind(integer("parked attempts", attempts)?);
        if let Some(error) = failure {
            query = query.bind(error);
        }
        let done = query.execute(self.pool()).await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        let done = sqlx::query(&self.statements().unpark)
            .bind(reactor)
            .bind(bigint("parked position", position)?)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}
