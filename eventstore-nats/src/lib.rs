//! The NATS JetStream event store for `eventstore-core`, being built (issue
//! 19): one stream per store, one subject per aggregate,
//! `<prefix>.<kind>.<id>`.
//!
//! So far it holds the naming of those subjects: aggregate kinds and ids
//! are free text, subject tokens are not, so each is encoded into a token,
//! reversibly ([`subject`]); crypto-shredding, which the store uses to
//! forget: every stored body field, snapshot state and refusal error is
//! sealed with a key of its aggregate, and forget destroys keys; and the
//! [`forward`]er that feeds a stream from another store, with the reader
//! that catches up from both.

#[cfg_attr(
    not(test),
    expect(dead_code, reason = "NatsStore::forget calls it (branch nats-store)")
)]
mod forget;
pub mod forward;
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "NatsStore's seal_body/open_body call it (branch nats-store)"
    )
)]
mod secrets;
pub mod subject;
#[cfg(test)]
mod test_nats;
