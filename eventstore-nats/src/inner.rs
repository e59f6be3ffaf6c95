//! [`NatsStore`], the handle, and what its clones share.

use std::sync::{Arc, Once};

use async_nats::jetstream::{self, kv};
use tokio::sync::watch;

use crate::deadlines::KvDeadlines;
use crate::heads::Heads;
use crate::options::NatsOptions;
use crate::reactors::KvReactors;
use crate::secrets::Secrets;

/// The event store on NATS JetStream: one stream of commits, one subject
/// per aggregate, idempotency keys and snapshots in key-value buckets.
/// Clones share one connection.
///
/// Make one with [`NatsStore::connect`].
#[derive(Debug, Clone)]
pub struct NatsStore {
    pub(crate) inner: Arc<Inner>,
}

/// What the clones of a store share.
#[derive(Debug)]
pub(crate) struct Inner {
    /// The JetStream context of the connection.
    pub(crate) js: jetstream::Context,
    /// The stream of commits.
    pub(crate) stream: jetstream::stream::Stream,
    /// The idempotency keys.
    pub(crate) keys: kv::Store,
    /// The snapshots.
    pub(crate) snapshots: kv::Store,
    /// The keys that seal every stored body, snapshot state and refusal.
    pub(crate) secrets: Secrets,
    /// The options it was connected with.
    pub(crate) options: NatsOptions,
    /// Checkpoints, leases, runners and parked events of reactors.
    pub(crate) reactors: KvReactors,
    /// The sagas' pending deadlines.
    pub(crate) deadlines: KvDeadlines,
    /// Where this process last saw streams.
    pub(crate) heads: Heads,
    /// Counts the messages published on the stream's subjects, for wakeups.
    pub(crate) appended: Arc<watch::Sender<u64>>,
    /// Whether the subscription that feeds `appended` was started
    /// ([`Inner::watch_appends`]).
    pub(crate) watching: Once,
}

impl NatsStore {
    /// The options the store was connected with.
    #[must_use]
    pub fn options(&self) -> &NatsOptions {
        &self.inner.options
    }

    /// The JetStream context of the store's connection: for tools and
    /// tests that read the stream and buckets as they are.
    #[must_use]
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.inner.js
    }
}
