//! Turning rows into envelopes.
//!
//! Every statement that returns events returns the columns of
//! [`EventColumns`] in one block. They are read by index, without sqlx's
//! per-value type check, and `tx` and `created_at` from their binary form:
//! each of these showed in profiles of a reactor reading a million events.
//! A body (and a snapshot's state) is kept as the JSON text PostgreSQL
//! sends, unparsed: the typed event is decoded from it once, later.

use std::time::SystemTime;

use eventstore_core::backend::{JsonText, RecordedOutcome, StreamEvent, stored_body, stored_json};
use eventstore_core::{Checkpoint, Error, EventId, Metadata, RecordedEvent, Result};
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::types::Json;
use sqlx::{Row, ValueRef};

use crate::convert::{fit, time_from_postgres_micros};
use crate::error::backend;
use crate::layout::{CheckpointColumns, EventColumns, KeyColumns, StreamEventColumns};

/// A column that the store's own SQL always fills, type-checked.
pub(crate) fn column<'r, T>(row: &'r PgRow, index: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(index).map_err(backend)
}

/// A bigint column that holds the number called `what`, never negative.
///
/// # Errors
/// [`Error::OutOfRange`] when it is negative.
pub(crate) fn unsigned(row: &PgRow, index: usize, what: &'static str) -> Result<u64> {
    fit(what, column::<i64>(row, index)?)
}

/// A checkpoint's two bigint columns.
pub(crate) fn checkpoint(row: &PgRow, columns: CheckpointColumns) -> Result<Checkpoint> {
    Ok(Checkpoint {
        tx: unsigned(row, columns.tx, "checkpoint transaction id")?,
        position: unsigned(row, columns.position, "checkpoint position")?,
    })
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

/// A `timestamptz` column: its binary form is microseconds since
/// 2000-01-01 UTC, big-endian.
///
/// # Errors
/// [`Error::OutOfRange`] for a time the system clock cannot represent.
pub(crate) fn timestamptz(row: &PgRow, index: usize) -> Result<SystemTime> {
    let micros = i64::from_be_bytes(eight_bytes(row, index)?);
    time_from_postgres_micros("timestamp in microseconds since 2000", micros)
}

/// The JSON text of a `jsonb` column, without parsing it: the binary form
/// of `jsonb` is a version byte, 1, then the text, which the server has
/// checked to be JSON.
///
/// # Errors
/// What is wrong, in words, for the caller to wrap: a null, a value in
/// text format, another version, text that is not UTF-8.
fn jsonb_text(row: &PgRow, index: usize) -> std::result::Result<&str, String> {
    let raw = row.try_get_raw(index).map_err(|e| e.to_string())?;
    if raw.format() != PgValueFormat::Binary {
        return Err("not in binary format".to_owned());
    }
    match raw.as_bytes().map_err(|e| e.to_string())? {
        [1, text @ ..] => std::str::from_utf8(text).map_err(|e| format!("not UTF-8: {e}")),
        [version, ..] => Err(format!("jsonb version {version}, not 1")),
        [] => Err("empty".to_owned()),
    }
}

/// A `jsonb` column that holds a snapshot's state, as its JSON text.
///
/// # Errors
/// [`Error::UnexpectedReply`] naming the column when it is no `jsonb` of
/// version 1.
pub(crate) fn json_text(row: &PgRow, index: usize) -> Result<JsonText> {
    jsonb_text(row, index)
        .map(stored_json)
        .map_err(|problem| Error::UnexpectedReply {
            problem: format!("snapshot state in column {index}: {problem}"),
        })
}

/// What an idempotency key recorded, in the columns `columns` of `row`:
/// `None` when the key is unused (`rejected` is null).
///
/// # Errors
/// [`Error::UnexpectedReply`] naming the column when the domain error is
/// no `jsonb` of version 1.
pub(crate) fn key_outcome(row: &PgRow, columns: KeyColumns) -> Result<Option<RecordedOutcome>> {
    let Some(rejected) = column::<Option<bool>>(row, columns.rejected)? else {
        return Ok(None);
    };
    if !rejected {
        return Ok(Some(RecordedOutcome::Applied));
    }
    let erased = row
        .try_get_raw(columns.rejection)
        .map_err(backend)?
        .is_null();
    if erased {
        return Ok(Some(RecordedOutcome::Rejected(None)));
    }
    let error = jsonb_text(row, columns.rejection)
        .map(stored_json)
        .map_err(|problem| Error::UnexpectedReply {
            problem: format!(
                "refusal's domain error in column {}: {problem}",
                columns.rejection
            ),
        })?;
    Ok(Some(RecordedOutcome::Rejected(Some(error))))
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

/// The event in the columns `columns` of `row`.
///
/// # Errors
/// [`Error::CorruptRow`] naming the row, when a column holds what the
/// store never writes; [`Error::UnexpectedReply`] when even the row's
/// identity cannot be read (a negative position); [`Error::Backend`] when
/// a column is missing.
pub(crate) fn recorded_event(row: &PgRow, columns: EventColumns) -> Result<RecordedEvent> {
    let position =
        fit("event position", known::<i64>(row, columns.position)?).map_err(corrupt_column)?;
    let aggregate_kind: String = known(row, columns.aggregate_kind)?;
    let aggregate_id: String = known(row, columns.aggregate_id)?;
    let version: i64 = known(row, columns.version)?;
    let corrupt = |problem: String| Error::CorruptRow {
        position,
        aggregate_kind: aggregate_kind.clone(),
        aggregate_id: aggregate_id.clone(),
        version,
        problem,
    };
    let version_number = fit("version", version).map_err(|e| corrupt(e.to_string()))?;
    let id_text: &str = known(row, columns.id)?;
    let id: EventId = id_text
        .parse()
        .map_err(|e| corrupt(format!("event id {id_text:?}: {e}")))?;
    let metadata =
        metadata(row, columns.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?;
    let kind = known(row, columns.kind).map_err(|e| corrupt(format!("kind: {e}")))?;
    let schema_version = schema_version(row, columns.schema_version).map_err(corrupt)?;
    let body = jsonb_text(row, columns.body)
        .and_then(|text| stored_body(text).map_err(|e| e.to_string()))
        .map_err(|e| corrupt(format!("body: {e}")))?;
    let recorded_at =
        timestamptz(row, columns.created_at).map_err(|e| corrupt(format!("created_at: {e}")))?;
    Ok(RecordedEvent {
        id,
        position,
        tx: xid8(row, columns.tx)?,
        version: version_number,
        kind,
        schema_version,
        body,
        metadata,
        recorded_at,
        aggregate_kind,
        aggregate_id,
    })
}

/// The event in the columns `columns` of `row`, as a load folds it, of the
/// stream `aggregate_kind` `aggregate_id` (which the statement read).
///
/// # Errors
/// As [`recorded_event`]'s.
pub(crate) fn stream_event(
    row: &PgRow,
    columns: StreamEventColumns,
    (aggregate_kind, aggregate_id): (&str, &str),
) -> Result<StreamEvent> {
    let position =
        fit("event position", known::<i64>(row, columns.position)?).map_err(corrupt_column)?;
    let version: i64 = known(row, columns.version)?;
    let corrupt = |problem: String| Error::CorruptRow {
        position,
        aggregate_kind: aggregate_kind.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        version,
        problem,
    };
    let version_number = fit("version", version).map_err(|e| corrupt(e.to_string()))?;
    let kind = known(row, columns.kind).map_err(|e| corrupt(format!("kind: {e}")))?;
    let schema_version = schema_version(row, columns.schema_version).map_err(corrupt)?;
    let body = jsonb_text(row, columns.body)
        .and_then(|text| stored_body(text).map_err(|e| e.to_string()))
        .map_err(|e| corrupt(format!("body: {e}")))?;
    Ok(StreamEvent {
        version: version_number,
        kind,
        schema_version,
        body,
    })
}

/// An event's `schema_version` column (an integer, from 1 by the table's
/// check) as the envelope's number.
///
/// # Errors
/// What is wrong, in words, for the caller to name the row with: a
/// missing column, a negative number.
fn schema_version(row: &PgRow, index: usize) -> std::result::Result<u32, String> {
    let stored: i32 = known(row, index).map_err(|e| format!("schema version: {e}"))?;
    fit("schema version", stored).map_err(|e| e.to_string())
}

/// A column that the store's own code could not have written, in a row
/// whose identity is unknown.
fn corrupt_column(what: impl std::fmt::Display) -> Error {
    Error::UnexpectedReply {
        problem: format!("corrupt event row: {what}"),
    }
}
