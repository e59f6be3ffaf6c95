//! The [`Tracker`] impl: reading committed events in commit order.

use std::time::Duration;

use eventstore_core::{Checkpoint, EventFilter, Holdback, RecordedEvent, Result, Tracker, Wakeups};

use crate::options::ReadMode;
use crate::rows::{backend, bigint, known, recorded_event, unsigned, xid8};
use crate::store::PgEventStore;

fn micros(lag: Duration) -> i64 {
    i64::try_from(lag.as_micros()).unwrap_or(i64::MAX)
}

/// The most rows one read scans for a filter that passes few of them: a
/// read that found nothing in a full page scans twice as far next time, up
/// to this many rows.
const MAX_SCAN: usize = 10_000;

/// One page of a read: the events that passed the filter, and where the
/// scan ended (`None` when it read nothing) after how many rows.
struct Page {
    events: Vec<RecordedEvent>,
    end: Option<(Checkpoint, usize)>,
}

impl PgEventStore {
    /// Scans up to `scan` rows after `after` in commit order.
    async fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        scan: usize,
    ) -> Result<Page> {
        let (sql, lag) = match self.read_mode() {
            ReadMode::Transactions => (&self.statements().read_after, None),
            ReadMode::SafetyMargin(lag) => {
                (&self.statements().read_after_margin, Some(micros(lag)))
            }
        };
        let mut query = sqlx::query(sql)
            .bind(bigint(after.tx))
            .bind(bigint(after.position))
            .bind(&filter.aggregate_kinds)
            .bind(&filter.event_kinds)
            .bind(i64::try_from(scan).unwrap_or(i64::MAX))
            .bind(filter.until.map(|u| bigint(u.tx)))
            .bind(filter.until.map(|u| bigint(u.position)));
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
                rows.len(),
            )),
            None => None,
        };
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            if known::<bool>(row, 0)? {
                events.push(recorded_event(row, 1)?);
            }
        }
        Ok(Page { events, end })
    }
}

impl Tracker for PgEventStore {
    async fn read_after(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let limit = limit.max(1);
        let (mut after, mut scan) = (after, limit);
        loop {
            let page = self.read_page(after, filter, scan).await?;
            let Some((end, scanned)) = page.end else {
                return Ok(page.events);
            };
            if !page.events.is_empty() || scanned < scan {
                let mut events = page.events;
                events.truncate(limit);
                return Ok(events);
            }
            // A full page and none passed the filter: read on past it.
            after = end;
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

    fn wakeups(&self) -> Wakeups {
        self.subscribe()
    }

    async fn holdback(&self) -> Result<Option<Holdback>> {
        match self.read_mode() {
            ReadMode::Transactions => PgEventStore::holdback(self).await,
            ReadMode::SafetyMargin(_) => Ok(None),
        }
    }
}
