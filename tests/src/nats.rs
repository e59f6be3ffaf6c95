//! Stores for tests against the shared NATS server with JetStream
//! ([`shared_url`], `scripts/ensure-nats` starts one): each test gets a stream
//! and buckets of its own, in memory, named after a fresh id; every test
//! store deletes those of earlier runs that are more than an hour old.

use std::time::{Duration, SystemTime};

use async_nats::jetstream;
use eventstore_core::EventId;
use eventstore_nats::{NatsOptions, NatsStore, Storage};
use futures_util::StreamExt;

use crate::nats_server::{HOW_TO_PROVIDE_NATS, shared_url};

/// The prefix of the names of test streams (and, after `KV_`, of their
/// buckets' streams).
const TEST_STREAM_PREFIX: &str = "estest_";

/// Test streams older than this are deleted by later test stores.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A stream name of its own for one test: the prefix and a fresh id,
/// which tells when it was made.
#[must_use]
pub fn test_stream_name() -> String {
    format!("{TEST_STREAM_PREFIX}{}", EventId::new())
}

/// The options of a fresh test store: its own stream, prefix and
/// buckets, in memory.
#[must_use]
pub fn fresh_options() -> NatsOptions {
    let name = test_stream_name();
    NatsOptions::new(shared_url())
        .stream(name.clone())
        .prefix(name)
        .storage(Storage::Memory)
}

/// A store with a stream and buckets of its own.
///
/// # Panics
/// When NATS cannot be reached, saying how to provide it.
pub async fn fresh_store() -> NatsStore {
    fresh_store_with(fresh_options()).await
}

/// A store connected with `options` (from [`fresh_options`]).
///
/// # Panics
/// When NATS cannot be reached, saying how to provide it.
pub async fn fresh_store_with(options: NatsOptions) -> NatsStore {
    let store = NatsStore::connect(options).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect a store: {}; {HOW_TO_PROVIDE_NATS}",
            eventstore_core::ErrorChain(&e)
        )
    });
    delete_stale_streams(store.jetstream()).await;
    store
}

/// When the test stream (or test bucket's stream) `name` was made, if it
/// is one.
fn made_at(name: &str) -> Option<SystemTime> {
    let name = name.strip_prefix("KV_").unwrap_or(name);
    let id = name.strip_prefix(TEST_STREAM_PREFIX)?;
    let id = id.split('_').next()?;
    Some(id.parse::<EventId>().ok()?.created_at())
}

/// Deletes the test streams and buckets made more than an hour ago (a
/// failing test's stay for a look until then).
async fn delete_stale_streams(js: &jetstream::Context) {
    let mut names = js.stream_names();
    let mut stale = Vec::new();
    while let Some(name) = names.next().await {
        let Ok(name) = name else { break };
        let old = made_at(&name)
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            stale.push(name);
        }
    }
    for name in stale {
        // another test run may delete it first
        let _ = js.delete_stream(&name).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_streams_and_their_buckets_tell_when_they_were_made() {
        let name = test_stream_name();
        let made = made_at(&name).expect("a test stream");
        assert!(made.elapsed().unwrap_or_default() < Duration::from_secs(5));
        assert_eq!(made_at(&format!("KV_{name}_idempotency")), Some(made));
        assert_eq!(made_at("EVENTS"), None);
        assert_eq!(made_at("KV_orders"), None);
    }
}
