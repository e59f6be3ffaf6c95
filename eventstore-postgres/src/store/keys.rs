//! Idempotency keys on PostgreSQL: what a key recorded, and a refusal
//! recorded under one (`command_keys`, migration 0007).

use eventstore_core::backend::{RecordedOutcome, RefusalOutcome, RefusalRequest};
use eventstore_core::{Error, Result};

use super::PgEventStore;
use crate::convert::bigint;
use crate::error::{backend, jsonb_refused};
use crate::layout::KEY_OUTCOME;
use crate::rows::key_outcome;

impl PgEventStore {
    /// See [`EventStore::idempotency_key_outcome`](eventstore_core::EventStore::idempotency_key_outcome).
    pub(super) async fn read_key_outcome(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        let row = sqlx::query(&self.sql.key_outcome)
            .bind(aggregate_kind)
            .bind(aggregate_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => key_outcome(&row, KEY_OUTCOME),
            None => Ok(None),
        }
    }

    /// See [`EventStore::record_refusal`](eventstore_core::EventStore::record_refusal):
    /// one autocommit statement (`record_refusal.sql`), then, when it wrote
    /// nothing, a read of what the key recorded, which is committed by then
    /// (the insert waited for a concurrent writer of the key), and of
    /// whether the guarded stream moved.
    pub(super) async fn insert_refusal(&self, request: RefusalRequest) -> Result<RefusalOutcome> {
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        let guard = request.unless_moved.as_ref();
        let recorded = sqlx::query(&self.sql.record_refusal)
            .bind(kind)
            .bind(id)
            .bind(&request.idempotency_key)
            .bind(bigint("refused version", request.version)?)
            .bind(request.error.as_str())
            .bind(guard.map(|g| g.aggregate_kind.as_str()))
            .bind(guard.map(|g| g.aggregate_id.as_str()))
            .bind(
                guard
                    .map(|g| bigint("unless_moved version", g.version))
                    .transpose()?,
            )
            .fetch_optional(&self.pool)
            .await
            .map_err(|error| match jsonb_refused(&error) {
                Some(problem) => Error::UnstorableJson {
                    aggregate_kind: kind.clone(),
                    aggregate_id: id.to_owned(),
                    problem,
                },
                None => backend(error),
            })?;
        if recorded.is_some() {
            return Ok(RefusalOutcome::Recorded);
        }
        if let Some(existing) = self
            .read_key_outcome(kind, id, &request.idempotency_key)
            .await?
        {
            return Ok(RefusalOutcome::AlreadyDecided(existing));
        }
        if let Some(guard) = request.unless_moved {
            self.ensure_not_moved(guard).await?;
        }
        Ok(RefusalOutcome::StreamMoved)
    }
}
