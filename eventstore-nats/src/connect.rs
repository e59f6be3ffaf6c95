//! Connecting a [`NatsStore`]: the stream and the buckets it needs (the
//! idempotency keys, the snapshots, the secrets) are created, or checked
//! when they exist.

use std::sync::{Arc, Once, Weak};

use async_nats::Subscriber;
use async_nats::jetstream;
use async_nats::jetstream::stream::Config;
use eventstore_core::{Error, Result};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::deadlines::KvDeadlines;
use crate::error::failed;
use crate::heads::Heads;
use crate::inner::{Inner, NatsStore};
use crate::kv::ensure_bucket;
use crate::options::NatsOptions;
use crate::reactors::KvReactors;
use crate::secrets::Secrets;

impl NatsStore {
    /// Connects to the server of `options`, and creates the stream and
    /// the buckets unless they exist; a stream that exists must have the
    /// settings the store relies on.
    ///
    /// ```no_run
    /// use eventstore_nats::{NatsOptions, NatsStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let store = NatsStore::connect(NatsOptions::new("nats://127.0.0.1:4222")).await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a stream name or prefix that cannot
    /// work; [`Error::Backend`] when the server cannot be reached, has no
    /// JetStream, or holds a stream of that name with other settings.
    pub async fn connect(options: NatsOptions) -> Result<Self> {
        options.validate()?;
        let client = async_nats::connect(options.url.as_str())
            .await
            .map_err(|e| failed(format!("cannot connect to NATS at {}", options.url), e))?;
        let js = jetstream::new(client);
        let stream = ensure_stream(&js, &options).await?;
        let storage = options.storage_type();
        let bucket = |name| ensure_bucket(&js, name, storage, options.replicas);
        let keys = bucket(options.idempotency_bucket()).await?;
        let snapshots = bucket(options.snapshot_bucket()).await?;
        let secrets = Secrets::new(bucket(options.secrets_bucket()).await?);
        let layout = options.bucket_layout();
        let reactors = KvReactors::open(&js, &layout).await?;
        let deadlines = KvDeadlines::open(&js, &layout).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                js,
                stream,
                keys,
                snapshots,
                secrets,
                options,
                heads: Heads::default(),
                reactors,
                deadlines,
                appended: Arc::new(watch::Sender::new(0)),
                watching: Once::new(),
            }),
        })
    }
}

/// The stream of commits, created unless it exists, and checked.
async fn ensure_stream(
    js: &jetstream::Context,
    options: &NatsOptions,
) -> Result<jetstream::stream::Stream> {
    let config = Config {
        name: options.stream.clone(),
        subjects: vec![options.subjects()],
        storage: options.storage_type(),
        num_replicas: options.replicas,
        allow_direct: true,
        deny_delete: true,
        deny_purge: true,
        ..Config::default()
    };
    let stream = js.get_or_create_stream(config).await.map_err(|e| {
        failed(
            format!("cannot create or open the stream {:?}", options.stream),
            e,
        )
    })?;
    let found = &stream.cached_info().config;
    let subjects = options.subjects();
    if !found.subjects.contains(&subjects) || !found.deny_delete || !found.deny_purge {
        return Err(Error::backend(
            format!(
                "the stream {:?} exists with other settings than the store's",
                options.stream
            ),
            format!(
                "it must take {subjects:?} and deny deletes and purges; it takes {:?}, \
                 deny_delete {}, deny_purge {}",
                found.subjects, found.deny_delete, found.deny_purge
            ),
        ));
    }
    Ok(stream)
}

impl Inner {
    /// Starts counting the messages published on the stream's subjects
    /// into [`appended`](Inner::appended), once per store and only when a
    /// reader asks for wake-ups: a store that only appends and loads does
    /// not receive every message a second time. Outside a tokio runtime, or
    /// when the subscription fails (logged), readers fall back on their
    /// timer.
    pub(crate) fn watch_appends(&self) {
        // outside a runtime nothing is started, and a later call may start it
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.watching.call_once(|| {
            let client = self.js.client();
            let subjects = self.options.subjects();
            let counter = Arc::downgrade(&self.appended);
            runtime.spawn(async move {
                match client.subscribe(subjects.clone()).await {
                    Ok(subscriber) => count_appends(subscriber, &counter).await,
                    Err(e) => tracing::warn!(
                        subjects,
                        error = %e,
                        "cannot subscribe to the stream's subjects: readers wake on their timer"
                    ),
                }
            });
        });
    }
}

/// Counts every message on the stream's subjects into `counter`, until
/// the store is gone: readers wake on it rather than poll.
async fn count_appends(mut subscriber: Subscriber, counter: &Weak<watch::Sender<u64>>) {
    while subscriber.next().await.is_some() {
        let Some(counter) = counter.upgrade() else {
            break;
        };
        counter.send_modify(|count| *count += 1);
    }
}
