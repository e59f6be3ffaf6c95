//! Fresh key-value buckets for the tests of [`KvReactors`](eventstore_nats::KvReactors)
//! and [`KvDeadlines`](eventstore_nats::KvDeadlines) on the shared NATS
//! server ([`shared_jetstream`]), from several connections as separate
//! processes would open them: a layout no other test uses, in memory, and
//! what deletes its buckets when the test ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventstore_core::EventId;
use eventstore_nats::BucketLayout;
use eventstore_nats::async_nats::jetstream;

use crate::nats_server::shared_jetstream;

/// The prefix of the buckets that tests make (`KV_` and this start their
/// streams' names).
const TEST_PREFIX: &str = "kvtest";

/// Test buckets older than this are deleted by later tests (those of a
/// run that was killed before it could delete its own).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A fresh layout: a prefix no other test uses, which says when it was
/// made, buckets in memory.
pub async fn fresh_layout() -> BucketLayout {
    delete_stale_buckets(&shared_jetstream().await).await;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    BucketLayout::new(format!("{TEST_PREFIX}{secs}_{}", EventId::new())).in_memory()
}

/// Deletes the test buckets made more than [`STALE_AFTER`] ago.
async fn delete_stale_buckets(context: &jetstream::Context) {
    use futures_util::StreamExt as _;
    let oldest = SystemTime::now()
        .checked_sub(STALE_AFTER)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_secs());
    let names: Vec<String> = context
        .stream_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    for name in names {
        let Some(rest) = name.strip_prefix(&format!("KV_{TEST_PREFIX}")) else {
            continue;
        };
        let made: Option<u64> = rest.split('_').next().and_then(|s| s.parse().ok());
        if made.is_some_and(|made| made < oldest) {
            // another test's sweep may be deleting it too
            let _ = context.delete_stream(&name).await;
        }
    }
}

/// Deletes test buckets when dropped (at the end of a test),
/// on a thread, runtime and connection of its own: a drop cannot wait on
/// the test's runtime, which may be the thread dropping.
#[derive(Debug)]
pub struct DeleteOnDrop {
    buckets: Vec<String>,
}

impl DeleteOnDrop {
    /// Deletes the buckets `<prefix>_<name>` of `layout` when dropped.
    #[must_use]
    pub fn new(layout: &BucketLayout, names: &[&str]) -> Self {
        Self {
            buckets: names
                .iter()
                .map(|name| format!("{}_{name}", layout.prefix))
                .collect(),
        }
    }
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let buckets = std::mem::take(&mut self.buckets);
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to delete test buckets");
            runtime.block_on(async {
                let context = shared_jetstream().await;
                for name in buckets {
                    if let Err(error) = context.delete_key_value(&name).await {
                        return Err(format!("{name}: {error}"));
                    }
                }
                Ok(())
            })
        })
        .join();
        if let Ok(Err(error)) = deleted {
            eprintln!("test buckets left behind: {error}");
        }
    }
}
