//! [`DeadlineStore`]: where the pending deadlines of sagas are kept, an
//! index of the saga streams that can be rebuilt from them.

use std::future::Future;
use std::time::SystemTime;

use super::deadline::Deadline;
use crate::error::Result;
use crate::id::AggregateId;
use crate::partition::Partition;

/// The deadlines one saga's state lists at one version, to be kept as its
/// pending ones ([`DeadlineStore::sync_deadlines`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlinesAt {
    /// The saga's aggregate kind.
    pub saga_kind: String,
    /// The saga's id.
    pub saga_id: AggregateId,
    /// The version of the saga's stream whose state lists them.
    pub version: u64,
    /// The deadlines, each name at most once.
    pub deadlines: Vec<Deadline>,
}

/// A deadline as the store keeps it until it fires or the saga stops
/// listing it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDeadline {
    /// The saga's aggregate kind.
    pub saga_kind: String,
    /// The saga's id.
    pub saga_id: AggregateId,
    /// The version of the saga's stream whose state listed it.
    pub version: u64,
    /// The deadline.
    pub deadline: Deadline,
}

/// What an operator sees of the pending deadlines of a saga kind
/// ([`DeadlineStore::deadline_summary`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeadlineSummary {
    /// How many are pending.
    pub pending: u64,
    /// The earliest due time among them.
    pub next_due: Option<SystemTime>,
    /// How many were due at the time asked about and have not fired.
    pub overdue: u64,
    /// The earliest of those, earliest first, as many as asked for.
    pub most_overdue: Vec<PendingDeadline>,
}

/// The pending deadlines of sagas: for each saga, those its state listed
/// at the latest version synced, found by due time.
///
/// It is an index of the saga streams, which hold the truth: the saga
/// runtime syncs it after each reconcile from the saga's state, and
/// checks a deadline against the saga's state again before it fires, so a
/// row that outlived its deadline (a stale runner's sync, say) fires
/// nothing and is removed. Rows are ordered for firing by due time, then
/// saga id, then name, so equal due times fire in a fixed order.
pub trait DeadlineStore: Clone + Send + Sync + 'static {
    /// Makes `at.deadlines` the saga's pending deadlines, replacing those
    /// kept, unless they were synced from a later version than
    /// `at.version` (then nothing changes). An empty list removes them.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn sync_deadlines(&self, at: DeadlinesAt) -> impl Future<Output = Result<()>> + Send;

    /// The pending deadlines of `saga_kind` due at `now` (due at or before
    /// it), of the sagas in `partition` (all with `None`), in firing order,
    /// at most `limit`.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn due_deadlines(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
        now: SystemTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<PendingDeadline>>> + Send;

    /// The earliest due time among the pending deadlines of `saga_kind` in
    /// `partition` (all with `None`).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn next_deadline(
        &self,
        saga_kind: &str,
        partition: Option<Partition>,
    ) -> impl Future<Output = Result<Option<SystemTime>>> + Send;

    /// Removes the pending deadline `pending` (same saga, name and due
    /// time) once it fired or was found no longer wanted; nothing when it
    /// is no longer kept.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn remove_deadline(&self, pending: &PendingDeadline)
    -> impl Future<Output = Result<()>> + Send;

    /// How many deadlines of `saga_kind` are pending, the next due, and
    /// those overdue at `now` (the `limit` earliest).
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend).
    fn deadline_summary(
        &self,
        saga_kind: &str,
        now: SystemTime,
        limit: usize,
    ) -> impl Future<Output = Result<DeadlineSummary>> + Send;
}
