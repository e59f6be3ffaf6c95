//! The per-process cache of key sets, by aggregate.
//!
//! A cached set is a copy from some moment; the cache never learns by
//! itself that another process changed the entry. What a stale copy can and
//! cannot do:
//!
//! - **Open**: a key id the copy lacks is told apart without a read: below
//!   the copy's counter it was destroyed (ids are never reused), at or
//!   above it the key is newer than the copy, which is then read again. A
//!   key destroyed by a forget in another process still opens from a copy
//!   made before that forget, until the copy is dropped: the store drops it
//!   when it reads a message whose forget count (`Es-Forgets`, the count
//!   written by the forget's marker and every later commit) is above the
//!   copy's ([`Cache::get`] with that count). So a process may show a value
//!   for as long as it has not read past the forget's marker: as long as a
//!   reader of PostgreSQL may hold a row it read before the forget
//!   committed.
//! - **Seal**: a copy made before another process's forget still holds the
//!   keys it destroyed; a body sealed with one of them reads `null`
//!   everywhere once written. The store's append fences that: it publishes
//!   with the subject's expected last sequence, and the forget's marker
//!   moved it, so an appender that has not read the marker gets a conflict,
//!   reloads (reading the marker's higher count) and seals again with fresh
//!   keys. Only a commit that raced the forget itself (expected sequence
//!   before the marker, published before it) can carry a destroyed key: it
//!   is erased like the events before it.
//! - **Forget and the forget count** read the bucket, never the cache.
//!
//! The cache holds at most [`CAPACITY`] sets and forgets all of them when
//! full (a process that touches more aggregates reads their sets again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::key_set::KeySet;

/// The most key sets held.
pub(crate) const CAPACITY: usize = 4096;

/// A key set and the revision of the bucket entry it was read from or
/// written as.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    /// The set.
    pub(crate) set: Arc<KeySet>,
    /// The entry's revision.
    pub(crate) revision: u64,
}

/// Key sets by bucket entry name.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: Mutex<HashMap<String, Cached>>,
}

impl Cache {
    /// The cached set of `entry`, unless it counts fewer than `forgets`
    /// forgets (then it is dropped).
    pub(crate) fn get(&self, entry: &str, forgets: u64) -> Option<Cached> {
        let mut entries = self.lock();
        match entries.get(entry) {
            Some(cached) if cached.set.forgets >= forgets => Some(cached.clone()),
            Some(_) => {
                entries.remove(entry);
                None
            }
            None => None,
        }
    }

    /// Keeps `cached` for `entry`, unless a later revision is held.
    pub(crate) fn put(&self, entry: &str, cached: Cached) {
        let mut entries = self.lock();
        if entries
            .get(entry)
            .is_some_and(|held| held.revision > cached.revision)
        {
            return;
        }
        if entries.len() >= CAPACITY && !entries.contains_key(entry) {
            entries.clear();
        }
        entries.insert(entry.to_owned(), cached);
    }

    /// Drops the set of `entry`.
    pub(crate) fn remove(&self, entry: &str) {
        self.lock().remove(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::super::key_set::Slot;
    use super::*;

    fn cached(forgets: u64, revision: u64) -> Cached {
        Cached {
            set: Arc::new(KeySet {
                forgets,
                ..KeySet::default()
            }),
            revision,
        }
    }

    #[test]
    fn a_set_with_fewer_forgets_than_a_message_says_is_dropped() {
        let cache = Cache::default();
        cache.put("A.a", cached(1, 5));
        assert!(cache.get("A.a", 1).is_some());
        assert!(cache.get("A.a", 2).is_none(), "told of a later forget");
        assert!(cache.get("A.a", 0).is_none(), "and it stays dropped");
    }

    #[test]
    fn a_set_dropped_for_a_later_forget_takes_its_ciphers_with_it() {
        let cache = Cache::default();
        let mut set = KeySet::default();
        let id = set.ensure(Slot::State).unwrap();
        let cipher = set.keys[&id].watch();
        let set = Arc::new(set);
        cache.put("A.a", Cached { set, revision: 1 });
        assert!(cache.get("A.a", 0).is_some());
        assert!(cipher.upgrade().is_some(), "cached");
        assert!(cache.get("A.a", 1).is_none(), "told of a later forget");
        assert!(cipher.upgrade().is_none(), "nothing holds the cipher");
    }

    #[test]
    fn a_later_revision_wins_and_a_full_cache_starts_over() {
        let cache = Cache::default();
        cache.put("A.a", cached(0, 5));
        cache.put("A.a", cached(0, 4));
        assert_eq!(cache.get("A.a", 0).map(|c| c.revision), Some(5));
        for n in 0..CAPACITY {
            cache.put(&format!("A.{n}"), cached(0, 1));
        }
        assert!(cache.get("A.a", 0).is_none(), "cleared when full");
        assert!(cache.lock().len() <= CAPACITY);
        let last = format!("A.{}", CAPACITY - 1);
        assert!(cache.get(&last, 0).is_some());
        cache.remove(&last);
        assert!(cache.get(&last, 0).is_none());
    }
}
