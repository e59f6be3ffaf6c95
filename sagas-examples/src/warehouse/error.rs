//! What can go wrong in the warehouse: bad input, a malformed message, or
//! NATS failing.

use std::fmt;

/// The warehouse's errors. Each names the value or message at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A warehouse, product, location or namespace name that cannot be a
    /// subject token and key-value key.
    #[error("invalid {what} {value:?}: use 1 to 64 letters, digits, `-` or `_`")]
    InvalidName {
        /// Which kind of name it was.
        what: &'static str,
        /// The name as given.
        value: String,
    },
    /// A quantity that is not a whole number from 1 to 1,000,000,000.
    #[error("invalid quantity {0:?}: a quantity is a whole number from 1 to 1000000000")]
    InvalidQuantity(String),
    /// An event type other than replenished, sold, moved or destroyed.
    #[error("unknown event type {0:?}: expected replenished, sold, moved or destroyed")]
    UnknownType(String),
    /// A threshold that is neither `N` nor `PRODUCT=N` with N a whole
    /// number.
    #[error("invalid threshold {0:?}: expected N or PRODUCT=N, N a whole number")]
    InvalidThreshold(String),
    /// A move without both ends, or locations given to an event that is
    /// not a move.
    #[error("{0}")]
    InvalidMove(&'static str),
    /// A message on the warehouse's stream that is not a stock event.
    #[error("message {sequence} on {subject}: {problem}")]
    Malformed {
        /// Its stream sequence.
        sequence: u64,
        /// Its subject.
        subject: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A stock entry stayed contended: every compare-and-set lost.
    #[error("stock entry {key} changed under {attempts} attempts to update it")]
    Contended {
        /// The entry's key.
        key: String,
        /// How many updates were tried.
        attempts: u32,
    },
    /// A stock entry whose stored value cannot be read.
    #[error("stock entry {key} is unreadable")]
    UnreadableEntry {
        /// The entry's key.
        key: String,
        /// Why it cannot be decoded.
        #[source]
        source: serde_json::Error,
    },
    /// NATS failed while doing something.
    #[error("{doing}")]
    Nats {
        /// What was being done, e.g. "publishing to warehouse.north.product.p1".
        doing: String,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },
}

/// What is wrong with a received message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A header that every stock event carries is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header whose value cannot be read.
    #[error("header {header} has the invalid value {value:?}")]
    BadHeader {
        /// The header's name.
        header: &'static str,
        /// Its value.
        value: String,
    },
    /// A body format other than `json`.
    #[error("unknown format {0:?}: expected \"json\"")]
    UnknownFormat(String),
    /// A `myorg_type` that is not a stock event type.
    #[error("unknown event type {0:?}: expected replenished, sold, moved or destroyed")]
    UnknownType(String),
    /// A subject that is not `warehouse.<warehouse>.product.<product>`.
    #[error("the subject is not <root>.<warehouse>.product.<product>")]
    BadSubject,
    /// A body that does not decode as its type's fields.
    #[error("undecodable body: {0}")]
    BadBody(String),
}

/// The warehouse's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps a NATS error with what was being done.
pub(crate) fn nats<E>(doing: impl fmt::Display) -> impl FnOnce(E) -> Error
where
    E: Into<async_nats::Error>,
{
    let doing = doing.to_string();
    move |source| Error::Nats {
        doing,
        source: source.into(),
    }
}
