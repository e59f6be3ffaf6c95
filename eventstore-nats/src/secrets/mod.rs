//! Crypto-shredding: every top-level field of every stored event body,
//! every snapshot state and every recorded refusal error is sealed
//! (AES-256-GCM) with a key of its aggregate, and forget destroys keys
//! instead of rewriting messages, which a JetStream stream never does.
//!
//! One aggregate's keys live in one entry of the secrets bucket (history 1,
//! so a replaced value, which holds the keys a forget destroyed, leaves the
//! bucket's stream), named `<kind token>.<id token>`
//! ([`encode_token`](crate::subject::encode_token)); see [`key_set`] for
//! its value. The entry changes only by compare-and-set on its revision
//! (`create`, or `update` with the revision read), retried on a conflict a
//! bounded number of times, so that two processes making keys for the same
//! aggregate at once end up using the same ones.
//!
//! What history 1 does not do: the server drops a replaced value by its
//! per-subject limit, which on file storage marks the record deleted
//! without overwriting it, so a destroyed key can stay on the server's
//! disk (and in its backups) until the block is compacted or removed.
//! Overwriting it at once would take a secure delete of every revision
//! that held it, which the bucket's `deny_delete` refuses.
//!
//! Each key's AES-256-GCM cipher (its key schedule) is made once and kept
//! with the key ([`set_key`]), so that it goes when a forget destroys the
//! key; nonces come from a per-thread ChaCha20 stream seeded by the OS
//! ([`nonce`]) rather than from one system call per value.
//!
//! Sealing and opening use a per-process [`cache`] of key sets: sealing
//! with keys that exist costs no read once the set is cached, and one read
//! otherwise. Every call takes the forget count the caller knows of the
//! aggregate (the `Es-Forgets` of the message it read or follows), and a
//! cached set counting fewer forgets is read again; the cache's module doc
//! says what a cached set can and cannot do after a forget elsewhere.

mod body;
mod bucket;
mod cache;
mod cipher;
mod error;
mod key_set;
mod nonce;
mod object;
mod set_key;

#[cfg(test)]
mod tests;

use async_nats::jetstream::kv;
use eventstore_core::backend::{JsonText, stored_body, stored_json};
use eventstore_core::{EventBody, ForgetRequest};

pub(crate) use self::body::{fields, sealed_text};
use self::bucket::{ATTEMPTS, KeySets};
pub(crate) use self::cipher::parse as parse_sealed;
pub(crate) use self::error::SecretsError;
use self::error::aggregate;
pub(crate) use self::key_set::Destroyed;
use self::key_set::{KeySet, Slot};

/// What the label of a snapshot state's sealed value is.
const STATE: &str = "(state)";

/// What the label of a refusal error's sealed value is.
const REFUSAL: &str = "(refusal)";

/// One event of an append, to seal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainEvent<'a> {
    /// The event kind.
    pub(crate) kind: &'a str,
    /// The schema version it is written at.
    pub(crate) schema_version: u32,
    /// Its body.
    pub(crate) body: &'a EventBody,
}

/// Something sealed, with the forget count of the key set that sealed it
/// (what the message that carries it says in `Es-Forgets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sealed<T> {
    /// The sealed text(s).
    pub(crate) value: T,
    /// The aggregate's forget count.
    pub(crate) forgets: u64,
}

/// An aggregate's forget count and the stream version of its last forget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Forgets {
    /// How many times the aggregate was forgotten.
    pub(crate) count: u64,
    /// The stream's version at the last forget (0 before any).
    pub(crate) forgotten_at: u64,
}

/// The key sets of one store's aggregates, in its secrets bucket.
#[derive(Debug)]
pub(crate) struct Secrets {
    sets: KeySets,
}

impl Secrets {
    /// The secrets kept in the bucket `kv` (history 1: see
    /// [`ensure_bucket`](crate::kv::ensure_bucket)).
    pub(crate) fn new(kv: kv::Store) -> Self {
        Self {
            sets: KeySets::new(kv),
        }
    }

    /// The bodies of one append's `events` to the aggregate `kind` `id`,
    /// each non-null top-level field sealed with the key of its (event
    /// kind, schema version, field), making the keys that are missing;
    /// `forgets` is the aggregate's forget count the caller knows.
    ///
    /// # Errors
    /// [`SecretsError`]: the bucket fails, keeps changing, or holds a
    /// corrupt set.
    pub(crate) async fn seal(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        events: &[PlainEvent<'_>],
    ) -> Result<Sealed<Vec<String>>, SecretsError> {
        let name = aggregate(kind, id);
        self.sets
            .change(kind, id, forgets, |set| {
                events
                    .iter()
                    .map(|e| {
                        body::seal_body(set, &name, (e.kind, e.schema_version), e.body.as_str())
                    })
                    .collect()
            })
            .await
    }

    /// The body `sealed` of an event of the aggregate `kind` `id`, read
    /// from a message that says `forgets`: each field opened, `null` where
    /// its key was destroyed.
    ///
    /// # Errors
    /// [`SecretsError::CorruptValue`] naming the first field that does not
    /// open (never read as `null`), and the bucket's errors.
    pub(crate) async fn open(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        sealed: &str,
    ) -> Result<EventBody, SecretsError> {
        let name = aggregate(kind, id);
        let text = self
            .sets
            .opened(kind, id, forgets, |set| body::open_body(set, &name, sealed))
            .await?;
        stored_body(&text).map_err(|e| SecretsError::CorruptBody {
            aggregate: name,
            problem: e.to_string(),
        })
    }

    /// A snapshot state of the aggregate `kind` `id`, sealed with its
    /// state key (made if missing).
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    pub(crate) async fn seal_state(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        state: &JsonText,
    ) -> Result<Sealed<String>, SecretsError> {
        self.seal_whole(kind, id, forgets, Slot::State, state).await
    }

    /// The snapshot state `sealed` opened; `None` when a forget destroyed
    /// its key (the snapshot is then to be ignored).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub(crate) async fn open_state(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        sealed: &str,
    ) -> Result<Option<JsonText>, SecretsError> {
        self.open_whole(kind, id, forgets, STATE, sealed).await
    }

    /// A refusal's domain error recorded on the aggregate `kind` `id`,
    /// sealed with its refusals key (made if missing).
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    pub(crate) async fn seal_refusal(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        error: &JsonText,
    ) -> Result<Sealed<String>, SecretsError> {
        self.seal_whole(kind, id, forgets, Slot::Refusals, error)
            .await
    }

    /// The refusal error `sealed` opened; `None` when a forget destroyed
    /// its key.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub(crate) async fn open_refusal(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        sealed: &str,
    ) -> Result<Option<JsonText>, SecretsError> {
        self.open_whole(kind, id, forgets, REFUSAL, sealed).await
    }

    /// Destroys the keys of what `request` erases from its aggregate (see
    /// [`KeySet::forget`]), counts the forget and records `stream_version`
    /// as the version it happened at, in one compare-and-set of the key
    /// set read from the bucket (never from the cache). `None`, writing
    /// nothing, when the aggregate has no key set: nothing of it was ever
    /// sealed. Later seals make fresh keys.
    ///
    /// # Errors
    /// The bucket's errors, [`SecretsError::Contended`].
    pub(crate) async fn forget(
        &self,
        request: &ForgetRequest,
        stream_version: u64,
    ) -> Result<Option<Destroyed>, SecretsError> {
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        for _ in 0..ATTEMPTS {
            let Some(read) = self.sets.read(kind, id).await? else {
                return Ok(None);
            };
            let mut set = KeySet::clone(&read.set);
            let destroyed = set.forget(request, stream_version);
            if self
                .sets
                .write(kind, id, Some(read.revision), set)
                .await?
                .is_some()
            {
                return Ok(Some(destroyed));
            }
        }
        Err(SecretsError::Contended {
            aggregate: aggregate(kind, id),
            attempts: ATTEMPTS,
        })
    }

    /// The forget count of the aggregate `kind` `id` and the stream
    /// version of its last forget, read from the bucket.
    ///
    /// # Errors
    /// The bucket's errors.
    pub(crate) async fn forgets(&self, kind: &str, id: &str) -> Result<Forgets, SecretsError> {
        Ok(self
            .sets
            .read(kind, id)
            .await?
            .map_or_else(Forgets::default, |read| Forgets {
                count: read.set.forgets,
                forgotten_at: read.set.forgotten_at,
            }))
    }

    /// `plain` sealed whole with the key of `slot`.
    async fn seal_whole(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        slot: Slot<'static>,
        plain: &JsonText,
    ) -> Result<Sealed<String>, SecretsError> {
        let label = if slot == Slot::State { STATE } else { REFUSAL };
        let name = aggregate(kind, id);
        self.sets
            .change(kind, id, forgets, |set| {
                body::seal_with(set, &name, slot, label, plain.as_str())
            })
            .await
    }

    /// A value sealed whole, bound to `label`, opened.
    async fn open_whole(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
        label: &str,
        sealed: &str,
    ) -> Result<Option<JsonText>, SecretsError> {
        let name = aggregate(kind, id);
        let text = self
            .sets
            .opened(kind, id, forgets, |set| {
                body::open_with(set, &name, label, sealed)
            })
            .await?;
        Ok(text.map(|text| stored_json(&text)))
    }
}
