//! [`NextDue`]: what the partitions' loops learnt of a saga kind's next
//! due deadline, so that they ask the store again only after a sync, or
//! after [`DEADLINE_REFRESH`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::partition::Partition;

/// How long, on the runtime's clock, a partition's loop trusts what it
/// learnt when no sync of its own process came since: a deadline kept by
/// another process (a stale runner's reconcile, a rebuild) is found within
/// this, at the cost of one read per partition this often while idle.
pub const DEADLINE_REFRESH: Duration = Duration::from_secs(60);

/// The key of `partition` (all: `None`) in [`NextDue`].
pub(super) fn partition_key(partition: Option<Partition>) -> (u32, u32) {
    partition.map_or((0, 1), |p| (p.index, p.count))
}

/// What one partition's loop learnt: the syncs counted when it asked, when
/// it asked, and the next due time it was told.
#[derive(Debug, Clone, Copy)]
struct Learnt {
    syncs: u64,
    at: SystemTime,
    next: Option<SystemTime>,
}

/// What the partitions' loops last learnt of the next due deadline.
#[derive(Debug, Default, Clone)]
pub(super) struct NextDue {
    /// Counts the syncs tried in this process, each counted once it
    /// returned, whether it failed or not (a sync whose reply was lost may
    /// have committed).
    syncs: Arc<AtomicU64>,
    /// By partition (index, count).
    seen: Arc<Mutex<HashMap<(u32, u32), Learnt>>>,
}

impl NextDue {
    /// A sync returned.
    pub(super) fn synced(&self) {
        self.syncs.fetch_add(1, Ordering::SeqCst);
    }

    /// The syncs counted so far: take it before asking the store.
    pub(super) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::SeqCst)
    }

    /// When `partition` must ask again at the latest, as it last learnt:
    /// `None` when it must ask now (it never did, a sync came since, what
    /// it learnt is due, it learnt it [`DEADLINE_REFRESH`] ago, or the
    /// clock now reads earlier than when it learnt it: set back, the
    /// refresh would wait for the old reading).
    pub(super) fn known(&self, partition: (u32, u32), now: SystemTime) -> Option<SystemTime> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let learnt = seen.get(&partition).copied()?;
        let wake = learnt.wake();
        (learnt.syncs == self.syncs() && learnt.at <= now && wake > now).then_some(wake)
    }

    /// Forgets what `partition` learnt: its runner took its lease, and
    /// another may have kept deadlines there meanwhile.
    pub(super) fn forget(&self, partition: (u32, u32)) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.remove(&partition);
    }

    /// `partition` asked at `at`, after `syncs` syncs, and was told `next`;
    /// returns when it must ask again at the latest.
    pub(super) fn learnt(
        &self,
        partition: (u32, u32),
        syncs: u64,
        at: SystemTime,
        next: Option<SystemTime>,
    ) -> SystemTime {
        let learnt = Learnt { syncs, at, next };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.insert(partition, learnt);
        learnt.wake()
    }
}

impl Learnt {
    fn wake(&self) -> SystemTime {
        let refresh = self.at + DEADLINE_REFRESH;
        self.next.map_or(refresh, |due| due.min(refresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_asks_again_after_a_sync_its_due_time_or_the_refresh() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let next_due = NextDue::default();
        assert_eq!(next_due.known((0, 1), at), None, "never asked");
        let due = at + Duration::from_secs(10);
        assert_eq!(next_due.learnt((0, 1), 0, at, Some(due)), due);
        assert_eq!(next_due.known((0, 1), at), Some(due));
        assert_eq!(next_due.known((0, 1), due), None, "due");
        assert_eq!(next_due.known((1, 2), at), None, "another partition");
        next_due.synced();
        assert_eq!(next_due.known((0, 1), at), None, "a sync came since");
        let wake = next_due.learnt((0, 1), next_due.syncs(), at, None);
        assert_eq!(
            wake,
            at + DEADLINE_REFRESH,
            "nothing pending: asks again after the refresh"
        );
        assert_eq!(next_due.known((0, 1), at + DEADLINE_REFRESH), None);
        let back = at - Duration::from_secs(3_600);
        assert_eq!(next_due.known((0, 1), back), None, "the clock was set back");
        next_due.learnt((0, 1), next_due.syncs(), at, None);
        next_due.forget((0, 1));
        assert_eq!(next_due.known((0, 1), at), None, "forgotten");
    }
}
