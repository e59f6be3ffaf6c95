//! Snapshots, one entry per stream in the bucket `<stream>_snapshots`,
//! named `<kind>.<id>` (subject tokens), their states sealed with the
//! aggregate's state key, changed only by compare-and-set so that an older
//! snapshot never replaces a later one, nor one saved before a forget a
//! later forget count.

use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use eventstore_core::backend::Snapshot;
use eventstore_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::error::failed;
use crate::forget::StoredSnapshot;
use crate::inner::Inner;
use crate::subject::encode_token;

/// How many times a save reads the entry again after losing a race.
const SAVE_ROUNDS: u32 = 20;

/// A snapshot as the bucket holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u64,
    /// The aggregate's forget count that its state was loaded (and sealed)
    /// with.
    forgets: u64,
    schema_version: u32,
    /// The state, sealed.
    state: String,
}

/// The entry name of the stream `kind` `id`.
fn entry_name(kind: &str, id: &str) -> String {
    format!("{}.{}", encode_token(kind), encode_token(id))
}

/// The value of an entry.
fn value(name: &str, stored: &Stored) -> Result<bytes::Bytes> {
    serde_json::to_vec(stored)
        .map(Into::into)
        .map_err(|e| Error::backend(format!("cannot encode the snapshot {name}"), e))
}

impl Inner {
    /// The stored snapshot `name` and its revision.
    async fn read_snapshot(&self, name: &str) -> Result<Option<(Stored, u64)>> {
        let entry = self
            .snapshots
            .entry(name)
            .await
            .map_err(|e| failed(format!("cannot read the snapshot {name}"), e))?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        if matches!(entry.operation, Operation::Delete | Operation::Purge) {
            return Ok(None);
        }
        let stored = serde_json::from_slice(&entry.value)
            .map_err(|e| Error::backend(format!("the snapshot {name} is no snapshot"), e))?;
        Ok(Some((stored, entry.revision)))
    }

    /// See [`EventStore::load_snapshot`](eventstore_core::EventStore::load_snapshot).
    pub(crate) async fn load_snapshot(&self, kind: &str, id: &str) -> Result<Option<Snapshot>> {
        if self.subject(kind, id).is_none() {
            return Ok(None);
        }
        let forgets = self.forgets(kind, id).await?.count;
        self.snapshot_at((kind, id), forgets).await
    }

    /// The snapshot of the stream `kind` `id`, whose forget count is
    /// `forgets`, with its state opened; none when its state key was
    /// destroyed.
    pub(crate) async fn snapshot_at(
        &self,
        (kind, id): (&str, &str),
        forgets: u64,
    ) -> Result<Option<Snapshot>> {
        let Ok(aggregate_id) = id.parse() else {
            return Ok(None);
        };
        let Some((stored, _)) = self.read_snapshot(&entry_name(kind, id)).await? else {
            return Ok(None);
        };
        let Some(state) = self.open_state((kind, id), forgets, &stored.state).await? else {
            return Ok(None);
        };
        Ok(Some(Snapshot {
            aggregate_kind: kind.to_owned(),
            aggregate_id,
            version: stored.version,
            forgets,
            schema_version: stored.schema_version,
            state,
        }))
    }

    /// See [`EventStore::save_snapshot`](eventstore_core::EventStore::save_snapshot):
    /// refused (writing nothing) when its forget count is below the
    /// aggregate's, or its version at or below the last forget's.
    pub(crate) async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<()> {
        let (kind, id) = (&snapshot.aggregate_kind, snapshot.aggregate_id.as_str());
        let name = entry_name(kind, id);
        let forgets = self.forgets(kind, id).await?;
        let forgotten = forgets.count > 0 && snapshot.version <= forgets.forgotten_at;
        if snapshot.forgets < forgets.count || forgotten {
            // folded from what a forget erased
            return Ok(());
        }
        let sealed = self
            .seal_state((kind, id), forgets.count, &snapshot.state)
            .await?;
        if sealed.forgets != forgets.count {
            // a forget came in between: its keys must not seal this state
            return Ok(());
        }
        let value = value(
            &name,
            &Stored {
                version: snapshot.version,
                forgets: snapshot.forgets,
                schema_version: snapshot.schema_version,
                state: sealed.value,
            },
        )?;
        let what = || format!("cannot write the snapshot {name}");
        for _ in 0..SAVE_ROUNDS {
            let written = match self.read_snapshot(&name).await? {
                Some((existing, _)) if existing.version > snapshot.version => return Ok(()),
                Some((existing, _)) if existing.forgets > snapshot.forgets => return Ok(()),
                Some((_, revision)) => {
                    match self.snapshots.update(&name, value.clone(), revision).await {
                        Ok(_) => true,
                        Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => false,
                        Err(e) => return Err(failed(what(), e)),
                    }
                }
                None => match self.snapshots.create(&name, value.clone()).await {
                    Ok(_) => true,
                    Err(e) if e.kind() == CreateErrorKind::AlreadyExists => false,
                    Err(e) => return Err(failed(what(), e)),
                },
            };
            if written {
                return Ok(());
            }
        }
        // a snapshot is never required: later saves store one
        tracing::debug!(snapshot = %name, "other writers saved the snapshot first every time");
        Ok(())
    }

    /// The snapshot entry of the stream `kind` `id` as stored, for a forget.
    pub(crate) async fn stored_snapshot(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<StoredSnapshot>> {
        let stored = self.read_snapshot(&entry_name(kind, id)).await?;
        Ok(stored.map(|(stored, revision)| StoredSnapshot {
            revision,
            forgets: stored.forgets,
            state: stored.state,
        }))
    }

    /// Replaces the state of the snapshot entry of `kind` `id` at
    /// `revision` with `state`, sealed at `forgets` forgets; false when the
    /// entry is no longer at `revision`.
    pub(crate) async fn replace_snapshot_state(
        &self,
        (kind, id): (&str, &str),
        revision: u64,
        state: String,
        forgets: u64,
    ) -> Result<bool> {
        let name = entry_name(kind, id);
        let Some((stored, now)) = self.read_snapshot(&name).await? else {
            return Ok(false);
        };
        if now != revision {
            return Ok(false);
        }
        let stored = Stored {
            forgets,
            state,
            ..stored
        };
        match self
            .snapshots
            .update(&name, value(&name, &stored)?, revision)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(failed(format!("cannot write the snapshot {name}"), e)),
        }
    }

    /// Deletes the snapshot entry of `kind` `id` at `revision` (the bucket
    /// keeps one value per entry: the deletion replaces the state); false
    /// when the entry is no longer at `revision`.
    pub(crate) async fn delete_snapshot(
        &self,
        (kind, id): (&str, &str),
        revision: u64,
    ) -> Result<bool> {
        let name = entry_name(kind, id);
        match self
            .snapshots
            .delete_expect_revision(&name, Some(revision))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(failed(format!("cannot delete the snapshot {name}"), e)),
        }
    }
}
