//! GDPR forget on PostgreSQL: the events, the snapshots, the parked
//! events' error text and the refusals' domain errors of one stream, and a
//! mark that keeps older snapshots from being stored afterwards, in one
//! transaction.

use eventstore_core::backend::ERASED_ERROR;
use eventstore_core::{ForgetRequest, Forgotten, Result};
use sqlx::{Postgres, Transaction};

use crate::error::backend;
use crate::store::PgEventStore;

impl PgEventStore {
    /// See [`EventStore::forget`](eventstore_core::EventStore::forget).
    pub(crate) async fn forget_stream(&self, request: &ForgetRequest) -> Result<Forgotten> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        // a snapshot save waits until this forget has committed
        self.lock_stream(
            &mut tx,
            &request.aggregate_kind,
            request.aggregate_id.as_str(),
        )
        .await?;
        let forgotten = Forgotten {
            events: self.forget_events(&mut tx, request).await?,
            snapshots: self.forget_snapshots(&mut tx, request).await?,
            copies: self.forget_parked(&mut tx, request).await?
                + self.forget_refusals(&mut tx, request).await?,
        };
        // no snapshot folded before this point may be stored after it
        sqlx::query(&self.statements().forget_mark)
            .bind(&request.aggregate_kind)
            .bind(request.aggregate_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(forgotten)
    }

    async fn forget_events(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        request: &ForgetRequest,
    ) -> Result<u64> {
        if request.event_fields.is_empty() {
            return Ok(0);
        }
        let (kinds, fields): (Vec<&str>, Vec<&str>) = request
            .event_fields
            .iter()
            .map(|(kind, field)| (kind.as_str(), field.as_str()))
            .unzip();
        // no row is written at a version beyond the column's range
        let spared = request
            .spared_fields
            .iter()
            .filter_map(|(kind, version, field)| {
                let version = i32::try_from(*version).ok()?;
                Some((kind.as_str(), version, field.as_str()))
            });
        let (mut spared_kinds, mut spared_versions, mut spared_fields) =
            (Vec::new(), Vec::new(), Vec::new());
        for (kind, version, field) in spared {
            spared_kinds.push(kind);
            spared_versions.push(version);
            spared_fields.push(field);
        }
        let done = sqlx::query(&self.statements().forget_events)
            .bind(&request.aggregate_kind)
            .bind(request.aggregate_id.as_str())
            .bind(kinds)
            .bind(fields)
            .bind(spared_kinds)
            .bind(spared_versions)
            .bind(spared_fields)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn forget_snapshots(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        request: &ForgetRequest,
    ) -> Result<u64> {
        let query = if request.delete_snapshots {
            sqlx::query(&self.statements().delete_snapshots)
                .bind(&request.aggregate_kind)
                .bind(request.aggregate_id.as_str())
        } else if request.snapshot_fields.is_empty() {
            return Ok(0);
        } else {
            sqlx::query(&self.statements().forget_snapshots)
                .bind(&request.aggregate_kind)
                .bind(request.aggregate_id.as_str())
                .bind(&request.snapshot_fields)
        };
        let done = query.execute(&mut **tx).await.map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn forget_refusals(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        request: &ForgetRequest,
    ) -> Result<u64> {
        let done = sqlx::query(&self.statements().forget_refusals)
            .bind(&request.aggregate_kind)
            .bind(request.aggregate_id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn forget_parked(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        request: &ForgetRequest,
    ) -> Result<u64> {
        let done = sqlx::query(&self.statements().forget_parked)
            .bind(&request.aggregate_kind)
            .bind(request.aggregate_id.as_str())
            .bind(ERASED_ERROR)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(done.rows_affected())
    }
}
