//! Who holds the tracker back: the oldest open write transaction of the
//! server, in any database, running or prepared.

use std::time::Duration;

use eventstore_core::{Holdback, PreparedTransaction, Result};
use sqlx::postgres::PgRow;

use crate::error::backend;
use crate::rows::{column, time_from_micros};
use crate::store::PgEventStore;

impl PgEventStore {
    /// The open write transaction that holds back every tracker (in
    /// [`ReadMode::Transactions`](crate::ReadMode::Transactions)) while it
    /// stays open: the oldest of the whole server, since the watermark
    /// counts every database's transactions, or a prepared (two-phase)
    /// transaction waiting for `COMMIT PREPARED` or `ROLLBACK PREPARED`.
    /// Its query text is given only when it runs in the store's database.
    /// `None` when no write transaction is open.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn holdback(&self) -> Result<Option<Holdback>> {
        let row = sqlx::query(&self.statements().holdback)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.as_ref().map(holder).transpose()
    }
}

/// A row of `holdback.sql`.
fn holder(row: &PgRow) -> Result<Holdback> {
    let pid: Option<i32> = column(row, "pid")?;
    let age: i64 = column(row, "age_us")?;
    let gid: Option<String> = column(row, "gid")?;
    let prepared = match gid {
        Some(gid) => {
            let at: i64 = column(row, "prepared_us")?;
            Some(PreparedTransaction {
                gid,
                at: time_from_micros(at),
                owner: column(row, "owner")?,
            })
        }
        None => None,
    };
    Ok(Holdback {
        database: column(row, "database")?,
        pid: pid.and_then(|pid| u32::try_from(pid).ok()),
        age: Duration::from_micros(u64::try_from(age).unwrap_or(0)),
        state: column(row, "state")?,
        query: column(row, "query")?,
        prepared,
    })
}
