//! Who holds the tracker back: the oldest open write transaction of the
//! server, in any database, running or prepared.

use eventstore_core::{Holdback, PreparedTransaction, Result};
use sqlx::postgres::PgRow;

use crate::convert::{elapsed, fit, time_from_micros};
use crate::layout::HOLDBACK;
use crate::rows::{backend, column};
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
    let pid: Option<i32> = column(row, HOLDBACK.pid)?;
    let gid: Option<String> = column(row, HOLDBACK.gid)?;
    let prepared = match gid {
        Some(gid) => Some(PreparedTransaction {
            gid,
            at: time_from_micros(
                "prepared at, in microseconds",
                column(row, HOLDBACK.prepared_us)?,
            )?,
            owner: column(row, HOLDBACK.owner)?,
        }),
        None => None,
    };
    Ok(Holdback {
        database: column(row, HOLDBACK.database)?,
        pid: pid.map(|pid| fit("backend pid", pid)).transpose()?,
        age: elapsed(column(row, HOLDBACK.age_us)?),
        state: column(row, HOLDBACK.state)?,
        query: column(row, HOLDBACK.query)?,
        prepared,
    })
}
