//! Reading streams for [`EventStore`](eventstore_core::EventStore): whole
//! streams with their envelopes, the pages a load folds (version, kind and
//! body only), a command's load in one round trip (the key check, the
//! snapshot and the first page), and snapshots.

use eventstore_core::backend::{LoadedStream, RecordedOutcome, Snapshot, StreamEvent};
use eventstore_core::{Error, RecordedEvent, Result};
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;

use super::PgEventStore;
use crate::convert::{bigint, fit, row_limit};
use crate::error::backend;
use crate::layout::{LOAD, LOAD_PAGE, LOAD_SNAPSHOT, LOAD_STREAM, SnapshotColumns};
use crate::rows::{column, json_text, key_outcome, recorded_event, stream_event, unsigned};

impl PgEventStore {
    /// See [`EventStore::load`](eventstore_core::EventStore::load).
    pub(super) async fn read_events(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>> {
        let rows = sqlx::query(&self.sql.load)
            .bind(aggregate_kind)
            .bind(aggregate_id)
            .bind(bigint("after_version", after_version)?)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(|row| recorded_event(row, LOAD)).collect()
    }

    /// See [`EventStore::load_page`](eventstore_core::EventStore::load_page).
    pub(super) async fn read_page_of(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>> {
        let mut rows = sqlx::query(&self.sql.load_page)
            .bind(aggregate_kind)
            .bind(aggregate_id)
            .bind(bigint("after_version", after_version)?)
            .bind(row_limit(limit))
            .fetch(&self.pool);
        // each row becomes an event as it arrives: the rows are not held
        let mut events = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(backend)? {
            events.push(stream_event(
                &row,
                LOAD_PAGE,
                (aggregate_kind, aggregate_id),
            )?);
        }
        Ok(events)
    }

    /// See [`EventStore::load_snapshot`](eventstore_core::EventStore::load_snapshot).
    pub(super) async fn read_snapshot(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<Option<Snapshot>> {
        let row = sqlx::query(&self.sql.load_snapshot)
            .bind(aggregate_kind)
            .bind(aggregate_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|row| snapshot_from(&row, aggregate_kind, aggregate_id, LOAD_SNAPSHOT))
            .transpose()
    }

    /// See [`EventStore::load_stream`](eventstore_core::EventStore::load_stream).
    pub(super) async fn read_stream(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> Result<LoadedStream> {
        let sql = if idempotency_key.is_some() {
            &self.sql.load_stream_keyed
        } else {
            &self.sql.load_stream
        };
        let mut rows = sqlx::query(sql)
            .bind(aggregate_kind)
            .bind(aggregate_id)
            .bind(idempotency_key)
            .bind(row_limit(limit))
            .fetch(&self.pool);
        // the rows come in no set order (load_stream.sql): the header is
        // the row of part 0, and the events are put in version order here,
        // which costs one pass when the index returned them in order
        let mut header = None;
        let mut events = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(backend)? {
            if column::<i32>(&row, LOAD_STREAM.part)? == 0 {
                header = Some(stream_header(&row, aggregate_kind, aggregate_id)?);
            } else {
                let stream = (aggregate_kind, aggregate_id);
                events.push(stream_event(&row, LOAD_STREAM.event, stream)?);
            }
        }
        let Some((key_outcome, snapshot, forgets)) = header else {
            return Err(Error::UnexpectedReply {
                problem: "load_stream returned no header row".to_owned(),
            });
        };
        events.sort_by_key(|event| event.version);
        Ok(LoadedStream {
            snapshot,
            events,
            key_outcome,
            forgets,
        })
    }
}

/// The header row of `load_stream.sql`: what the key recorded, the
/// snapshot, and how many times the stream was forgotten.
fn stream_header(
    row: &PgRow,
    kind: &str,
    id: &str,
) -> Result<(Option<RecordedOutcome>, Option<Snapshot>, u64)> {
    let recorded = key_outcome(row, LOAD_STREAM.key)?;
    let has_snapshot = column::<Option<i64>>(row, LOAD_STREAM.snapshot_version)?.is_some();
    let snapshot = if has_snapshot {
        Some(snapshot_from(row, kind, id, LOAD_STREAM.snapshot())?)
    } else {
        None
    };
    Ok((
        recorded,
        snapshot,
        unsigned(row, LOAD_STREAM.forgets, "forgets")?,
    ))
}

/// The snapshot in the columns `columns` of `row`, of the stream
/// `kind`/`id` whose row was found (an id that was checked when the
/// snapshot was saved).
fn snapshot_from(row: &PgRow, kind: &str, id: &str, columns: SnapshotColumns) -> Result<Snapshot> {
    Ok(Snapshot {
        aggregate_kind: kind.to_owned(),
        aggregate_id: id.parse()?,
        version: unsigned(row, columns.version, "snapshot version")?,
        forgets: unsigned(row, columns.forgets, "forgets")?,
        schema_version: fit(
            "snapshot schema version",
            column::<i32>(row, columns.schema_version)?,
        )?,
        state: json_text(row, columns.state)?,
    })
}
