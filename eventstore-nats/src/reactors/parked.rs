//! Parked events: their position, commit, error, attempts and time, one
//! entry each; the event itself is read from the store when listed
//! ([`EventsAt`]), so that a forget reaches what an operator sees.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::SystemTime;

use eventstore_core::backend::{ERASED_ERROR, Lease};
use eventstore_core::reactor::ParkedEvent;
use eventstore_core::{RecordedEvent, Result};

use super::KvReactors;
use super::entries::{
    ParkedEntry, PartitionEntry, parked_filter, parked_key, partition_key, position_of_key,
};
use crate::kv::{Change, from_micros, micros};

/// The events of a store by global position: what a listing of parked
/// events reads each event from. The store implements it; on JetStream a
/// position is `stream sequence << 16 | index in the commit`.
pub trait EventsAt: Sync {
    /// The event at `position`, as the store holds it now (after a
    /// forget, without the forgotten fields); `None` when there is none.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend) when it cannot
    /// be read; the listing then shows the parked event without it.
    fn event_at(&self, position: u64)
    -> impl Future<Output = Result<Option<RecordedEvent>>> + Send;
}

impl KvReactors {
    /// Parks an event (adding its attempts to those of an earlier park),
    /// only while `lease` is held; whether it did.
    ///
    /// The lease is checked just before the parked entry is written (two
    /// entries, no transaction): a lease that runs out between the two is
    /// taken for held, the same window as a statement's on PostgreSQL.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn park(&self, lease: &Lease, parked: ParkedEvent) -> Result<bool> {
        let holding: Option<PartitionEntry> = self
            .state
            .get(&partition_key(&lease.reactor, lease.partition))
            .await?;
        if !holding.is_some_and(|entry| entry.held_by(&lease.owner)) {
            return Ok(false);
        }
        let tx = parked.event.as_ref().map(|event| event.tx);
        let key = parked_key(&parked.reactor, parked.position);
        self.parked
            .change(&key, |earlier: Option<ParkedEntry>| {
                let attempts = earlier.map_or(0, |e| e.attempts);
                Ok(Change::Put(
                    ParkedEntry {
                        tx,
                        error: parked.error.clone(),
                        attempts: parked.attempts.saturating_add(attempts),
                        parked_at_us: micros(parked.parked_at),
                    },
                    (),
                ))
            })
            .await?;
        Ok(true)
    }

    /// A reactor's parked events after `after_position`, oldest event
    /// first, at most `limit`, each event read through `events`.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn parked(
        &self,
        events: &impl EventsAt,
        reactor: &str,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<ParkedEvent>> {
        let mut entries: Vec<(u64, ParkedEntry)> = Vec::new();
        for latest in self.parked.latest(&parked_filter(reactor)).await? {
            match position_of_key(&latest.key) {
                Some(position) if position > after_position => {
                    entries.push((position, self.parked.decode(&latest.key, &latest.value)?));
                }
                _ => {}
            }
        }
        entries.sort_unstable_by_key(|(position, _)| *position);
        entries.truncate(limit);
        let mut listed = Vec::with_capacity(entries.len());
        for (position, entry) in entries {
            listed.push(parked_event(events, reactor, position, entry).await);
        }
        Ok(listed)
    }

    /// How many events of a reactor are parked.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn parked_count(&self, reactor: &str) -> Result<u64> {
        let count = self.parked.latest(&parked_filter(reactor)).await?.len();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    /// The parked event at `position`, read through `events`.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn parked_event(
        &self,
        events: &impl EventsAt,
        reactor: &str,
        position: u64,
    ) -> Result<Option<ParkedEvent>> {
        let entry: Option<ParkedEntry> = self.parked.get(&parked_key(reactor, position)).await?;
        Ok(match entry {
            Some(entry) => Some(parked_event(events, reactor, position, entry).await),
            None => None,
        })
    }

    /// Records an operator's retry, only if the parked event still has
    /// `attempts`: handled, it is unparked; failed, it keeps the new error
    /// and one attempt more. Whether it was recorded.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn record_retry(
        &self,
        reactor: &str,
        position: u64,
        attempts: u32,
        failure: Option<&str>,
    ) -> Result<bool> {
        let (recorded, _) = self
            .parked
            .change(
                &parked_key(reactor, position),
                |entry: Option<ParkedEntry>| {
                    Ok(match (entry, failure) {
                        (Some(entry), _) if entry.attempts != attempts => Change::Keep(false),
                        (None, _) => Change::Keep(false),
                        (Some(_), None) => Change::Delete(true),
                        (Some(mut entry), Some(error)) => {
                            error.clone_into(&mut entry.error);
                            entry.attempts = entry.attempts.saturating_add(1);
                            entry.parked_at_us = micros(SystemTime::now());
                            Change::Put(entry, true)
                        }
                    })
                },
            )
            .await?;
        Ok(recorded)
    }

    /// Removes a parked event; whether it was parked.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn unpark(&self, reactor: &str, position: u64) -> Result<bool> {
        let (removed, _) = self
            .parked
            .change(
                &parked_key(reactor, position),
                |entry: Option<ParkedEntry>| Ok(Change::Delete(entry.is_some())),
            )
            .await?;
        Ok(removed)
    }

    /// Overwrites the error text of every parked event at one of
    /// `positions` (the events of an aggregate being forgotten: an error
    /// may quote its data) with [`ERASED_ERROR`]; how many changed. A
    /// store's forget calls it and counts them among the copies erased.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn erase_parked_errors(&self, positions: &BTreeSet<u64>) -> Result<u64> {
        let mut erased = 0;
        for latest in self.parked.latest(">").await? {
            if !position_of_key(&latest.key).is_some_and(|p| positions.contains(&p)) {
                continue;
            }
            let (changed, _) = self
                .parked
                .change(&latest.key, |entry: Option<ParkedEntry>| {
                    Ok(match entry {
                        Some(mut entry) if entry.error != ERASED_ERROR => {
                            ERASED_ERROR.clone_into(&mut entry.error);
                            Change::Put(entry, true)
                        }
                        _ => Change::Keep(false),
                    })
                })
                .await?;
            erased += u64::from(changed);
        }
        Ok(erased)
    }
}

/// A parked event from its entry, its event read through `events` (none
/// when it cannot be read).
async fn parked_event(
    events: &impl EventsAt,
    reactor: &str,
    position: u64,
    entry: ParkedEntry,
) -> ParkedEvent {
    let event = match events.event_at(position).await {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(reactor, position, %error, "a parked event cannot be read");
            None
        }
    };
    ParkedEvent {
        reactor: reactor.to_owned(),
        position,
        event,
        error: entry.error,
        attempts: entry.attempts,
        parked_at: from_micros(entry.parked_at_us),
    }
}
