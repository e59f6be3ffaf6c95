//! Who holds the tracker back: the oldest open write transaction.

use std::time::Duration;

use eventstore_core::{Holdback, Result};
use sqlx::Row;

use crate::rows::{backend, column};
use crate::store::PgEventStore;

impl PgEventStore {
    /// The oldest open write transaction in this database, which holds back
    /// every tracker while it stays open (in
    /// [`ReadMode::Transactions`](crate::ReadMode::Transactions)); `None`
    /// when no write transaction is open.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn holdback(&self) -> Result<Option<Holdback>> {
        let row = sqlx::query(&self.statements().holdback)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.map(|row| {
            let age: i64 = column(&row, "age_us")?;
            let pid: i32 = row.try_get("pid").map_err(backend)?;
            Ok(Holdback {
                pid: u32::try_from(pid).unwrap_or(0),
                age: Duration::from_micros(u64::try_from(age).unwrap_or(0)),
                state: column(&row, "state")?,
                query: column(&row, "query")?,
            })
        })
        .transpose()
    }
}
