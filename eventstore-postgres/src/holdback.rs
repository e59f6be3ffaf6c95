//! Who holds the tracker back: the oldest open write transaction.

use std::time::Duration;

use eventstore_core::Result;
use sqlx::Row;

use crate::rows::{backend, column};
use crate::store::PgEventStore;

/// An open write transaction that keeps the tracker from reading newer
/// events until it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdback {
    /// The backend's process id (`pg_stat_activity.pid`): what
    /// `pg_terminate_backend` takes.
    pub pid: i32,
    /// How long its transaction has been open.
    pub age: Duration,
    /// `active`, `idle in transaction`, ...
    pub state: String,
    /// The start of its last statement.
    pub query: String,
}

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
            Ok(Holdback {
                pid: row.try_get("pid").map_err(backend)?,
                age: Duration::from_micros(u64::try_from(age).unwrap_or(0)),
                state: column(&row, "state")?,
                query: column(&row, "query")?,
            })
        })
        .transpose()
    }
}
