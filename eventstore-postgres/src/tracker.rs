//! The [`Tracker`] impl: reading committed events in commit order.

use std::time::Duration;

use eventstore_core::backend::{ReadPage, UnreadableEvent, Wakeups};
use eventstore_core::{Checkpoint, Error, EventFilter, Holdback, RecordedEvent, Result, Tracker};

use crate::error::backend;
use crate::options::ReadMode;
use crate::rows::{bigint, column, known, recorded_event, unsigned, xid8};
use crate::store::PgEventStore;

/// A transaction id the server computed, which is never negative.
fn unsigned_value(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::OutOfRange {
        what: "transaction id",
        value: value.to_string(),
        allowed: "0 or more",
    })
}

fn micros(lag: Duration) -> i64 {
    i64::try_from(lag.as_micros()).unwrap_or(i64::MAX)
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

/// The partition parameters of read_page.sql: the count (0 for all), the
/// index, and 2^64 mod the count.
fn partition_params(filter: &EventFilter) -> (i64, i64, i64) {
    filter.partition.map_or((0, 0, 0), |p| {
        let count = u64::from(p.count);
        let wrap = (1u128 << 64) % u128::from(count);
        (
            bigint(count),
            i64::from(p.index),
            i64::try_from(wrap).unwrap_or(0),
        )
    })
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
            (ReadMode::SafetyMargin(lag), false) => (&sql.read_after_margin, Some(micros(lag))),
            (ReadMode::SafetyMargin(lag), true) => (&sql.read_partition_margin, Some(micros(lag))),
        };
        let (count, index, wrap) = partition_params(filter);
        let mut query = sqlx::query(sql)
            .bind(bigint(after.tx))
            .bind(bigint(after.position))
            .bind(&filter.aggregate_kinds)
            .bind(&filter.event_kinds)
            .bind(i64::try_from(scan).unwrap_or(i64::MAX))
            .bind(filter.until.map(|u| bigint(u.tx)))
            .bind(filter.until.map(|u| bigint(u.position)))
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
                    tx: xid8(last, 3)?,
                    position: unsigned(last, 2)?,
                },
                // the rank of the last row, or (every row sent) the count
                match column::<Option<i64>, _>(last, 11)? {
                    Some(rank) => usize::try_from(rank).unwrap_or(usize::MAX),
                    None => rows.len(),
                },
            )),
            None => None,
        };
        let mut events = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in &rows {
            if !known::<bool>(row, 0)? {
                continue;
            }
            match recorded_event(row, 1) {
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
                        tx: xid8(row, 3)?,
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
                sqlx::query(&self.statements().head_margin).bind(micros(lag))
            }
        };
        let row = query.fetch_optional(self.pool()).await.map_err(backend)?;
        match row {
            Some(row) => Ok(Checkpoint {
                tx: unsigned(&row, "tx")?,
                position: unsigned(&row, "position")?,
            }),
            None => Ok(Checkpoint::BEGINNING),
        }
    }

    async fn ahead_of(&self, checkpoint: Checkpoint) -> Result<Option<u64>> {
        let next: i64 = sqlx::query_scalar(&self.statements().next_tx)
            .fetch_one(self.pool())
            .await
            .map_err(backend)?;
        let next = unsigned_value(next)?;
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
