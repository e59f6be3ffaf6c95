//! Applies stock events to the stock view exactly once, whatever the
//! redeliveries, crashes and concurrent workers.
//!
//! A delivered message is a signal that its subject has news up to its
//! sequence. The view reads the product's entry, and when the entry has
//! not yet applied that sequence, folds into it every message on the
//! subject after the entry's `last_sequence` up to the delivered one, in
//! stream order, straight from the stream. It writes the result with a
//! compare-and-set on the revision it read: a concurrent worker that got
//! there first makes the write fail, and the view reads again and
//! starts over (it will find the sequence applied). So each message is
//! applied once and in order per product, even when deliveries come out of
//! order or twice, and even after the stream's duplicate window.
//!
//! An alert fired by the fold rides in the entry's outbox, written by the
//! same compare-and-set; once the write succeeds the view publishes it
//! under its fixed message id and clears the outbox (again by
//! compare-and-set). A crash in between leaves it in the outbox, and the
//! redelivered message publishes it again, which the alert stream drops
//! as a duplicate if the first publication made it.

use async_nats::jetstream::kv::{CreateErrorKind, UpdateErrorKind};
use async_nats::jetstream::stream::DirectGetErrorKind;

use super::alert::{LowStock, Thresholds};
use super::error::{Error, Problem, Result, nats};
use super::message::{Received, decode};
use super::nats::Warehouse;
use super::stock::{StockEntry, key};

/// How many times an update of one entry is tried before the view gives
/// up (each failure means another worker changed the entry meanwhile).
const MAX_ATTEMPTS: u32 = 64;

/// What applying a delivered message did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The entry had already applied it: nothing changed.
    Already {
        /// The entry as read.
        entry: Box<StockEntry>,
    },
    /// The entry now includes it (and any earlier messages of the subject
    /// it had not yet applied).
    Now {
        /// The entry as written.
        entry: Box<StockEntry>,
        /// The stock events applied, with their sequences, in order.
        events: Vec<(u64, Received)>,
        /// The malformed messages passed over, with their problems.
        malformed: Vec<(u64, Problem)>,
        /// The alerts published.
        alerts: Vec<LowStock>,
    },
}

/// The stock view: applies stock events to the stock bucket.
#[derive(Debug, Clone)]
pub struct View {
    warehouse: Warehouse,
    thresholds: Thresholds,
}

impl View {
    /// The view of `warehouse`, with low-stock `thresholds`.
    #[must_use]
    pub fn new(warehouse: Warehouse, thresholds: Thresholds) -> Self {
        Self {
            warehouse,
            thresholds,
        }
    }

    /// The warehouse the view is of.
    #[must_use]
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// Applies the message at stream `sequence` on `subject` (and those
    /// before it on the same subject not yet applied), unless the entry has
    /// applied it already.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] when the subject is not a stock event's (there
    /// is no entry to record it in), [`Error::Contended`] when every
    /// update lost to another writer, [`Error::Nats`] when NATS fails; the
    /// entry is then unchanged or fully updated, never half.
    pub async fn apply(&self, subject: &str, sequence: u64) -> Result<Applied> {
        let layout = self.warehouse.layout();
        let (warehouse, product) =
            layout
                .parse_subject(subject)
                .ok_or_else(|| Error::Malformed {
                    sequence,
                    subject: subject.to_owned(),
                    problem: Problem::BadSubject,
                })?;
        let key = key(&warehouse, &product);
        let threshold = self.thresholds.of(&product);
        for _ in 0..MAX_ATTEMPTS {
            let (mut entry, revision) = match self.warehouse.entry_at(&key).await? {
                Some((entry, revision)) if entry.last_sequence >= sequence => {
                    let entry = self.flush(&key, entry, revision).await?;
                    return Ok(Applied::Already {
                        entry: Box::new(entry),
                    });
                }
                Some((entry, revision)) => (entry, Some(revision)),
                None => (StockEntry::new(warehouse.clone(), product.clone()), None),
            };
            let (events, malformed) = self.fold(&mut entry, subject, sequence, threshold).await?;
            let Some(revision) = self.write(&key, &entry, revision).await? else {
                continue;
            };
            let alerts = entry.outbox.clone();
            let entry = self.flush(&key, entry, revision).await?;
            return Ok(Applied::Now {
                entry: Box::new(entry),
                events,
                malformed,
                alerts,
            });
        }
        Err(Error::Contended {
            key,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Applies to `entry` the messages on `subject` after its last sequence
    /// up to `sequence`, in stream order.
    async fn fold(
        &self,
        entry: &mut StockEntry,
        subject: &str,
        sequence: u64,
        threshold: i64,
    ) -> Result<(Vec<(u64, Received)>, Vec<(u64, Problem)>)> {
        let (mut events, mut malformed) = (Vec::new(), Vec::new());
        // each round reads a later message, up to `sequence`: bounded
        while entry.last_sequence < sequence {
            let message = match self
                .warehouse
                .events()
                .direct_get_next_for_subject(subject, Some(entry.last_sequence + 1))
                .await
            {
                Ok(message) if message.sequence <= sequence => message,
                // the delivered message is gone from the stream (deleted)
                Ok(_) => break,
                Err(e) if e.kind() == DirectGetErrorKind::NotFound => break,
                Err(e) => {
                    return Err(nats(format!(
                        "reading {subject} after {}",
                        entry.last_sequence
                    ))(e));
                }
            };
            let at = message.sequence;
            match decode(
                self.warehouse.layout(),
                subject,
                Some(&message.headers),
                &message.payload,
            ) {
                Ok(received) => {
                    entry.apply(&received, at, threshold);
                    events.push((at, received));
                }
                Err(problem) => {
                    tracing::warn!(sequence = at, subject, %problem, "passing over a malformed message");
                    entry.skip(at);
                    malformed.push((at, problem));
                }
            }
        }
        if entry.last_sequence < sequence {
            entry.last_sequence = sequence;
        }
        Ok((events, malformed))
    }

    /// Writes `entry` if the stored one is still at `revision` (absent
    /// for `None`); the new revision, or `None` when another writer won.
    async fn write(
        &self,
        key: &str,
        entry: &StockEntry,
        revision: Option<u64>,
    ) -> Result<Option<u64>> {
        let value = serde_json::to_vec(entry).unwrap_or_default();
        let stock = self.warehouse.stock();
        let doing = || format!("writing stock entry {key}");
        match revision {
            None => match stock.create(key, value.into()).await {
                Ok(revision) => Ok(Some(revision)),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(None),
                Err(e) => Err(nats(doing())(e)),
            },
            Some(revision) => match stock.update(key, value.into(), revision).await {
                Ok(revision) => Ok(Some(revision)),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(None),
                Err(e) => Err(nats(doing())(e)),
            },
        }
    }

    /// Publishes the alerts in the outbox of `entry` (as read or written
    /// at `revision`) and clears it; returns the entry as it is then.
    async fn flush(
        &self,
        key: &str,
        mut entry: StockEntry,
        mut revision: u64,
    ) -> Result<StockEntry> {
        for _ in 0..MAX_ATTEMPTS {
            if entry.outbox.is_empty() {
                return Ok(entry);
            }
            for alert in &entry.outbox {
                self.warehouse.publish_alert(alert).await?;
            }
            let mut cleared = entry.clone();
            cleared.outbox.clear();
            if self.write(key, &cleared, Some(revision)).await?.is_some() {
                return Ok(cleared);
            }
            match self.warehouse.entry_at(key).await? {
                Some((now, at)) => (entry, revision) = (now, at),
                None => return Ok(cleared),
            }
        }
        Err(Error::Contended {
            key: key.to_owned(),
            attempts: MAX_ATTEMPTS,
        })
    }
}
