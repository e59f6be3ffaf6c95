//! The NATS JetStream event store for `eventstore-core`, being built (issue
//! 19): one stream per store, one subject per aggregate,
//! `<prefix>.<kind>.<id>`.
//!
//! So far it holds the naming of those subjects: aggregate kinds and ids
//! are free text, subject tokens are not, so each is encoded into a token,
//! reversibly ([`subject`]); and the state kept beside the events in
//! key-value buckets: the reactor runtime's checkpoints, leases, runners
//! and parked events ([`KvReactors`]) and the sagas' pending deadlines
//! ([`KvDeadlines`]), each bucket named after a [`BucketLayout`].

mod deadlines;
mod kv;
mod reactors;
pub mod subject;

pub use async_nats;
pub use deadlines::KvDeadlines;
pub use kv::BucketLayout;
pub use reactors::{EventsAt, KvReactors};
