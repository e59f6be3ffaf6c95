//! Turning rows into envelopes.
//!
//! Every statement that returns events returns these columns, in this order
//! (from a given first column): id, position, tx, aggregate_kind,
//! aggregate_id, version, kind, body, metadata, created_at. They are read
//! by position, without sqlx's per-value type check, and `tx` and
//! `created_at` from their binary form: each of these showed in profiles of
//! a reactor reading a million events.

use std::time::{Duration, SystemTime};

use eventstore_core::{Error, EventId, Metadata, RecordedEvent, Result};
use sqlx::Row;
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::types::Json;

use crate::error::backend;

/// A column that the store's own SQL always fills.
pub(crate) fn column<'r, T, I>(row: &'r PgRow, index: I) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    I: sqlx::ColumnIndex<PgRow>,
{
    row.try_get(index).map_err(backend)
}

/// A checkpoint component, position or count as the bigint a statement
/// takes, clamped (no such value reaches i64::MAX in practice).
pub(crate) fn bigint(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Microseconds since the epoch, as PostgreSQL computed them.
pub(crate) fn time_from_micros(micros: i64) -> SystemTime {
    let micros = u64::try_from(micros).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

/// Reads a non-negative bigint as u64.
pub(crate) fn unsigned<I: sqlx::ColumnIndex<PgRow> + std::fmt::Display + Copy>(
    row: &PgRow,
    index: I,
) -> Result<u64> {
    let value: i64 = column(row, index)?;
    u64::try_from(value).map_err(|_| corrupt_column(format!("negative {index} {value}")))
}

/// The 8 bytes of a binary-format column.
fn eight_bytes(row: &PgRow, index: usize) -> Result<[u8; 8]> {
    let value = row.try_get_raw(index).map_err(backend)?;
    if value.format() != PgValueFormat::Binary {
        return Err(corrupt_column(format!(
            "column {index} is not in binary format"
        )));
    }
    let bytes = value
        .as_bytes()
        .map_err(|e| corrupt_column(format_args!("column {index}: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| corrupt_column(format!("column {index} has {} bytes, not 8", bytes.len())))
}

/// An `xid8` column: its binary form is the 64-bit id, big-endian. Read
/// raw, so that the server need not cast every row to text and bigint.
pub(crate) fn xid8(row: &PgRow, index: usize) -> Result<u64> {
    eight_bytes(row, index).map(u64::from_be_bytes)
}

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A `timestamptz` column: its binary form is microseconds since
/// 2000-01-01 UTC, big-endian.
pub(crate) fn timestamptz(row: &PgRow, index: usize) -> Result<SystemTime> {
    let micros = i64::from_be_bytes(eight_bytes(row, index)?);
    Ok(time_from_micros(
        micros.saturating_add(POSTGRES_EPOCH_MICROS),
    ))
}

/// A column of the store's own SQL, whose type is known: read without
/// sqlx's per-value type check.
pub(crate) fn known<'r, T>(row: &'r PgRow, index: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres>,
{
    row.try_get_unchecked(index).map_err(backend)
}

/// A `metadata` column. Most events carry none: an empty object is
/// recognised without running serde.
fn metadata(row: &PgRow, index: usize) -> std::result::Result<Metadata, sqlx::Error> {
    // binary jsonb: a version byte, then the JSON text
    const EMPTY: &[u8] = b"\x01{}";
    let raw = row.try_get_raw(index)?;
    if raw.format() == PgValueFormat::Binary && raw.as_bytes().ok() == Some(EMPTY) {
        return Ok(Metadata::default());
    }
    row.try_get_unchecked::<Json<Metadata>, _>(index)
        .map(|json| json.0)
}

/// The event whose columns start at `first`.
///
/// # Errors
/// [`Error::CorruptRow`] naming the row, when a column holds what the
/// store never writes; [`Error::UnexpectedReply`] when even the row's
/// identity cannot be read; [`Error::Backend`] when a column is missing.
pub(crate) fn recorded_event(row: &PgRow, first: usize) -> Result<RecordedEvent> {
    let aggregate_kind: String = known(row, first + 3)?;
    let aggregate_id: String = known(row, first + 4)?;
    let version: i64 = known(row, first + 5)?;
    let position: i64 = known(row, first + 1)?;
    let corrupt = |problem: String| match u64::try_from(position) {
        Ok(position) => Error::CorruptRow {
            position,
            aggregate_kind: aggregate_kind.clone(),
            aggregate_id: aggregate_id.clone(),
            version,
            problem,
        },
        Err(_) => corrupt_column(format!("negative position {position}: {problem}")),
    };
    let position = u64::try_from(position).map_err(|_| corrupt("negative position".into()))?;
    let version_number =
        u64::try_from(version).map_err(|_| corrupt(format!("negative version {version}")))?;
    let id_text: &str = known(row, first)?;
    let id: EventId = id_text
        .parse()
        .map_err(|e| corrupt(format!("event id {id_text:?}: {e}")))?;
    let metadata = metadata(row, first + 8).map_err(|e| corrupt(format!("metadata: {e}")))?;
    let kind = known(row, first + 6).map_err(|e| corrupt(format!("kind: {e}")))?;
    let body = known(row, first + 7).map_err(|e| corrupt(format!("body: {e}")))?;
    Ok(RecordedEvent {
        id,
        position,
        tx: xid8(row, first + 2)?,
        version: version_number,
        kind,
        body,
        metadata,
        recorded_at: timestamptz(row, first + 9)?,
        aggregate_kind,
        aggregate_id,
    })
}

/// A column that the store's own code could not have written, in a row
/// whose identity is unknown.
fn corrupt_column(what: impl std::fmt::Display) -> Error {
    Error::UnexpectedReply {
        problem: format!("corrupt event row: {what}"),
    }
}
