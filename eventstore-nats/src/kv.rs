//! Key-value buckets as the reactor state and the deadlines use them: each
//! opened (or created) by name, every change a compare-and-set on the
//! revision read ([`Bucket::change`]), and the latest entries under a key
//! filter listed ([`Bucket::latest`]).
//!
//! A bucket keeps one value per key (history 1), so that a replaced value
//! leaves the bucket's stream. Values are JSON; a deleted key keeps a
//! delete marker, which reads as no value and whose revision the next
//! create must name, so that a create never overwrites a concurrent one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use async_nats::jetstream::kv::{self, Store, UpdateErrorKind};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use bytes::Bytes;
use eventstore_core::{Error, Result};

use crate::error::failed;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How many times a compare-and-set is tried against writers that keep
/// changing the same entry before it gives up (a transient error).
const MAX_ATTEMPTS: usize = 200;

/// Where the buckets go: their names' prefix, storage and replicas.
#[derive(Debug, Clone)]
pub struct BucketLayout {
    /// Every bucket's name starts with this and `_` (letters, digits, `-`
    /// and `_` only), say the stream's name: `EVENTS_leases`.
    pub prefix: String,
    /// File (the default) or memory.
    pub storage: StorageType,
    /// How many replicas each bucket keeps in a cluster.
    pub replicas: usize,
}

impl BucketLayout {
    /// Buckets named `<prefix>_...`, on file, one replica.
    ///
    /// ```
    /// use eventstore_nats::BucketLayout;
    /// let layout = BucketLayout::new("EVENTS");
    /// assert_eq!(layout.prefix, "EVENTS");
    /// ```
    #[must_use]
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            storage: StorageType::File,
            replicas: 1,
        }
    }

    /// The same buckets kept in memory (tests).
    ///
    /// ```
    /// use eventstore_nats::BucketLayout;
    /// use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
    /// assert_eq!(BucketLayout::new("T").in_memory().storage, StorageType::Memory);
    /// ```
    #[must_use]
    pub fn in_memory(mut self) -> Self {
        self.storage = StorageType::Memory;
        self
    }

    /// Opens the bucket `<prefix>_<name>`, creating it when missing.
    pub(crate) async fn open(&self, context: &jetstream::Context, name: &str) -> Result<Bucket> {
        Ok(Bucket {
            kv: self.open_store(context, name).await?,
        })
    }

    /// The bucket's handle, the bucket created when missing.
    async fn open_store(&self, context: &jetstream::Context, name: &str) -> Result<Store> {
        let bucket = format!("{}_{name}", self.prefix);
        ensure_bucket(context, bucket, self.storage, self.replicas.max(1)).await
    }
}

/// The bucket `name`, created unless it exists: one value per key (history
/// 1, so that a replaced value, such as a key set holding keys a forget
/// destroyed, leaves the bucket's stream).
///
/// Its stream is made here as a key-value bucket's stream is (the layout
/// async-nats reads buckets with), rather than by async-nats'
/// `create_key_value`, whose account query does not parse NATS 2.9's
/// reply. The crate's tests make their buckets with it too.
pub(crate) async fn ensure_bucket(
    js: &jetstream::Context,
    name: String,
    storage: StorageType,
    replicas: usize,
) -> Result<Store> {
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        storage,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: DiscardPolicy::New,
        ..stream::Config::default()
    };
    js.get_or_create_stream(config)
        .await
        .map_err(|e| failed(format!("cannot create or open the bucket {name:?}"), e))?;
    js.get_key_value(name.as_str())
        .await
        .map_err(|e| failed(format!("cannot open the bucket {name:?}"), e))
}

/// An opened bucket.
#[derive(Clone)]
pub(crate) struct Bucket {
    kv: Store,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Bucket").field(&self.kv.name).finish()
    }
}

/// What a compare-and-set does with the value it read.
pub(crate) enum Change<T, R> {
    /// Writes this value and answers `R`.
    Put(T, R),
    /// Deletes the entry (nothing when it has no value) and answers `R`.
    Delete(R),
    /// Writes nothing and answers `R`.
    Keep(R),
}

/// A decoded value and the revision it was read at (0: the key never had
/// one; a deleted key has the revision of its marker and no value).
struct Read<T> {
    value: Option<T>,
    revision: u64,
}

/// The entry `key` of `kv`, decoded.
async fn read<T: DeserializeOwned>(kv: &Store, key: &str) -> Result<Read<T>> {
    let entry = kv.entry(key).await.map_err(|error| {
        Error::transient(
            format!("cannot read {key} in the bucket {}", kv.name),
            error,
        )
    })?;
    let Some(entry) = entry else {
        return Ok(Read {
            value: None,
            revision: 0,
        });
    };
    let value = match entry.operation {
        kv::Operation::Put => Some(decode(kv, key, &entry.value)?),
        _ => None,
    };
    Ok(Read {
        value,
        revision: entry.revision,
    })
}

impl Bucket {
    /// The bucket's name.
    pub(crate) fn name(&self) -> &str {
        &self.kv.name
    }

    /// The value of `key`, if it has one.
    pub(crate) async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        Ok(read(&self.kv, key).await?.value)
    }

    /// Reads `key`, lets `decide` say what to do with its value, and does
    /// it only if the entry is still at the revision read; reads and decides
    /// again when another writer came between. Answers what `decide`
    /// answered and the revision written (`None` when nothing was written
    /// or it was a delete).
    pub(crate) async fn change<T, R>(
        &self,
        key: &str,
        decide: impl FnMut(Option<T>) -> Result<Change<T, R>>,
    ) -> Result<(R, Option<u64>)>
    where
        T: Serialize + DeserializeOwned,
    {
        change(&self.kv, key, decide).await
    }

    /// The latest value of every key that matches `filter` (a key with `*`
    /// and `>` wildcards), deleted keys left out: the keys as the bucket's
    /// stream lists its subjects, then one read each; in no order.
    pub(crate) async fn latest(&self, filter: &str) -> Result<Vec<Latest>> {
        latest(&self.kv, filter).await
    }

    /// The revision of the bucket's latest change (0 for none).
    pub(crate) async fn last_revision(&self) -> Result<u64> {
        let info = self.kv.stream.get_info().await.map_err(|error| {
            Error::transient(
                format!("cannot read the state of the bucket {}", self.kv.name),
                error,
            )
        })?;
        Ok(info.state.last_sequence)
    }

    /// Every change of the bucket from `revision` on, then each new one.
    pub(crate) async fn watch_from(&self, revision: u64) -> Result<kv::Watch> {
        self.kv
            .watch_all_from_revision(revision)
            .await
            .map_err(|error| {
                Error::transient(format!("cannot watch the bucket {}", self.kv.name), error)
            })
    }

    /// `bytes` of the entry `key` as a `T`.
    pub(crate) fn decode<T: DeserializeOwned>(&self, key: &str, bytes: &[u8]) -> Result<T> {
        decode(&self.kv, key, bytes)
    }
}

/// `bytes` of the entry `key` of `kv` as a `T`.
fn decode<T: DeserializeOwned>(kv: &Store, key: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|error| {
        Error::backend(
            format!("the entry {key} of the bucket {} does not decode", kv.name),
            error,
        )
    })
}

/// [`Bucket::change`] on `kv`.
async fn change<T, R>(
    kv: &Store,
    key: &str,
    mut decide: impl FnMut(Option<T>) -> Result<Change<T, R>>,
) -> Result<(R, Option<u64>)>
where
    T: Serialize + DeserializeOwned,
{
    for _ in 0..MAX_ATTEMPTS {
        let read = read::<T>(kv, key).await?;
        let had_value = read.value.is_some();
        let written = match decide(read.value)? {
            Change::Keep(answer) => return Ok((answer, None)),
            Change::Delete(answer) if !had_value => return Ok((answer, None)),
            Change::Delete(answer) => kv
                .delete_expect_revision(key, Some(read.revision))
                .await
                .map(|()| (answer, None)),
            Change::Put(value, answer) => {
                let json = serde_json::to_vec(&value).map_err(|error| {
                    Error::backend(format!("cannot encode {key} for {}", kv.name), error)
                })?;
                kv.update(key, Bytes::from(json), read.revision)
                    .await
                    .map(|revision| (answer, Some(revision)))
            }
        };
        match written {
            Ok(done) => return Ok(done),
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {}
            Err(error) => {
                return Err(Error::transient(
                    format!("cannot write {key} in the bucket {}", kv.name),
                    error,
                ));
            }
        }
    }
    Err(Error::transient(
        format!(
            "the entry {key} of the bucket {} changed under each of {MAX_ATTEMPTS} writes",
            kv.name
        ),
        "compare-and-set lost every race",
    ))
}

/// One key's latest value.
pub(crate) struct Latest {
    /// The key.
    pub(crate) key: String,
    /// Its value (JSON).
    pub(crate) value: Bytes,
}

/// [`Bucket::latest`] on `kv`: the keys from the stream's subjects, then
/// each key's entry. (An ordered consumer that reads the last message of
/// each subject cannot tell when it is done while the entries change: it
/// learns how many messages remain only from those it is sent.)
async fn latest(kv: &Store, filter: &str) -> Result<Vec<Latest>> {
    let failed = |error: async_nats::Error| {
        Error::transient(
            format!("cannot read the keys {filter} of the bucket {}", kv.name),
            error,
        )
    };
    let subjects: Vec<String> = kv
        .stream
        .info_with_subjects(format!("{}{filter}", kv.prefix))
        .await
        .map_err(|error| failed(error.into()))?
        .map(|subject| subject.map(|(subject, _)| subject))
        .try_collect()
        .await
        .map_err(|error| failed(error.into()))?;
    let mut found = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let Some(key) = subject.strip_prefix(kv.prefix.as_str()) else {
            continue;
        };
        let entry = kv.entry(key).await.map_err(|error| failed(error.into()))?;
        if let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) {
            found.push(Latest {
                key: key.to_owned(),
                value: entry.value,
            });
        }
    }
    Ok(found)
}

/// Microseconds since the epoch of `time` (0 before it).
pub(crate) fn micros(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
}

/// The time `us` microseconds after the epoch.
pub(crate) fn from_micros(us: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(us)
}

/// Milliseconds since the epoch, now, by this machine's clock.
pub(crate) fn now_millis() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the epoch when `ttl` from now runs out.
pub(crate) fn millis_after(ttl: Duration) -> u64 {
    now_millis().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}
