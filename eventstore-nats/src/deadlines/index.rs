//! The in-memory copy of the deadlines bucket that every read is served
//! from: by saga, the revision, version and deadlines of its entry, and
//! the firing order (kind, due µs, id, name).
//!
//! Entries come from this process's writes and from the bucket's watch,
//! in any order: an entry replaces the saga's only when its revision is
//! higher, so a late watch message never brings back what a later write
//! replaced.

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use eventstore_core::Deadline;
use eventstore_core::backend::{DeadlineSummary, Partition, PendingDeadline};

/// One saga's entry as last seen.
#[derive(Debug, Clone)]
struct Kept {
    revision: u64,
    version: u64,
    deadlines: Vec<Deadline>,
}

/// Where a deadline sorts for firing: kind, due µs, saga id, name.
type Order = (String, u64, String, String);

/// The pending deadlines of every saga, as last seen.
#[derive(Debug, Default)]
pub(super) struct Index {
    by_saga: HashMap<(String, String), Kept>,
    by_due: BTreeSet<Order>,
}

fn order(kind: &str, id: &str, deadline: &Deadline) -> Order {
    (
        kind.to_owned(),
        deadline.due_micros(),
        id.to_owned(),
        deadline.name().to_owned(),
    )
}

fn micros(time: SystemTime) -> u64 {
    Deadline::at("", time).due_micros()
}

impl Index {
    /// Takes the saga's entry at `revision` (`None`: deleted), unless one
    /// of a later revision was seen.
    pub(super) fn apply(
        &mut self,
        kind: &str,
        id: &str,
        revision: u64,
        entry: Option<(u64, Vec<Deadline>)>,
    ) {
        let saga = (kind.to_owned(), id.to_owned());
        if let Some(kept) = self.by_saga.get(&saga) {
            if kept.revision >= revision {
                return;
            }
            for deadline in &kept.deadlines {
                self.by_due.remove(&order(kind, id, deadline));
            }
        }
        let (version, deadlines) = entry.unwrap_or_default();
        for deadline in &deadlines {
            self.by_due.insert(order(kind, id, deadline));
        }
        self.by_saga.insert(
            saga,
            Kept {
                revision,
                version,
                deadlines,
            },
        );
    }

    /// The pending deadline at `order`.
    fn pending(&self, (kind, due, id, name): &Order) -> Option<PendingDeadline> {
        let kept = self.by_saga.get(&(kind.clone(), id.clone()))?;
        let deadline = kept
            .deadlines
            .iter()
            .find(|d| d.name() == name && d.due_micros() == *due)?;
        Some(PendingDeadline {
            saga_kind: kind.clone(),
            saga_id: id.parse().ok()?,
            version: kept.version,
            deadline: deadline.clone(),
        })
    }

    /// The kept deadlines of `kind` in firing order, in `partition`.
    fn of_kind<'a>(
        &'a self,
        kind: &'a str,
        partition: Option<Partition>,
    ) -> impl Iterator<Item = &'a Order> + 'a {
        let from = (kind.to_owned(), 0, String::new(), String::new());
        self.by_due
            .range(from..)
            .take_while(move |(k, ..)| k == kind)
            .filter(move |(_, _, id, _)| partition.is_none_or(|p| p.owns(id)))
    }

    /// The deadlines of `kind` due at `now`, in firing order, at most `limit`.
    pub(super) fn due(
        &self,
        kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Vec<PendingDeadline> {
        let now = micros(now);
        self.of_kind(kind, partition)
            .take_while(|(_, due, ..)| *due <= now)
            .take(limit)
            .filter_map(|order| self.pending(order))
            .collect()
    }

    /// The earliest due time of `kind`'s deadlines in `partition`.
    pub(super) fn next(&self, kind: &str, partition: Option<Partition>) -> Option<SystemTime> {
        self.of_kind(kind, partition)
            .next()
            .and_then(|order| self.pending(order))
            .map(|p| p.deadline.due())
    }

    /// What an operator sees of `kind`'s deadlines at `now`.
    pub(super) fn summary(&self, kind: &str, now: SystemTime, limit: usize) -> DeadlineSummary {
        let now = micros(now);
        let mut summary = DeadlineSummary::default();
        for order in self.of_kind(kind, None) {
            summary.pending += 1;
            let Some(pending) = self.pending(order) else {
                continue;
            };
            summary.next_due.get_or_insert(pending.deadline.due());
            if order.1 <= now {
                summary.overdue += 1;
                if summary.most_overdue.len() < limit {
                    summary.most_overdue.push(pending);
                }
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_late_message_does_not_bring_back_what_a_later_write_replaced() {
        let mut index = Index::default();
        index.apply("Saga", "s-1", 5, Some((2, vec![Deadline::at("b", at(20))])));
        index.apply("Saga", "s-1", 3, Some((1, vec![Deadline::at("a", at(10))])));
        assert_eq!(index.next("Saga", None), Some(at(20)));
        index.apply("Saga", "s-1", 6, None);
        assert_eq!(index.next("Saga", None), None);
        assert!(index.due("Saga", None, at(100), 10).is_empty());
    }
}
