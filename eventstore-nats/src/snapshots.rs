//! Snapshots, one entry per stream in the bucket `<stream>_snapshots`,
//! named `<kind>.<id>` (subject tokens), changed only by compare-and-set
//! so that an older snapshot never replaces a later one.

use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use eventstore_core::backend::{Snapshot, stored_json};
use eventstore_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::failed;
use crate::inner::Inner;
use crate::sealing::{open_body, seal_body};
use crate::subject::encode_token;

/// How many times a save reads the entry again after losing a race.
const SAVE_ROUNDS: u32 = 20;

/// A snapshot as the bucket holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u64,
    forgets: u64,
    schema_version: u32,
    /// The state, sealed.
    state: Box<RawValue>,
}

/// The entry name of the stream `kind` `id`.
fn entry_name(kind: &str, id: &str) -> String {
    format!("{}.{}", encode_token(kind), encode_token(id))
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
        let Ok(aggregate_id) = id.parse() else {
            return Ok(None);
        };
        let Some((stored, _)) = self.read_snapshot(&entry_name(kind, id)).await? else {
            return Ok(None);
        };
        Ok(Some(Snapshot {
            aggregate_kind: kind.to_owned(),
            aggregate_id,
            version: stored.version,
            forgets: stored.forgets,
            schema_version: stored.schema_version,
            state: stored_json(&open_body(&stored.state)),
        }))
    }

    /// See [`EventStore::save_snapshot`](eventstore_core::EventStore::save_snapshot).
    pub(crate) async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<()> {
        let name = entry_name(&snapshot.aggregate_kind, snapshot.aggregate_id.as_str());
        let stored = Stored {
            version: snapshot.version,
            forgets: snapshot.forgets,
            schema_version: snapshot.schema_version,
            state: seal_body(snapshot.state.as_str())?,
        };
        let value: bytes::Bytes = serde_json::to_vec(&stored)
            .map_err(|e| Error::backend(format!("cannot encode the snapshot {name}"), e))?
            .into();
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
}
