//! NATS for the crate's own tests: the server at 127.0.0.1:4222, and
//! key-value buckets made for one test and deleted when it ends, passed or
//! failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, kv, stream::StorageType};

use crate::kv::ensure_bucket;

/// Where the tests find NATS.
pub(crate) const URL: &str = "nats://127.0.0.1:4222";

/// A JetStream context on a new connection; panics with how to start NATS
/// when there is none.
pub(crate) async fn jetstream() -> jetstream::Context {
    let client = async_nats::connect(URL).await.unwrap_or_else(|e| {
        panic!("no NATS at {URL} ({e}): start NATS with JetStream: scripts/ensure-nats")
    });
    jetstream::new(client)
}

/// A bucket of its own for one test, deleted on drop.
pub(crate) struct TestBucket {
    /// The JetStream context it was made with.
    pub(crate) jetstream: jetstream::Context,
    /// The bucket.
    pub(crate) kv: kv::Store,
    /// Its name.
    pub(crate) name: String,
}

impl TestBucket {
    /// A new bucket as the store makes its own (history 1), in memory,
    /// with a unique name starting with `test_`.
    pub(crate) async fn new() -> Self {
        static MADE: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}_{nanos}", std::process::id());
        let jetstream = jetstream().await;
        let kv = ensure_bucket(&jetstream, name.clone(), StorageType::Memory, 1)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot make bucket {name} ({e}): is JetStream on? scripts/ensure-nats")
            });
        Self {
            jetstream,
            kv,
            name,
        }
    }

    /// The raw payloads of every message in the bucket's stream.
    pub(crate) async fn raw_messages(&self) -> Vec<Vec<u8>> {
        let mut stream = self
            .jetstream
            .get_stream(format!("KV_{}", self.name))
            .await
            .expect("the bucket's stream");
        let info = stream.info().await.expect("stream info").state.clone();
        let mut payloads = Vec::new();
        // a bucket of one test holds a few dozen messages at most
        assert!(info.last_sequence < 10_000, "{info:?}");
        for sequence in info.first_sequence..=info.last_sequence {
            if let Ok(message) = stream.get_raw_message(sequence).await {
                payloads.push(message.payload.to_vec());
            }
        }
        assert_eq!(payloads.len() as u64, info.messages, "every message read");
        payloads
    }
}

impl Drop for TestBucket {
    fn drop(&mut self) {
        // the test's runtime may be gone or blocked: a thread of its own,
        // with its own runtime and connection
        let name = std::mem::take(&mut self.name);
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let jetstream = jetstream().await;
                jetstream.delete_key_value(&name).await.map(|_| ())
            })
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("the test bucket was not deleted: {deleted:?}");
        }
    }
}
