//! The pending deadlines of sagas in a key-value bucket,
//! `<prefix>_deadlines` ([`KvDeadlines`]): one entry per saga, changed by
//! compare-and-set, and read from an in-memory copy that the bucket's watch
//! keeps up to date, so that asking what is due costs no round trip.
//!
//! The entry of a saga, key `<kind>.<id>` (each one token of
//! [`encode_token`](crate::subject::encode_token)): the version of the
//! saga's stream it was synced from and its deadlines, due times in
//! microseconds since the epoch, payloads left out when null:
//! `{"version":3,"deadlines":[{"name":"timeout","due_us":1764320000000000,"payload":{"n":1}}]}`.
//! A saga that lists none keeps an entry with an empty list, so that a
//! late sync of an older version changes nothing.
//!
//! Another process's sync reaches this one's copy when the watch delivers
//! it (milliseconds): the copy is an index of the saga streams, and the
//! saga runtime checks each deadline against the saga's state before it
//! fires, as the [`DeadlineStore`](eventstore_core::DeadlineStore) trait
//! says.

mod index;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use async_nats::jetstream::kv::{Entry, Operation, Watch};
use eventstore_core::backend::{DeadlineSummary, DeadlinesAt, Partition, PendingDeadline};
use eventstore_core::{Deadline, Error, Result};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::task::AbortHandle;

use self::index::Index;
use crate::kv::{Bucket, BucketLayout, Change};
use crate::subject::{decode_token, encode_token};

/// How long opening may take to read the bucket into memory.
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// A saga's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SagaEntry {
    version: u64,
    deadlines: Vec<StoredDeadline>,
}

/// One deadline as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDeadline {
    name: String,
    due_us: u64,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    payload: serde_json::Value,
}

impl SagaEntry {
    fn of(version: u64, deadlines: &[Deadline]) -> Self {
        Self {
            version,
            deadlines: deadlines
                .iter()
                .map(|d| StoredDeadline {
                    name: d.name().to_owned(),
                    due_us: d.due_micros(),
                    payload: d.payload().clone(),
                })
                .collect(),
        }
    }

    fn deadlines(&self) -> Vec<Deadline> {
        self.deadlines
            .iter()
            .map(|d| {
                Deadline::at(d.name.clone(), UNIX_EPOCH + Duration::from_micros(d.due_us))
                    .with(d.payload.clone())
            })
            .collect()
    }
}

/// The key of a saga's entry.
fn saga_key(kind: &str, id: &str) -> String {
    format!("{}.{}", encode_token(kind), encode_token(id))
}

/// The saga kind and id a key of [`saga_key`] names.
fn saga_of_key(key: &str) -> Option<(String, String)> {
    let (kind, id) = key.split_once('.')?;
    Some((decode_token(kind).ok()?, decode_token(id).ok()?))
}

/// The pending deadlines of sagas in a key-value bucket: every method of
/// [`DeadlineStore`](eventstore_core::DeadlineStore), for a store to
/// delegate to. Reads are served from memory, kept up to date by a task
/// that watches the bucket and stops when the last clone is dropped.
///
/// A cheap handle to clone.
#[derive(Debug, Clone)]
pub struct KvDeadlines {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bucket: Bucket,
    index: Arc<Mutex<Index>>,
    watcher: AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Locks the index (a panic while it was held left it whole: each change
/// is one call).
fn lock(index: &Mutex<Index>) -> MutexGuard<'_, Index> {
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a watched entry into the index.
fn take(index: &Mutex<Index>, bucket: &Bucket, entry: &Entry) {
    let Some((kind, id)) = saga_of_key(&entry.key) else {
        tracing::warn!(
            bucket = bucket.name(),
            key = entry.key,
            "a key that names no saga"
        );
        return;
    };
    let value = match entry.operation {
        Operation::Put => match bucket.decode::<SagaEntry>(&entry.key, &entry.value) {
            Ok(saga) => Some((saga.version, saga.deadlines())),
            Err(error) => {
                tracing::warn!(%error, "a saga's deadlines are left out");
                return;
            }
        },
        Operation::Delete | Operation::Purge => None,
    };
    lock(index).apply(&kind, &id, entry.revision, value);
}

/// Follows the bucket's changes into the index, telling `seen` each
/// revision taken.
async fn follow(
    bucket: Bucket,
    mut watch: Watch,
    index: Arc<Mutex<Index>>,
    seen: tokio::sync::watch::Sender<u64>,
) {
    while let Some(entry) = watch.next().await {
        match entry {
            Ok(entry) => {
                take(&index, &bucket, &entry);
                seen.send_replace(entry.revision);
            }
            Err(error) => tracing::warn!(bucket = bucket.name(), %error, "watching deadlines"),
        }
    }
    tracing::warn!(bucket = bucket.name(), "the watch of deadlines ended");
}

impl KvDeadlines {
    /// Opens (or creates) the bucket `<prefix>_deadlines` and reads it into
    /// memory.
    ///
    /// # Errors
    /// [`Error::Backend`] naming the bucket.
    pub async fn open(context: &jetstream::Context, layout: &BucketLayout) -> Result<Self> {
        let bucket = layout.open(context, "deadlines").await?;
        let last = bucket.last_revision().await?;
        let watch = bucket.watch_from(1).await?;
        let index = Arc::new(Mutex::new(Index::default()));
        let (seen, mut taken) = tokio::sync::watch::channel(0);
        let watcher = tokio::spawn(follow(bucket.clone(), watch, Arc::clone(&index), seen));
        let deadlines = Self {
            inner: Arc::new(Inner {
                bucket,
                index,
                watcher: watcher.abort_handle(),
            }),
        };
        if last > 0 {
            let loaded = tokio::time::timeout(LOAD_TIMEOUT, taken.wait_for(|r| *r >= last)).await;
            if !matches!(loaded, Ok(Ok(_))) {
                return Err(Error::transient(
                    format!(
                        "cannot read the bucket {} up to revision {last}",
                        deadlines.inner.bucket.name()
                    ),
                    "the watch did not get there in time",
                ));
            }
        }
        Ok(deadlines)
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        lock(&self.inner.index)
    }

    /// Makes `at.deadlines` the saga's, unless a later version was synced.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn sync_deadlines(&self, at: DeadlinesAt) -> Result<()> {
        let id = at.saga_id.to_string();
        let key = saga_key(&at.saga_kind, &id);
        let entry = SagaEntry::of(at.version, &at.deadlines);
        let ((), written) = self
            .inner
            .bucket
            .change(&key, |kept: Option<SagaEntry>| {
                Ok(match kept {
                    Some(kept) if kept.version > at.version => Change::Keep(()),
                    _ => Change::Put(entry.clone(), ()),
                })
            })
            .await?;
        if let Some(revision) = written {
            self.index().apply(
                &at.saga_kind,
                &id,
                revision,
                Some((at.version, at.deadlines)),
            );
        }
        Ok(())
    }

    /// Removes a pending deadline (same saga, name and due time), if kept.
    ///
    /// # Errors
    /// [`Error::Backend`].
    pub async fn remove_deadline(&self, pending: &PendingDeadline) -> Result<()> {
        let id = pending.saga_id.to_string();
        let key = saga_key(&pending.saga_kind, &id);
        let (left, written) = self
            .inner
            .bucket
            .change(&key, |kept: Option<SagaEntry>| {
                let Some(mut kept) = kept else {
                    return Ok(Change::Keep(None));
                };
                let before = kept.deadlines.len();
                let due = pending.deadline.due_micros();
                kept.deadlines
                    .retain(|d| !(d.name == pending.deadline.name() && d.due_us == due));
                Ok(if kept.deadlines.len() == before {
                    Change::Keep(None)
                } else {
                    Change::Put(kept.clone(), Some(kept))
                })
            })
            .await?;
        if let (Some(left), Some(revision)) = (left, written) {
            self.index().apply(
                &pending.saga_kind,
                &id,
                revision,
                Some((left.version, left.deadlines())),
            );
        }
        Ok(())
    }

    /// The deadlines of `saga_kind` due at `now`, in firing order, at most
    /// `limit`, as this process last saw them.
    #[must_use]
    ///
    pub fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Vec<PendingDeadline> {
        self.index().due(saga_kind, partition, now, limit)
    }

    /// The earliest due time among `saga_kind`'s deadlines in `partition`.
    #[must_use]
    ///
    pub fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> Option<SystemTime> {
        self.index().next(saga_kind, partition)
    }

    /// What an operator sees of `saga_kind`'s pending deadlines at `now`.
    #[must_use]
    ///
    pub fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> DeadlineSummary {
        self.index().summary(saga_kind, now, limit)
    }
}
