//! [`AtRest`]: the sagas this process saw come to rest, so that the events
//! it recorded on their way there are not reconciled again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// How many sagas [`AtRest`] remembers; past that it forgets them all,
/// which only costs the reconciles it would have spared.
pub(super) const CAPACITY: usize = 4096;

/// For each saga id, the version at which a reconcile of this process left
/// the saga wanting no step.
///
/// A delivery of that saga's event at or before that version needs no
/// reconcile: the saga at the event's version or later is at rest or
/// has events after the rest, and those are delivered after this one (the
/// same stream, committed later), each reconciling it. So a reconcile that
/// records a saga's outcomes spares the deliveries of the events it
/// recorded. Lost with the process (a new one reconciles them, as before),
/// shared by the clones of one reactor.
#[derive(Debug, Clone, Default)]
pub(super) struct AtRest {
    versions: Arc<Mutex<HashMap<String, u64>>>,
}

impl AtRest {
    /// Whether the saga `id` came to rest here at `version` or later; once
    /// asked about the version it came to rest at, the last event it
    /// spares, it is forgotten.
    pub(super) fn covers(&self, id: &str, version: u64) -> bool {
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        match versions.get(id).copied() {
            Some(rest) if rest == version => {
                versions.remove(id);
                true
            }
            Some(rest) => rest > version,
            None => false,
        }
    }

    /// The saga `id` came to rest at `version`, reconciled for its event at
    /// `delivered`: the events after `delivered` up to `version` are spared.
    pub(super) fn rested(&self, id: &str, delivered: u64, version: u64) {
        if version <= delivered {
            return;
        }
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        if versions.len() >= CAPACITY && !versions.contains_key(id) {
            versions.clear();
        }
        let rest = versions.entry(id.to_owned()).or_default();
        *rest = (*rest).max(version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_the_versions_up_to_the_rest_then_forgets() {
        let at_rest = AtRest::default();
        at_rest.rested("t-1", 1, 3);
        assert!(!at_rest.covers("t-2", 2), "another saga");
        assert!(at_rest.covers("t-1", 2));
        assert!(!at_rest.covers("t-1", 4), "after the rest");
        assert!(at_rest.covers("t-1", 3));
        assert!(
            !at_rest.covers("t-1", 2),
            "forgotten after its last version"
        );
    }

    #[test]
    fn a_reconcile_of_the_last_version_spares_nothing_and_rests_only_grow() {
        let at_rest = AtRest::default();
        at_rest.rested("t-1", 3, 3);
        assert!(!at_rest.covers("t-1", 3));
        at_rest.rested("t-1", 1, 5);
        at_rest.rested("t-1", 1, 4);
        assert!(at_rest.covers("t-1", 4), "a later rest is kept");
    }

    #[test]
    fn forgets_everything_when_full() {
        let at_rest = AtRest::default();
        for i in 0..CAPACITY {
            at_rest.rested(&format!("t-{i}"), 1, 2);
        }
        assert!(at_rest.covers("t-0", 1));
        at_rest.rested("one-more", 1, 2);
        assert!(!at_rest.covers("t-1", 1), "forgotten");
        assert!(at_rest.covers("one-more", 1));
    }
}
