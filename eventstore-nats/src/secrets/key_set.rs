//! The key set of one aggregate: the value of its entry in the secrets
//! bucket, and every change a seal or a forget makes to it.
//!
//! ```json
//! {"forgets": 1, "forgotten_at": 3, "next": 4,
//!  "current": {"events": {"Opened": {"1": {"owner": 3}}}, "state": 2, "refusals": null},
//!  "keys": {"2": "<base64 key>", "3": "<base64 key>"}}
//! ```
//!
//! A key id is the number the set's counter `next` stood at when the key
//! was made; the counter only grows, so an id is never handed out twice and
//! an id below `next` that `keys` no longer holds was destroyed (a reader
//! with an older copy of the set tells "destroyed" from "made after my
//! copy" by that alone). `current` names the key that new writes of each
//! slot use; forget removes a slot's key from both maps, and the next write
//! of the slot makes a new one. The slots are nested maps, not joined
//! strings, so that no kind or field name can be mistaken for another.

use std::collections::BTreeMap;

use aes_gcm::Aes256Gcm;
use eventstore_core::ForgetRequest;
use serde::{Deserialize, Serialize};

use super::error::SecretsError;
use super::set_key::SetKey;

/// Where a key is used: one field of one event kind at one schema version,
/// a snapshot's state, or recorded refusal errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot<'a> {
    /// A top-level field of the bodies of one event kind at one version.
    Field {
        /// The event kind.
        kind: &'a str,
        /// The schema version the events were written at.
        version: u32,
        /// The field.
        field: &'a str,
    },
    /// The aggregate's snapshot state.
    State,
    /// The domain errors of refusals recorded on the aggregate.
    Refusals,
}

/// The key ids that new writes use, per slot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Current {
    /// event kind → schema version → field → key id.
    pub(crate) events: BTreeMap<String, BTreeMap<u32, BTreeMap<String, u64>>>,
    /// The key of snapshot states.
    pub(crate) state: Option<u64>,
    /// The key of recorded refusal errors.
    pub(crate) refusals: Option<u64>,
}

/// One aggregate's keys, as stored in its entry of the secrets bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeySet {
    /// How many times the aggregate was forgotten.
    pub(crate) forgets: u64,
    /// The stream's version at the last forget (0 before any).
    pub(crate) forgotten_at: u64,
    /// The id the next key gets.
    pub(crate) next: u64,
    /// The key of each slot.
    pub(crate) current: Current,
    /// Every key not destroyed, by id (stored as base64, read with its
    /// cipher).
    pub(crate) keys: BTreeMap<u64, SetKey>,
}

/// What one forget destroyed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Destroyed {
    /// The ids of the destroyed keys of event fields.
    pub(crate) fields: Vec<u64>,
    /// The id of the destroyed key of snapshot states.
    pub(crate) state: Option<u64>,
    /// The id of the destroyed key of refusal errors.
    pub(crate) refusals: Option<u64>,
    /// The aggregate's forget count after this forget.
    pub(crate) forgets: u64,
}

impl KeySet {
    /// The key id of `slot`, if it has one.
    pub(crate) fn current(&self, slot: Slot<'_>) -> Option<u64> {
        match slot {
            Slot::Field {
                kind,
                version,
                field,
            } => self
                .current
                .events
                .get(kind)?
                .get(&version)?
                .get(field)
                .copied(),
            Slot::State => self.current.state,
            Slot::Refusals => self.current.refusals,
        }
    }

    /// Gives `slot` a new key from the OS random generator, unless it has
    /// one; its key id.
    ///
    /// # Errors
    /// [`SecretsError::Random`] when the OS generator fails.
    pub(crate) fn ensure(&mut self, slot: Slot<'_>) -> Result<u64, SecretsError> {
        if let Some(id) = self.current(slot) {
            return Ok(id);
        }
        let key = SetKey::generate()?;
        let id = self.next;
        self.next += 1;
        self.keys.insert(id, key);
        match slot {
            Slot::Field {
                kind,
                version,
                field,
            } => {
                let fields = self.current.events.entry(kind.to_owned()).or_default();
                fields
                    .entry(version)
                    .or_default()
                    .insert(field.to_owned(), id);
            }
            Slot::State => self.current.state = Some(id),
            Slot::Refusals => self.current.refusals = Some(id),
        }
        Ok(id)
    }

    /// Whether a key with id `id` was made and then destroyed (an id at or
    /// above `next` was made after this copy of the set was read).
    pub(crate) fn destroyed(&self, id: u64) -> bool {
        id < self.next && !self.keys.contains_key(&id)
    }

    /// Destroys the keys of what `request` erases: every field of every
    /// version of the kinds it names, except the spared (kind, version,
    /// field) triples; the snapshot state's key when it erases snapshot
    /// fields or deletes snapshots; the refusals' key always (a domain
    /// error may quote any field). Counts the forget and records the
    /// stream's version `stream_version` as the version it happened at.
    pub(crate) fn forget(&mut self, request: &ForgetRequest, stream_version: u64) -> Destroyed {
        let mut destroyed = Destroyed::default();
        for (kind, field) in &request.event_fields {
            let Some(versions) = self.current.events.get_mut(kind) else {
                continue;
            };
            for (version, fields) in versions.iter_mut() {
                let spared = request
                    .spared_fields
                    .iter()
                    .any(|(k, v, f)| k == kind && v == version && f == field);
                if spared {
                    continue;
                }
                if let Some(id) = fields.remove(field) {
                    destroyed.fields.push(id);
                }
            }
            versions.retain(|_, fields| !fields.is_empty());
        }
        self.current
            .events
            .retain(|_, versions| !versions.is_empty());
        if request.delete_snapshots || !request.snapshot_fields.is_empty() {
            destroyed.state = self.current.state.take();
        }
        destroyed.refusals = self.current.refusals.take();
        let gone = destroyed.fields.iter().chain(&destroyed.state);
        for id in gone.chain(&destroyed.refusals) {
            self.keys.remove(id);
        }
        self.forgets += 1;
        self.forgotten_at = stream_version;
        destroyed.forgets = self.forgets;
        destroyed
    }

    /// The cipher of the key with id `id`, made when the key was made or
    /// read; `None` when the set does not hold it.
    ///
    /// # Errors
    /// What is wrong with the stored key, when it is not 32 bytes of
    /// base64 (the caller names the aggregate).
    pub(crate) fn cipher(&self, id: u64) -> Result<Option<&Aes256Gcm>, String> {
        self.keys
            .get(&id)
            .map(|key| {
                key.cipher()
                    .map_err(|problem| format!("key {id}: {problem}"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn field<'a>(kind: &'a str, version: u32, field: &'a str) -> Slot<'a> {
        Slot::Field {
            kind,
            version,
            field,
        }
    }

    #[test]
    fn a_slot_keeps_its_key_and_ids_are_never_reused() {
        let mut set = KeySet::default();
        let owner = set.ensure(field("Opened", 1, "owner")).unwrap();
        assert_eq!(set.ensure(field("Opened", 1, "owner")).unwrap(), owner);
        let v2 = set.ensure(field("Opened", 2, "owner")).unwrap();
        let state = set.ensure(Slot::State).unwrap();
        assert_eq!((owner, v2, state), (0, 1, 2));
        assert!(set.cipher(owner).unwrap().is_some());
        let request = ForgetRequest::of_kind("Account", "a-1".parse().unwrap())
            .event_fields("Opened", ["owner"])
            .delete_snapshots();
        let destroyed = set.forget(&request, 7);
        assert_eq!(destroyed.fields, [0, 1]);
        assert_eq!((destroyed.state, destroyed.forgets), (Some(2), 1));
        assert!(set.destroyed(owner) && set.destroyed(2) && !set.destroyed(3));
        assert!(set.cipher(owner).unwrap().is_none());
        assert_eq!(set.forgotten_at, 7);
        assert_eq!(
            set.ensure(field("Opened", 1, "owner")).unwrap(),
            3,
            "a new key"
        );
        let text = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<KeySet>(&text).unwrap(), set);
    }

    #[test]
    fn spared_triples_and_other_kinds_keep_their_keys() {
        let mut set = KeySet::default();
        let old = set.ensure(field("Verified", 1, "method")).unwrap();
        let current = set.ensure(field("Verified", 2, "method")).unwrap();
        let other = set.ensure(field("Other", 1, "method")).unwrap();
        let refusals = set.ensure(Slot::Refusals).unwrap();
        let state = set.ensure(Slot::State).unwrap();
        let mut request = ForgetRequest::of_kind("Profile", "p-1".parse().unwrap())
            .event_fields("Verified", ["method"]);
        request
            .spared_fields
            .push(("Verified".into(), 2, "method".into()));
        let destroyed = set.forget(&request, 2);
        assert_eq!(destroyed.fields, [old]);
        assert_eq!(destroyed.refusals, Some(refusals), "refusals always go");
        assert_eq!(destroyed.state, None, "no snapshot field named");
        for kept in [current, other, state] {
            assert!(set.cipher(kept).unwrap().is_some(), "key {kept}");
        }
        let again = set.forget(&request, 2);
        assert_eq!((again.fields.len(), again.forgets), (0, 2));
    }

    #[test]
    fn a_forgotten_key_takes_its_cipher_with_it() {
        let mut set = KeySet::default();
        let owner = set.ensure(field("Opened", 1, "owner")).unwrap();
        let amount = set.ensure(field("Opened", 1, "amount")).unwrap();
        let (forgotten, kept) = (set.keys[&owner].watch(), set.keys[&amount].watch());
        let earlier = set.clone();
        let request = ForgetRequest::of_kind("Account", "a-1".parse().unwrap())
            .event_fields("Opened", ["owner"]);
        set.forget(&request, 1);
        assert!(set.cipher(owner).unwrap().is_none());
        assert!(set.cipher(amount).unwrap().is_some());
        assert!(forgotten.upgrade().is_some(), "a copy from before holds it");
        drop(earlier);
        assert!(forgotten.upgrade().is_none(), "gone with the last copy");
        assert!(kept.upgrade().is_some());
    }

    #[test]
    fn a_key_that_is_no_key_is_a_corrupt_set() {
        let mut set = KeySet::default();
        set.keys
            .insert(0, SetKey::from_text(STANDARD.encode([1u8; 5])));
        assert_eq!(set.cipher(0).unwrap_err(), "key 0: 5 bytes, not 32");
    }
}
