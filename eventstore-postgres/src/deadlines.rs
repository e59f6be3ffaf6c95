//! [`DeadlineStore`] for [`PgEventStore`]: the pending deadlines of sagas,
//! in the `deadlines` table (migration 0008), found by due time through
//! its firing-order index.
//!
//! Due times cross as whole microseconds since 1970 (bigints the statements
//! turn into `timestamptz` exactly) and come back in `timestamptz`'s binary
//! form, so a deadline reads back with the due time it was synced with.

use std::time::SystemTime;

use eventstore_core::backend::{Partition, stream_hash};
use eventstore_core::saga::{
    Deadline, DeadlineStore, DeadlineSummary, DeadlinesAt, PendingDeadline,
};
use eventstore_core::{AggregateId, Error, Result};
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use crate::convert::{bigint, fit, hash_bits, row_limit};
use crate::error::{backend, jsonb_refused};
use crate::layout::{DEADLINE_SUMMARY, DUE_DEADLINES, PendingColumns, SYNC_DEADLINES};
use crate::rows::{column, timestamptz, unsigned};
use crate::store::PgEventStore;
use crate::tracker::partition_params;

/// How many times a sync is sent when it keeps finding that a concurrent
/// sync of the same saga committed after its snapshot was taken. Each such
/// loss means another sync of the saga committed, so this bounds a saga
/// synced by that many runners at once, not a slow database.
const SYNC_ATTEMPTS: usize = 64;

/// A due time as the bigint of microseconds since 1970 the statements take.
///
/// # Errors
/// [`Error::OutOfRange`] above `i64::MAX` microseconds.
fn due_micros(what: &'static str, time: SystemTime) -> Result<i64> {
    bigint(what, Deadline::at("", time).due_micros())
}

/// The pending deadline of `saga_kind` in the columns `columns` of `row`.
fn pending(row: &PgRow, columns: PendingColumns, saga_kind: &str) -> Result<PendingDeadline> {
    let id: String = column(row, columns.saga_id)?;
    let name: String = column(row, columns.name)?;
    let saga_id = id
        .parse::<AggregateId>()
        .map_err(|e| Error::UnexpectedReply {
            problem: format!("deadline {name:?} of {saga_kind} {id:?}: saga id: {e}"),
        })?;
    let Json(payload) = column::<Json<serde_json::Value>>(row, columns.payload)?;
    Ok(PendingDeadline {
        saga_kind: saga_kind.to_owned(),
        saga_id,
        version: unsigned(row, columns.version, "deadline version")?,
        deadline: Deadline::at(name, timestamptz(row, columns.due)?).with(payload),
    })
}

impl PgEventStore {
    /// After a sync failed with `error`: the typed refusal naming the saga
    /// and the deadline whose payload `jsonb` refuses, or the failure.
    async fn explain_sync_failure(&self, at: &DeadlinesAt, error: sqlx::Error) -> Error {
        let Some(problem) = jsonb_refused(&error) else {
            return backend(error);
        };
        // which payload: each checked alone (only on this failing path)
        let mut refused = None;
        for deadline in &at.deadlines {
            let check = sqlx::query(&self.statements().jsonb_check)
                .bind(deadline.payload().to_string())
                .execute(self.pool())
                .await;
            if matches!(&check, Err(e) if jsonb_refused(e).is_some()) {
                refused = Some(deadline.name());
                break;
            }
        }
        Error::UnstorableJson {
            aggregate_kind: at.saga_kind.clone(),
            aggregate_id: at.saga_id.to_string(),
            problem: match refused {
                Some(name) => format!("the payload of deadline {name:?}: {problem}"),
                None => format!("a deadline's payload: {problem}"),
            },
        }
    }
}

impl DeadlineStore for PgEventStore {
    async fn sync_deadlines(&self, at: DeadlinesAt) -> Result<()> {
        let version = bigint("saga version", at.version)?;
        let names: Vec<&str> = at.deadlines.iter().map(Deadline::name).collect();
        let dues = at
            .deadlines
            .iter()
            .map(|d| bigint("deadline due time in microseconds", d.due_micros()))
            .collect::<Result<Vec<i64>>>()?;
        let payloads: Vec<String> = at
            .deadlines
            .iter()
            .map(|d| d.payload().to_string())
            .collect();
        let hash = hash_bits(stream_hash(at.saga_id.as_str()));
        for _ in 0..SYNC_ATTEMPTS {
            let answer = sqlx::query(&self.statements().sync_deadlines)
                .bind(&at.saga_kind)
                .bind(at.saga_id.as_str())
                .bind(version)
                .bind(hash)
                .bind(&names)
                .bind(&dues)
                .bind(&payloads)
                .fetch_one(self.pool())
                .await;
            let row = match answer {
                Ok(row) => row,
                Err(error) => return Err(self.explain_sync_failure(&at, error).await),
            };
            let synced = column::<bool>(&row, SYNC_DEADLINES.synced)?;
            // synced, or synced from a later version already; neither: a
            // concurrent sync of the saga committed after this statement's
            // snapshot, so again, with a fresh one
            if synced || column::<bool>(&row, SYNC_DEADLINES.newer)? {
                return Ok(());
            }
        }
        Err(Error::transient(
            "cannot sync a saga's deadlines",
            format!(
                "{} {:?} version {}: concurrent syncs of the saga won {SYNC_ATTEMPTS} times",
                at.saga_kind, at.saga_id, at.version
            ),
        ))
    }

    async fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<PendingDeadline>> {
        let (count, index, wrap) = partition_params(partition)?;
        let rows = sqlx::query(&self.statements().due_deadlines)
            .bind(saga_kind)
            .bind(due_micros("time due deadlines are read at", now)?)
            .bind(count)
            .bind(index)
            .bind(wrap)
            .bind(row_limit(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| pending(row, DUE_DEADLINES, saga_kind))
            .collect()
    }

    async fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> Result<Option<SystemTime>> {
        let (count, index, wrap) = partition_params(partition)?;
        let row = sqlx::query(&self.statements().next_deadline)
            .bind(saga_kind)
            .bind(count)
            .bind(index)
            .bind(wrap)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.map(|row| timestamptz(&row, 0)).transpose()
    }

    async fn remove_deadline(&self, pending: &PendingDeadline) -> Result<()> {
        sqlx::query(&self.statements().remove_deadline)
            .bind(&pending.saga_kind)
            .bind(pending.saga_id.as_str())
            .bind(pending.deadline.name())
            .bind(bigint(
                "deadline due time in microseconds",
                pending.deadline.due_micros(),
            )?)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> Result<DeadlineSummary> {
        let rows = sqlx::query(&self.statements().deadline_summary)
            .bind(saga_kind)
            .bind(due_micros("time overdue deadlines are counted at", now)?)
            .bind(row_limit(limit))
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        let Some(first) = rows.first() else {
            return Err(Error::UnexpectedReply {
                problem: "deadline_summary.sql returned no row".to_owned(),
            });
        };
        let columns = DEADLINE_SUMMARY;
        let mut summary = DeadlineSummary {
            pending: fit("pending deadlines", column::<i64>(first, columns.pending)?)?,
            next_due: None,
            overdue: fit("overdue deadlines", column::<i64>(first, columns.overdue)?)?,
            most_overdue: Vec::with_capacity(rows.len()),
        };
        if summary.pending > 0 {
            summary.next_due = Some(timestamptz(first, columns.next_due)?);
        }
        for row in &rows {
            // the row of totals alone, when none is overdue
            if column::<Option<String>>(row, columns.late.saga_id)?.is_some() {
                summary
                    .most_overdue
                    .push(pending(row, columns.late, saga_kind)?);
            }
        }
        Ok(summary)
    }
}
