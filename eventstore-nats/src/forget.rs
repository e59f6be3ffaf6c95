//! `EventStore::forget` on JetStream: destroy keys, never rewrite a
//! message.
//!
//! [`forget`] reads what the aggregate holds sealed (its events, snapshot
//! and recorded refusals, through [`ForgetSource`]), destroys the keys of
//! what the request erases in one compare-and-set of the aggregate's key
//! set ([`Secrets::forget`]), rewrites the snapshot with the named fields
//! erased (its state key is among the destroyed) or deletes it, and
//! publishes the forget marker that fences appenders holding the old keys.
//! The counts follow the conformance cases: an event counts when a
//! non-null field of it was sealed with a destroyed key, a refusal when
//! its error was, a snapshot when it was deleted or a named field of it
//! held a value; a repeated forget finds no key left to destroy and counts
//! nothing. A crash part way leaves the keys destroyed (what matters) and
//! at worst the snapshot unreadable (it is ignored, a cache) or no marker
//! (the next forget publishes one).

use std::collections::BTreeSet;
use std::future::Future;

use eventstore_core::backend::JsonText;
use eventstore_core::{ForgetRequest, Forgotten, Result};

use crate::secrets::{Destroyed, Secrets, fields, parse_sealed, sealed_text};

/// One stored event of the aggregate, its body as sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    /// Its version in the stream.
    pub(crate) version: u64,
    /// Its global position (a parked copy of it is found by it).
    pub(crate) position: u64,
    /// Its sealed body (JSON object text).
    pub(crate) body: String,
}

/// The aggregate's snapshot entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSnapshot {
    /// The entry's revision in the snapshots bucket.
    pub(crate) revision: u64,
    /// The forget count it was saved with.
    pub(crate) forgets: u64,
    /// Its sealed state.
    pub(crate) state: String,
}

/// What a forget needs of the store, for the aggregate `kind` `id`.
pub(crate) trait ForgetSource {
    /// Every event of the aggregate, in version order.
    fn stored_events(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;

    /// The aggregate's snapshot entry, if any.
    fn snapshot(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredSnapshot>>> + Send;

    /// Replaces the state of the snapshot entry at `revision` with `state`
    /// sealed at `forgets` forgets (its version and schema kept); false,
    /// writing nothing, when the entry is no longer at `revision`.
    fn replace_snapshot_state(
        &self,
        kind: &str,
        id: &str,
        revision: u64,
        state: String,
        forgets: u64,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes the snapshot entry at `revision`; false when it is no
    /// longer at `revision`.
    fn delete_snapshot(
        &self,
        kind: &str,
        id: &str,
        revision: u64,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The sealed errors of the refusals recorded on the aggregate (under
    /// its idempotency keys), as stored.
    fn sealed_refusals(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Publishes the forget marker on the aggregate's subject: no events,
    /// `Es-Forget: forgets`.
    fn publish_forget_marker(
        &self,
        kind: &str,
        id: &str,
        forgets: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Erases the errors of the parked entries of the events at
    /// `positions` (an entry keeps no body, but its error may quote one);
    /// how many it erased.
    fn erase_parked_errors(
        &self,
        positions: &BTreeSet<u64>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Forgets what `request` names, through `source` and `secrets`. The
/// `copies` it counts are refusals and the errors of parked events: the
/// store keeps no other copy of a body (parked entries hold the event's
/// position, not its body).
///
/// # Errors
/// The errors of `source` and of the secrets bucket, nothing half-erased
/// that a repeat does not finish.
pub(crate) async fn forget<S: ForgetSource>(
    source: &S,
    secrets: &Secrets,
    request: &ForgetRequest,
) -> Result<Forgotten> {
    let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
    let events = source.stored_events(kind, id).await?;
    let version = events.last().map_or(0, |e| e.version);
    let positions = events.iter().map(|e| e.position).collect();
    let parked = source.erase_parked_errors(&positions).await?;
    let snapshot = source.snapshot(kind, id).await?;
    // the state with the named fields erased, opened while its key lives
    let erased = match &snapshot {
        Some(snapshot) if !request.delete_snapshots && !request.snapshot_fields.is_empty() => {
            let state = secrets
                .open_state(kind, id, snapshot.forgets, &snapshot.state)
                .await?;
            state.map(|state| erase(&state, &request.snapshot_fields))
        }
        _ => None,
    };
    let refusals = source.sealed_refusals(kind, id).await?;
    let Some(destroyed) = secrets.forget(request, version).await? else {
        return Ok(Forgotten {
            copies: parked,
            ..Forgotten::default()
        });
    };
    let events = events.iter().filter(|e| lost_a_value(&e.body, &destroyed));
    let refusals = refusals.iter().filter(|sealed| {
        parse_sealed(sealed).is_ok_and(|parsed| Some(parsed.id) == destroyed.refusals)
    });
    let mut forgotten = Forgotten {
        events: events.count() as u64,
        snapshots: 0,
        copies: refusals.count() as u64 + parked,
    };
    if let Some(snapshot) = snapshot {
        let changed = if request.delete_snapshots {
            source.delete_snapshot(kind, id, snapshot.revision).await?
        } else if let Some((state, changed)) = erased {
            let sealed = secrets
                .seal_state(kind, id, destroyed.forgets, &state)
                .await?;
            let (revision, forgets) = (snapshot.revision, sealed.forgets);
            let replaced = source
                .replace_snapshot_state(kind, id, revision, sealed.value, forgets)
                .await?;
            replaced && changed
        } else {
            false
        };
        forgotten.snapshots = u64::from(changed);
    }
    source
        .publish_forget_marker(kind, id, destroyed.forgets)
        .await?;
    Ok(forgotten)
}

/// Whether the sealed body `body` held a value under a key `destroyed`
/// holds.
fn lost_a_value(body: &str, destroyed: &Destroyed) -> bool {
    let Ok(fields) = fields(body) else {
        return false;
    };
    fields.values().any(|value| {
        sealed_text(value)
            .ok()
            .flatten()
            .and_then(|sealed| parse_sealed(&sealed).ok())
            .is_some_and(|parsed| destroyed.fields.contains(&parsed.id))
    })
}

/// `state` with each of `names` that it holds with a value other than
/// `null` set to `null`, and whether that changed anything (a state that
/// is no object holds no field).
fn erase(state: &JsonText, names: &[String]) -> (JsonText, bool) {
    let Ok(mut object) = fields(state.as_str()) else {
        return (state.clone(), false);
    };
    let null = serde_json::value::RawValue::NULL;
    let mut changed = false;
    for name in names {
        if let Some(value) = object.get_mut(name.as_str())
            && value.get() != null.get()
        {
            *value = null;
            changed = true;
        }
    }
    match JsonText::encode(&object) {
        Ok(erased) if changed => (erased, true),
        _ => (state.clone(), false),
    }
}

#[cfg(test)]
mod tests;
