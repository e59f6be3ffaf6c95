//! The NATS JetStream event store for `eventstore-core`, being built (issue
//! 19): one stream per store, one subject per aggregate,
//! `<prefix>.<kind>.<id>`.
//!
//! So far it holds the naming of those subjects: aggregate kinds and ids
//! are free text, subject tokens are not, so each is encoded into a token,
//! reversibly ([`subject`]); and the [`forward`]er that feeds a stream
//! from another store, with the reader that catches up from both.

pub mod forward;
pub mod subject;
