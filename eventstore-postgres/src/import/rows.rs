//! An import's rows in COPY's binary format (`import_copy.sql`), sent as
//! they are encoded in one COPY: each field
//! as its length and its bytes, with nothing to escape and no number or
//! time for the server to parse.

use std::io::Write;

use eventstore_core::EventId;

use super::line::Line;

/// The binary format's header: signature, flags, header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end of the rows.
const TRAILER: &[u8] = &(-1_i16).to_be_bytes();
/// Fields per row, in the order of `import_copy.sql`'s column list.
const FIELDS: i16 = 10;
/// The version byte that starts a `jsonb` value.
const JSONB_VERSION: u8 = 1;

/// The rows of one COPY, encoded as they come.
#[derive(Debug)]
pub(crate) struct CopyRows {
    buffer: Vec<u8>,
}

impl CopyRows {
    /// No rows yet.
    pub(crate) fn new() -> Self {
        Self {
            buffer: HEADER.to_vec(),
        }
    }

    /// Adds `line` as a row with its event id and its stream's hash (as
    /// the bigint that appends store).
    pub(crate) fn push(&mut self, line: &Line<'_>, id: EventId, stream_hash: i64) {
        let b = &mut self.buffer;
        b.extend_from_slice(&FIELDS.to_be_bytes());
        b.extend_from_slice(&20_i32.to_be_bytes());
        let before = b.len();
        write!(b, "{id}").expect("writing to a Vec never fails");
        debug_assert_eq!(b.len() - before, 20, "an xid is 20 characters");
        text(b, line.aggregate_kind.as_bytes());
        text(b, line.aggregate_id.as_bytes());
        // a line's version is at most i64::MAX (Line::parse): the same bits
        bigint(b, i64::from_ne_bytes(line.version.to_ne_bytes()));
        text(b, line.kind.as_bytes());
        integer(b, line.schema_version);
        jsonb(b, line.body.as_bytes());
        jsonb(b, line.metadata.unwrap_or("{}").as_bytes());
        bigint(b, line.time.postgres_micros());
        bigint(b, stream_hash);
    }

    /// The rows encoded since the last call (the header before the
    /// first), to send.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let capacity = self.buffer.capacity();
        std::mem::replace(&mut self.buffer, Vec::with_capacity(capacity))
    }

    /// The last rows and the end of the data, to send.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(TRAILER);
        std::mem::take(&mut self.buffer)
    }
}

/// A field's length as the format writes it. A field is part of a line,
/// and the chunk reader refuses lines over 256 MiB, so it fits an `i32`.
fn length(bytes: usize) -> [u8; 4] {
    let fits = i32::try_from(bytes);
    debug_assert!(fits.is_ok(), "a field of {bytes} bytes");
    fits.unwrap_or(i32::MAX).to_be_bytes()
}

fn text(b: &mut Vec<u8>, value: &[u8]) {
    b.extend_from_slice(&length(value.len()));
    b.extend_from_slice(value);
}

fn jsonb(b: &mut Vec<u8>, json: &[u8]) {
    b.extend_from_slice(&length(json.len() + 1));
    b.push(JSONB_VERSION);
    b.extend_from_slice(json);
}

fn integer(b: &mut Vec<u8>, value: i32) {
    b.extend_from_slice(&4_i32.to_be_bytes());
    b.extend_from_slice(&value.to_be_bytes());
}

fn bigint(b: &mut Vec<u8>, value: i64) {
    b.extend_from_slice(&8_i32.to_be_bytes());
    b.extend_from_slice(&value.to_be_bytes());
}
