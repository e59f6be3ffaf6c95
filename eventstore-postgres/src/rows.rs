//! Turning rows into envelopes.

use std::time::{Duration, SystemTime};

use eventstore_core::{Error, EventId, Metadata, RecordedEvent, Result};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Wraps a database failure as the core crate's backend error.
pub(crate) fn backend(error: sqlx::Error) -> Error {
    Error::Backend(Box::new(error))
}

/// A column that the store's own SQL always fills.
pub(crate) fn column<'r, T>(row: &'r PgRow, name: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name).map_err(backend)
}

/// Microseconds since the epoch, as PostgreSQL computed them.
pub(crate) fn time_from_micros(micros: i64) -> SystemTime {
    let micros = u64::try_from(micros).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

/// Reads a non-negative bigint as u64.
pub(crate) fn unsigned(row: &PgRow, name: &str) -> Result<u64> {
    let value: i64 = column(row, name)?;
    u64::try_from(value).map_err(|_| corrupt(format!("negative {name} {value}")))
}

/// An event row, for a stream whose kind and id the caller knows, or that
/// the row names (`aggregate_kind`, `aggregate_id` columns).
pub(crate) fn recorded_event(row: &PgRow, stream: Option<(&str, &str)>) -> Result<RecordedEvent> {
    let (aggregate_kind, aggregate_id) = match stream {
        Some((kind, id)) => (kind.to_owned(), id.to_owned()),
        None => (column(row, "aggregate_kind")?, column(row, "aggregate_id")?),
    };
    let version = unsigned(row, "version")?;
    let id_text: String = column(row, "id")?;
    let id: EventId = id_text.parse().map_err(|e| {
        corrupt(format!(
            "{aggregate_kind} {aggregate_id:?} version {version}: {e}"
        ))
    })?;
    let metadata: Value = column(row, "metadata")?;
    let metadata: Metadata = serde_json::from_value(metadata).map_err(|e| {
        corrupt(format!(
            "metadata of {aggregate_kind} {aggregate_id:?} version {version}: {e}"
        ))
    })?;
    Ok(RecordedEvent {
        id,
        position: unsigned(row, "position")?,
        tx: unsigned(row, "tx")?,
        version,
        kind: column(row, "kind")?,
        body: column(row, "body")?,
        metadata,
        recorded_at: time_from_micros(column(row, "created_us")?),
        aggregate_kind,
        aggregate_id,
    })
}

/// A row that the store's own code could not have written.
fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Backend(format!("corrupt event row: {what}").into())
}
