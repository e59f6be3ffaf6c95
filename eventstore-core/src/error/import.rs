//! [`ImportProblem`]: why a bulk import refused a line of its input.

use std::fmt;

use super::IdProblem;

/// Why a bulk import (such as `PgEventStore::import` of
/// `eventstore-postgres`) refused one line of its input: what
/// [`Error::Import`](crate::Error::Import) holds, with the line's number.
/// Nothing of the input was imported.
///
/// ```
/// use eventstore_core::{Error, ImportProblem};
/// let error = Error::Import {
///     line: 7,
///     problem: ImportProblem::Gap {
///         aggregate_kind: "Account".into(),
///         aggregate_id: "acc-1".into(),
///         expected: 3,
///         found: 4,
///     },
/// };
/// assert_eq!(
///     error.to_string(),
///     r#"cannot import line 7: Account "acc-1" needs version 3 next, the line has version 4; nothing was imported"#
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ImportProblem {
    /// The line could not be read from the input.
    Unreadable(std::io::Error),
    /// The line is not a JSON object with an event's fields, or a field
    /// holds what it cannot hold (a time that is not RFC 3339, version 0,
    /// an empty kind, an unknown field).
    Malformed {
        /// What is wrong, as the parser said it.
        reason: String,
    },
    /// The event's body is not a JSON object.
    BodyNotObject {
        /// The event's kind.
        kind: String,
    },
    /// The aggregate id is not an [`AggregateId`](crate::AggregateId).
    InvalidId {
        /// The id as given (cut to 300 bytes when very long).
        id: String,
        /// What is wrong with it.
        problem: IdProblem,
    },
    /// The store holds this version of the stream already.
    VersionExists {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The line's version.
        version: u64,
        /// The version the stream is at in the store.
        stored: u64,
    },
    /// An earlier line of the input has this version of the stream too.
    DuplicateVersion {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version given twice.
        version: u64,
    },
    /// The line's version does not follow the stream's last one (in the
    /// input, or in the store for the stream's first line): versions would
    /// have a gap.
    Gap {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version the stream needs next.
        expected: u64,
        /// The line's version.
        found: u64,
    },
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(error) => write!(f, "cannot read it: {error}"),
            Self::Malformed { reason } => f.write_str(reason),
            Self::BodyNotObject { kind } => {
                write!(f, "the body of {kind:?} is not a JSON object")
            }
            Self::InvalidId { id, problem } => {
                write!(f, "invalid aggregate id {id:?}: {problem}")
            }
            Self::VersionExists {
                aggregate_kind,
                aggregate_id,
                version,
                stored,
            } => write!(
                f,
                "version {version} of {aggregate_kind} {aggregate_id:?} exists already \
                 (the stream is at version {stored})"
            ),
            Self::DuplicateVersion {
                aggregate_kind,
                aggregate_id,
                version,
            } => write!(
                f,
                "version {version} of {aggregate_kind} {aggregate_id:?} is on an earlier line too"
            ),
            Self::Gap {
                aggregate_kind,
                aggregate_id,
                expected,
                found,
            } => write!(
                f,
                "{aggregate_kind} {aggregate_id:?} needs version {expected} next, \
                 the line has version {found}"
            ),
        }
    }
}
