//! The [`Tracker`] impl: reading committed events in commit order.

use std::num::NonZeroU64;
use std::time::Duration;

use eventstore_core::backend::{Partition, ReadPage, UnreadableEvent, Wakeups};
use eventstore_core::{Checkpoint, Error, EventFilter, Holdback, RecordedEvent, Result, Tracker};

use crate::convert::{bigint, checkpoint_bigints, fit, micros, out_of_range, row_limit};
use crate::error::backend;
use crate::layout::{CHECKPOINT, READ};
use crate::options::ReadMode;
use crate::rows::{checkpoint, column, known, recorded_event, unsigned, xid8};
use crate::store::PgEventStore;

/// A safety margin's lag as the bigint of microseconds its statements take.
fn lag_micros(lag: Duration) -> Result<i64> {
    micros("safety margin in microseconds", lag)
}

/// The most rows one read scans for a filter that passes few of them: a
/// read that found nothing in a full page scans twice as far next time, up
/// to this many rows in all, and then returns the empty page with where it
/// ended.
const MAX_SCAN: usize = 10_000;

/// One scan of a read: the events that passed the filter, and where the
/// scan ended (`None` when it read nothing) after how many rows.
struct Scan {
    events: Vec<RecordedEvent>,
    unreadable: Vec<UnreadableEvent>,
    end: Option<(Checkpoint, usize)>,
}

/// The partition parameters of read_page.sql (and of the deadlines' reads):
/// the count (0 for all), the index, and 2^64 mod the count.
///
/// # Errors
/// [`Error::OutOfRange`] for a partition count of 0.
pub(crate) fn partition_params(partition: Option<Partition>) -> Result<(i64, i64, i64)> {
    let Some(partition) = partition else {
        return Ok((0, 0, 0));
    };
    let count = NonZeroU64::new(u64::from(partition.count))
        .ok_or_else(|| out_of_range("partition count", 0, "1 to 4294967295"))?;
    // below the count, so it fits a bigint
    let wrap = (u64::MAX % count + 1) % count;
    Ok((
        i64::from(partition.count),
        i64::from(partition.index),
        bigint("2^64 mod the partition count", wrap)?,
    ))
}

impl PgEventStore {
    /// Scans up to `scan` rows after `after` in commit order.
    async fn scan(&self, after: Checkpoint, filter: &EventFilter, scan: usize) -> Result<Scan> {
        let sql = self.statements();
        // one partition's reader receives only its rows; a reader of every
        // partition, every row scanned (read_after.sql says why)
        let (sql, lag) = match (self.read_mode(), filter.partition.is_some()) {
            (ReadMode::Transactions, false) => (&sql.read_after, None),
            (ReadMode::Transactions, true) => (&sql.read_partition, None),
            (ReadMode::SafetyMargin(lag), false) => {
                (&sql.read_after_margin, Some(lag_micros(lag)?))
            }
            (ReadMode::SafetyMargin(lag), true) => {
                (&sql.read_partition_margin, Some(lag_micros(lag)?))
            }
        };
        let (count, index, wrap) = partition_params(filter.partition)?;
        let (after_tx, after_position) = checkpoint_bigints(after)?;
        let until = filter.until.map(checkpoint_bigints).transpose()?;
        let mut query = sqlx::query(sql)
            .bind(after_tx)
            .bind(after_position)
            .bind(&filter.aggregate_kinds)
            .bind(&filter.event_kinds)
            .bind(row_limit(scan))
            .bind(until.map(|(tx, _)| tx))
            .bind(until.map(|(_, position)| position))
            .bind(count)
            .bind(index)
            .bind(wrap);
        if let Some(lag) = lag {
            query = query.bind(lag);
        }
        let rows = query.fetch_all(self.pool()).await.map_err(backend)?;
        let end = match rows.last() {
            Some(last) => Some((
                Checkpoint {
                    tx: xid8(last, READ.event.tx)?,
                    position: unsigned(last, READ.event.position, "position")?,
                },
                // the rank of the last row, or (every row sent) the count
                match column::<Option<i64>>(last, READ.rank)? {
                    Some(rank) => fit("rank of the last row read", rank)?,
                    None => rows.len(),
                },
            )),
            None => None,
        };
        let mut events = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in &rows {
            if !known::<bool>(row, READ.wanted)? {
                continue;
            }
            match recorded_event(row, READ.event) {
                // rows without a stream hash pass the partition test in SQL
                Ok(event) if filter.owns(&event.aggregate_id) => events.push(event),
                Ok(_) => {}
                Err(Error::CorruptRow {
                    position,
                    aggregate_kind,
                    aggregate_id,
                    version,
                    problem,
                }) if filter.owns(&aggregate_id) => unreadable.push(UnreadableEvent {
                    checkpoint: Checkpoint {
                        tx: xid8(row, READ.event.tx)?,
                        position,
                    },
                    aggregate_kind,
                    aggregate_id,
                    version,
                    problem,
                }),
                Err(Error::CorruptRow { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(Scan {
            events,
            unreadable,
            end,
        })
    }
}

/// Keeps the first `limit` of the events and unreadable rows together, in
/// commit order; returns the checkpoint of the last one kept.
fn cut_at_limit(
    events: &mut Vec<RecordedEvent>,
    unreadable: &mut Vec<UnreadableEvent>,
    limit: usize,
) -> Option<Checkpoint> {
    let mut all: Vec<Checkpoint> = events
        .iter()
        .map(RecordedEvent::checkpoint)
        .chain(unreadable.iter().map(|u| u.checkpoint))
        .collect();
    all.sort_unstable();
    let last = *all.get(limit.checked_sub(1)?)?;
    events.retain(|e| e.checkpoint() <= last);
    unreadable.retain(|u| u.checkpoint <= last);
    Some(last)
}

impl Tracker for PgEventStore {
    async fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<ReadPage> {
        let limit = limit.max(1);
        let (mut end, mut scan, mut scanned_in_all) = (after, limit, 0);
        loop {
            let found = self.scan(end, filter, scan).await?;
            let Some((scan_end, scanned)) = found.end else {
                return Ok(ReadPage {
                    events: found.events,
                    unreadable: found.unreadable,
                    end,
                    more: false,
                });
            };
            end = scan_end;
            scanned_in_all += scanned;
            let more = scanned == scan;
            if !found.events.is_empty() || !found.unreadable.is_empty() {
                let (mut events, mut unreadable) = (found.events, found.unreadable);
                let more = more || events.len() + unreadable.len() > limit;
                if events.len() + unreadable.len() > limit {
                    // a widened scan found more than asked for: the page
                    // ends at the limit-th row returned
                    end = cut_at_limit(&mut events, &mut unreadable, limit).unwrap_or(end);
                }
                return Ok(ReadPage {
                    events,
                    unreadable,
                    end,
                    more,
                });
            }
            if !more || scanned_in_all >= MAX_SCAN {
                return Ok(ReadPage {
                    events: Vec::new(),
                    unreadable: Vec::new(),
                    end,
                    more,
                });
            }
            // A full scan and none passed the filter: read on past it.
            scan = (scan * 2).min(MAX_SCAN.max(limit));
        }
    }

    async fn head(&self) -> Result<Checkpoint> {
        let query = match self.read_mode() {
            ReadMode::Transactions => sqlx::query(&self.statements().head),
            ReadMode::SafetyMargin(lag) => {
                sqlx::query(&self.statements().head_margin).bind(lag_micros(lag)?)
            }
        };
        let row = query.fetch_optional(self.pool()).await.map_err(backend)?;
        match row {
            Some(row) => checkpoint(&row, CHECKPOINT),
            None => Ok(Checkpoint::BEGINNING),
        }
    }

    async fn ahead_of(&self, checkpoint: Checkpoint) -> Result<Option<u64>> {
        let next: i64 = sqlx::query_scalar(&self.statements().next_tx)
            .fetch_one(self.pool())
            .await
            .map_err(backend)?;
        let next: u64 = fit("next transaction id", next)?;
        Ok((checkpoint.tx >= next).then_some(next))
    }

    fn wakeups(&self) -> Wakeups {
        self.subscribe()
    }

    async fn holdback(&self) -> Result<Option<Holdback>> {
        match self.read_mode() {
            ReadMode::Transactions => Ok(self
                .oldest_open_transaction()
                .await?
                .as_ref()
                .map(Holdback::from)),
            ReadMode::SafetyMargin(_) => Ok(None),
        }
    }
}
