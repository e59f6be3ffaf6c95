//! The memory store's pending deadlines ([`DeadlineStore`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::PoisonError;
use std::time::SystemTime;

use super::MemoryStore;
use crate::deadlines::{Deadline, DeadlineStore, DeadlineSummary, DeadlinesAt, PendingDeadline};
use crate::error::Result;
use crate::partition::Partition;

/// The pending deadlines: by saga (kind, id), the version synced and its
/// deadlines (kept with none left, so that an older version's sync that
/// comes late changes nothing, as on PostgreSQL); and the firing order,
/// (kind, due µs, id, name).
#[derive(Debug, Default)]
pub(super) struct Deadlines {
    by_saga: HashMap<(String, String), (u64, Vec<Deadline>)>,
    by_due: BTreeMap<(String, u64, String, String), ()>,
}

impl Deadlines {
    fn pending(
        &self,
        (kind, due, id, name): &(String, u64, String, String),
    ) -> Option<PendingDeadline> {
        let (version, deadlines) = self.by_saga.get(&(kind.clone(), id.clone()))?;
        let deadline = deadlines
            .iter()
            .find(|d| d.name() == name && d.due_micros() == *due)?;
        Some(PendingDeadline {
            saga_kind: kind.clone(),
            saga_id: id.parse().ok()?,
            version: *version,
            deadline: deadline.clone(),
        })
    }

    fn remove_saga(&mut self, kind: &str, id: &str) {
        if let Some((_, deadlines)) = self.by_saga.remove(&(kind.to_owned(), id.to_owned())) {
            for d in deadlines {
                self.by_due.remove(&order(kind, id, &d));
            }
        }
    }

    /// The kept deadlines of `kind` in firing order, in `partition`.
    fn of_kind<'a>(
        &'a self,
        kind: &'a str,
        partition: Option<Partition>,
    ) -> impl Iterator<Item = &'a (String, u64, String, String)> + 'a {
        let from = (kind.to_owned(), 0, String::new(), String::new());
        self.by_due
            .range(from..)
            .map(|(order, ())| order)
            .take_while(move |(k, ..)| k == kind)
            .filter(move |(_, _, id, _)| partition.is_none_or(|p| p.owns(id)))
    }
}

/// Where `deadline` of the saga `kind`/`id` sorts for firing.
fn order(kind: &str, id: &str, deadline: &Deadline) -> (String, u64, String, String) {
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

impl MemoryStore {
    fn deadlines(&self) -> std::sync::MutexGuard<'_, Deadlines> {
        self.deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl DeadlineStore for MemoryStore {
    async fn sync_deadlines(&self, at: DeadlinesAt) -> Result<()> {
        let mut kept = self.deadlines();
        let (kind, id) = (at.saga_kind, at.saga_id.to_string());
        if let Some((version, _)) = kept.by_saga.get(&(kind.clone(), id.clone())) {
            if *version > at.version {
                return Ok(());
            }
        }
        kept.remove_saga(&kind, &id);
        for d in &at.deadlines {
            kept.by_due.insert(order(&kind, &id, d), ());
        }
        kept.by_saga.insert((kind, id), (at.version, at.deadlines));
        Ok(())
    }

    async fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<PendingDeadline>> {
        let kept = self.deadlines();
        let now = micros(now);
        Ok(kept
            .of_kind(saga_kind, partition)
            .take_while(|(_, due, ..)| *due <= now)
            .take(limit)
            .filter_map(|order| kept.pending(order))
            .collect())
    }

    async fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> Result<Option<SystemTime>> {
        let kept = self.deadlines();
        Ok(kept
            .of_kind(saga_kind, partition)
            .next()
            .and_then(|order| kept.pending(order))
            .map(|p| p.deadline.due()))
    }

    async fn remove_deadline(&self, pending: &PendingDeadline) -> Result<()> {
        let mut kept = self.deadlines();
        let saga = (pending.saga_kind.clone(), pending.saga_id.to_string());
        let Some((_, deadlines)) = kept.by_saga.get_mut(&saga) else {
            return Ok(());
        };
        let before = deadlines.len();
        deadlines.retain(|d| !d.is(&pending.deadline));
        if deadlines.len() == before {
            return Ok(());
        }
        kept.by_due
            .remove(&order(&saga.0, &saga.1, &pending.deadline));
        Ok(())
    }

    async fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> Result<DeadlineSummary> {
        let kept = self.deadlines();
        let now = micros(now);
        let mut summary = DeadlineSummary::default();
        for order in kept.of_kind(saga_kind, None) {
            summary.pending += 1;
            let Some(pending) = kept.pending(order) else {
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
        Ok(summary)
    }
}
