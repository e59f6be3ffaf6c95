//! A saga's deadlines at run time: kept in the [`DeadlineStore`] after each
//! reconcile, fired when due by the runner that holds the saga's partition.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::Saga;
use super::next_due::partition_key;
use super::reactor::{NeverRefused, SagaError, SagaReactor};
use super::step::step_key;
use crate::deadlines::{DeadlineStore, DeadlinesAt, PendingDeadline};
use crate::envelope::{Checkpoint, Metadata};
use crate::id::AggregateId;
use crate::partition::Partition;
use crate::reactor::HandlerError;
use crate::repository::{Loaded, Options, Outcome};
use crate::store::EventStore;
use crate::tracker::{EventFilter, Tracker};

/// How many due deadlines one query of [`SagaReactor::fire_due`] takes.
const FIRE_BATCH: usize = 100;

impl<G: Saga, S: EventStore + DeadlineStore> SagaReactor<G, S> {
    /// Keeps the deadlines that the saga `id` lists at rest (`held`), when
    /// it lists any, or `listed_before` (when the reconcile began, say): a
    /// saga that never lists one costs no write.
    ///
    /// # Errors
    /// [`SagaError::UnkeepableDeadline`] for a deadline no store can keep,
    /// [`SagaError::DuplicateDeadline`] for two with one name; the store's.
    pub(super) async fn keep_deadlines(
        &self,
        id: &AggregateId,
        held: &Loaded<G>,
        listed_before: bool,
    ) -> Result<(), HandlerError> {
        let deadlines = held.state.deadlines();
        if deadlines.is_empty() && !listed_before {
            return Ok(());
        }
        for (i, deadline) in deadlines.iter().enumerate() {
            if let Some(problem) = deadline.problem() {
                return Err(SagaError::UnkeepableDeadline {
                    kind: G::KIND,
                    id: id.to_string(),
                    deadline: deadline.name().to_owned(),
                    problem,
                }
                .into());
            }
            if deadlines[..i].iter().any(|d| d.name() == deadline.name()) {
                return Err(SagaError::DuplicateDeadline {
                    kind: G::KIND,
                    id: id.to_string(),
                    deadline: deadline.name().to_owned(),
                }
                .into());
            }
        }
        let synced = self
            .repo
            .store()
            .sync_deadlines(DeadlinesAt {
                saga_kind: G::KIND.to_owned(),
                saga_id: id.clone(),
                version: held.version,
                deadlines,
            })
            .await;
        // counted whatever the reply: a lost one may have committed
        self.next_due.synced();
        synced?;
        Ok(())
    }

    /// Fires every deadline of this saga kind due at `now` among the sagas
    /// of `partition` (all with `None`), in firing order, then returns when
    /// to call it again: when the next one is due, or after
    /// [`DEADLINE_REFRESH`](super::DEADLINE_REFRESH) (a minute) at the latest, so that
    /// a deadline another process kept is found. Asks the store nothing
    /// when no deadline was kept by this process since it last asked for
    /// this partition and that time has not come.
    ///
    /// Each fires once: what [`on_deadline`](Saga::on_deadline) returns is
    /// recorded on the saga's stream with the key
    /// `<saga kind>/<saga id>/deadline/<name>/<due µs>`, decided on the
    /// saga's stored state and only while that still lists the deadline (a
    /// deadline cancelled or moved fires nothing); then it is no longer
    /// kept.
    ///
    /// # Errors
    /// [`SagaError::DeadlineStillListed`] when `on_deadline` returns no
    /// event for a deadline the saga lists (it stays kept); the store's,
    /// or the first error of a deadline that could not fire (it stays
    /// kept), once the deadlines due after it were fired.
    pub async fn fire_due(
        &self,
        partition: Option<Partition>,
        now: SystemTime,
    ) -> Result<Option<SystemTime>, HandlerError> {
        let key = partition_key(partition);
        if let Some(wake) = self.next_due.known(key, now) {
            return Ok(Some(wake));
        }
        let syncs = self.next_due.syncs();
        let store = self.repo.store();
        // one read while nothing is due: the idle cost
        let next = store.next_deadline(G::KIND, partition).await?;
        if next.is_none_or(|at| at > now) {
            return Ok(Some(self.next_due.learnt(key, syncs, now, next)));
        }
        // a deadline that cannot fire stays pending and is reported once
        // the others are fired: it does not hold up those after it
        let mut failed = None;
        loop {
            let due = store
                .due_deadlines(G::KIND, partition, now, FIRE_BATCH)
                .await?;
            let mut fired = 0;
            for pending in &due {
                match self.fire(pending, now).await {
                    Ok(()) => fired += 1,
                    Err(error) => {
                        tracing::warn!(saga = G::KIND, id = pending.saga_id.as_str(), deadline = pending.deadline.name(), error = %crate::error::ErrorChain(error.as_ref()), "deadline cannot fire; tried again later");
                        failed.get_or_insert(error);
                    }
                }
            }
            // the failed ones come back first: read on only past a batch
            // that removed some
            if due.len() < FIRE_BATCH || fired == 0 {
                break;
            }
        }
        if let Some(error) = failed {
            return Err(error);
        }
        let next = store.next_deadline(G::KIND, partition).await?;
        Ok(Some(self.next_due.learnt(key, syncs, now, next)))
    }

    /// Fires one due deadline, if the saga still lists it.
    async fn fire(&self, pending: &PendingDeadline, now: SystemTime) -> Result<(), HandlerError> {
        let id = &pending.saga_id;
        let key = step_key(G::KIND, id.as_str(), &pending.deadline.key_suffix());
        let options =
            Options::idempotent(key).metadata(Metadata::default().correlation_id(id.as_str()));
        let mut unmoved = false;
        let fire = |saga: &G| {
            let listed = saga.deadlines();
            let events = match listed.iter().find(|d| d.is(&pending.deadline)) {
                // cancelled or moved since it was kept
                None => Vec::new(),
                Some(deadline) => saga.on_deadline(deadline, now),
            };
            unmoved = events.is_empty() && listed.iter().any(|d| d.is(&pending.deadline));
            Ok::<_, NeverRefused>(events)
        };
        let outcome = self.repo.execute(id, options, fire).await?;
        if unmoved {
            return Err(SagaError::DeadlineStillListed {
                kind: G::KIND,
                id: id.to_string(),
                deadline: pending.deadline.name().to_owned(),
            }
            .into());
        }
        if matches!(outcome, Outcome::AlreadyApplied) {
            // fired before: a crash before the removal, another runner, or
            // the saga listing it again, which would never fire
            let held = self.repo.load::<G>(id).await?;
            if held
                .state
                .deadlines()
                .iter()
                .any(|d| d.is(&pending.deadline))
            {
                return Err(SagaError::DeadlineFiredBefore {
                    kind: G::KIND,
                    id: id.to_string(),
                    deadline: pending.deadline.name().to_owned(),
                }
                .into());
            }
        }
        match &outcome {
            Outcome::Done(committed) if !committed.events.is_empty() => {
                tracing::info!(
                    saga = G::KIND,
                    id = id.as_str(),
                    deadline = pending.deadline.name(),
                    late_ms = now
                        .duration_since(pending.deadline.due())
                        .unwrap_or_default()
                        .as_millis(),
                    "deadline fired"
                );
            }
            _ => tracing::debug!(
                saga = G::KIND,
                id = id.as_str(),
                deadline = pending.deadline.name(),
                "deadline fired before, cancelled or moved"
            ),
        }
        self.repo.store().remove_deadline(pending).await?;
        Ok(())
    }
}

/// How many events [`SagaReactor::rebuild_deadlines`] reads at a time.
const REBUILD_PAGE: usize = 1_000;

impl<G: Saga, S: EventStore + DeadlineStore + Tracker> SagaReactor<G, S> {
    /// Rebuilds the pending deadlines of every saga of `G` from the saga
    /// streams, which hold the truth: reads which sagas exist (the events
    /// of their kind, readable now), loads each and keeps what it lists,
    /// at its version. For a store restored without its deadlines, or to
    /// clear what a bug left there; runners may run meanwhile (a sync of
    /// an older version than one kept changes nothing). Returns how many
    /// sagas list deadlines.
    ///
    /// # Errors
    /// The store's, and [`SagaError::UnkeepableDeadline`] or
    /// [`SagaError::DuplicateDeadline`] for a saga that lists a deadline no
    /// store can keep (the sagas before it are rebuilt).
    pub async fn rebuild_deadlines(&self) -> Result<u64, HandlerError> {
        let store = self.repo.store();
        let filter = EventFilter::all().aggregate::<G>();
        let mut sagas = BTreeSet::new();
        let mut after = Checkpoint::BEGINNING;
        loop {
            let page = store.read_page(after, &filter, REBUILD_PAGE).await?;
            sagas.extend(page.events.into_iter().map(|e| e.aggregate_id));
            after = page.end;
            if !page.more {
                break;
            }
        }
        let mut listing = 0;
        for id in sagas {
            let id: AggregateId = id.parse()?;
            let held = self.repo.load::<G>(&id).await?;
            listing += u64::from(!held.state.deadlines().is_empty());
            // kept even when empty: that clears what is kept of it
            self.keep_deadlines(&id, &held, true).await?;
        }
        Ok(listing)
    }
}
