//! The key sets in the bucket: reading (through the cache), writing by
//! compare-and-set, and the bounded retry of a change on a conflict.

use std::sync::Arc;

use async_nats::jetstream::kv;

use crate::subject::encode_token;

use super::Sealed;
use super::body::Found;
use super::cache::{Cache, Cached};
use super::error::{SecretsError, aggregate};
use super::key_set::KeySet;

/// How many compare-and-set attempts a change of a key set makes before
/// [`SecretsError::Contended`].
pub(crate) const ATTEMPTS: u32 = 16;

/// What reading a key set's entry found: the set and its revision, if any.
pub(crate) type Read = Option<Cached>;

/// The key sets of a secrets bucket, with the process's cache of them.
#[derive(Debug)]
pub(crate) struct KeySets {
    kv: kv::Store,
    cache: Cache,
}

impl KeySets {
    /// The key sets in the bucket `kv`.
    pub(crate) fn new(kv: kv::Store) -> Self {
        Self {
            kv,
            cache: Cache::default(),
        }
    }

    /// What `open` finds with the aggregate's key set: the cached one, or,
    /// when it is too old for a key id it meets, one read again (an
    /// aggregate without a key set opens with an empty one: only values
    /// that seal nothing open).
    pub(crate) async fn opened<T>(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        open: impl Fn(&KeySet) -> Result<Found<T>, SecretsError>,
    ) -> Result<T, SecretsError> {
        let mut fresh = false;
        let mut current = self.cached(kind, id, forgets).await?;
        loop {
            let set = current
                .as_ref()
                .map_or_else(Arc::default, |c| Arc::clone(&c.set));
            match open(&set)? {
                Found::Value(value) => return Ok(value),
                Found::Stale { label } if fresh => {
                    return Err(SecretsError::CorruptValue {
                        aggregate: aggregate(kind, id),
                        field: label,
                        problem: "it names a key the aggregate never had".to_owned(),
                    });
                }
                Found::Stale { .. } => {
                    fresh = true;
                    current = self.read(kind, id).await?;
                }
            }
        }
    }

    /// Applies `change` to the aggregate's key set and stores the set if
    /// `change` changed it, by compare-and-set, again on a fresh copy after
    /// each conflict; what `change` returned, with the forget count of the
    /// set it was made with.
    pub(crate) async fn change<T>(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        mut change: impl FnMut(&mut KeySet) -> Result<T, SecretsError>,
    ) -> Result<Sealed<T>, SecretsError> {
        let mut current = self.cached(kind, id, forgets).await?;
        for _ in 0..ATTEMPTS {
            let mut set = current
                .as_ref()
                .map_or_else(KeySet::default, |c| KeySet::clone(&c.set));
            let value = change(&mut set)?;
            let forgets = set.forgets;
            if current.as_ref().is_some_and(|c| *c.set == set) {
                return Ok(Sealed { value, forgets });
            }
            let revision = current.as_ref().map(|c| c.revision);
            if self.write(kind, id, revision, set).await?.is_some() {
                return Ok(Sealed { value, forgets });
            }
            current = self.read(kind, id).await?;
        }
        Err(SecretsError::Contended {
            aggregate: aggregate(kind, id),
            attempts: ATTEMPTS,
        })
    }

    /// The cached key set of the aggregate if it counts `forgets` forgets
    /// or more, else the one in the bucket.
    pub(crate) async fn cached(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
    ) -> Result<Read, SecretsError> {
        match self.cache.get(&entry_name(kind, id), forgets) {
            Some(cached) => Ok(Some(cached)),
            None => self.read(kind, id).await,
        }
    }

    /// The aggregate's key set in the bucket, cached.
    pub(crate) async fn read(&self, kind: &str, id: &str) -> Result<Read, SecretsError> {
        let name = entry_name(kind, id);
        let entry = self.kv.entry(name.as_str()).await.map_err(|e| {
            let transient = e.kind() != kv::EntryErrorKind::InvalidKey;
            let what = format!("cannot read the key set of {}", aggregate(kind, id));
            nats_error(what, transient, e)
        })?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            self.cache.remove(&name);
            return Ok(None);
        };
        let set: KeySet =
            serde_json::from_slice(&entry.value).map_err(|e| SecretsError::CorruptKeySet {
                aggregate: aggregate(kind, id),
                problem: e.to_string(),
            })?;
        let cached = Cached {
            set: Arc::new(set),
            revision: entry.revision,
        };
        self.cache.put(&name, cached.clone());
        Ok(Some(cached))
    }

    /// Stores `set` as the aggregate's key set if the entry is still at
    /// `revision` (`None`: if there is none); the new revision, or `None`
    /// when another writer changed the entry first.
    pub(crate) async fn write(
        &self,
        kind: &str,
        id: &str,
        revision: Option<u64>,
        set: KeySet,
    ) -> Result<Option<u64>, SecretsError> {
        let name = entry_name(kind, id);
        let value = serde_json::to_vec(&set).map_err(|e| SecretsError::CorruptKeySet {
            aggregate: aggregate(kind, id),
            problem: e.to_string(),
        })?;
        let what = || format!("cannot write the key set of {}", aggregate(kind, id));
        let written = match revision {
            None => match self.kv.create(name.as_str(), value.into()).await {
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => None,
                other => Some(other.map_err(|e| {
                    let transient = e.kind() != kv::CreateErrorKind::InvalidKey;
                    nats_error(what(), transient, e)
                })?),
            },
            Some(revision) => match self.kv.update(name.as_str(), value.into(), revision).await {
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => None,
                other => Some(other.map_err(|e| {
                    let transient = e.kind() != kv::UpdateErrorKind::InvalidKey;
                    nats_error(what(), transient, e)
                })?),
            },
        };
        match written {
            Some(revision) => {
                let set = Arc::new(set);
                self.cache.put(&name, Cached { set, revision });
            }
            None => self.cache.remove(&name),
        }
        Ok(written)
    }
}

/// The bucket entry of the aggregate `kind` `id`.
fn entry_name(kind: &str, id: &str) -> String {
    format!("{}.{}", encode_token(kind), encode_token(id))
}

/// A client error of the bucket: `transient` for every one but an invalid
/// entry name (a kind or id token that is no key-value key).
fn nats_error(
    what: String,
    transient: bool,
    error: impl std::error::Error + Send + Sync + 'static,
) -> SecretsError {
    SecretsError::Nats {
        what,
        transient,
        source: Box::new(error),
    }
}
