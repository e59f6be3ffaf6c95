//! The NATS JetStream event store for `eventstore-core` (issue 19): one
//! stream per store, one subject per aggregate, `<prefix>.<kind>.<id>`,
//! one message per commit, idempotency keys and snapshots in key-value
//! buckets.
//!
//! [`NatsStore`] implements [`EventStore`](eventstore_core::EventStore)
//! and [`Tracker`](eventstore_core::Tracker):
//!
//! - an append publishes one message with all its events, expecting the
//!   aggregate's subject at the sequence of its last message (JetStream's
//!   `Nats-Expected-Last-Subject-Sequence`, 0 for a subject without
//!   messages): a writer that lost the race gets a conflict;
//! - event `i` of the message at stream sequence `seq` is at position
//!   `seq << 16 | i`, with the checkpoint `{tx: seq, position}`: the stream
//!   order is the commit order, so the tracker never skips;
//! - idempotency keys survive a writer that crashes between recording its
//!   key and publishing (see `keys.rs`);
//! - `forget` never rewrites a message (the stream denies deletes and
//!   purges): every top-level field of every stored event body, every
//!   snapshot state and every recorded refusal error is sealed (AES-256-GCM)
//!   with a key of its aggregate, kept in the bucket `<stream>_secrets`, and
//!   a forget destroys the keys of what it erases, which then reads as
//!   `null`, and publishes a forget marker on the aggregate's subject (see
//!   `secrets/`, `forget.rs`, `sealing.rs`).
//!
//! The [`forward`]er feeds a stream from another store, with the reader
//! that catches up from both.
//!
//! The state kept beside the events in key-value buckets is built apart,
//! for [`NatsStore`] to delegate to: the reactor runtime's checkpoints,
//! leases, runners and parked events ([`KvReactors`]) and the sagas'
//! pending deadlines ([`KvDeadlines`]), each bucket named after a
//! [`BucketLayout`].
//!
//! Aggregate kinds and ids are free text; subjects and key-value keys are
//! not, so each is encoded into a token, reversibly ([`subject`]).

mod commit;
mod connect;
mod deadlines;
mod error;
mod forget;
mod forgetting;
pub mod forward;
mod heads;
mod inner;
mod keys;
mod kv;
mod load;
mod options;
mod reactor_store;
mod reactors;
mod sealing;
mod secrets;
mod snapshots;
mod store;
pub mod subject;
#[cfg(test)]
mod test_nats;
mod tracker;

pub use async_nats;
pub use deadlines::KvDeadlines;
pub use inner::NatsStore;
pub use kv::BucketLayout;
pub use options::{NatsOptions, Storage};
pub use reactors::{EventsAt, KvReactors};
