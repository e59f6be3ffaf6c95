//! Who holds the tracker back: the oldest open write transaction of the
//! server, in any database, running or prepared.

use std::fmt;
use std::time::{Duration, SystemTime};

use eventstore_core::{Holdback, Result};
use sqlx::postgres::PgRow;

use crate::convert::{elapsed, fit, time_from_micros};
use crate::error::backend;
use crate::layout::HOLDBACK;
use crate::rows::column;
use crate::store::PgEventStore;

/// An open write transaction that keeps a tracker (in
/// [`ReadMode::Transactions`](crate::ReadMode::Transactions)) from reading
/// newer events until it ends. The watermark is the oldest transaction of
/// the whole server, so it may run in another database than the store's.
///
/// Its `Display` names it in plain words, with what ends it:
///
/// ```
/// use std::time::Duration;
/// use eventstore_postgres::OpenTransaction;
///
/// let open = OpenTransaction {
///     database: "shop".into(),
///     pid: Some(42),
///     age: Duration::from_millis(2_500),
///     state: "idle in transaction".into(),
///     query: String::new(),
///     prepared: None,
/// };
/// assert_eq!(open.to_string(), "pid 42 in database shop (idle in transaction, open 2.5 s)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTransaction {
    /// The database it runs in.
    pub database: String,
    /// The database process running it (`pg_stat_activity.pid`, what
    /// `pg_terminate_backend` takes); `None` for a
    /// [`prepared`](Self::prepared) transaction, which no process runs.
    pub pid: Option<u32>,
    /// How long it has been open; for a prepared one, how long ago it was
    /// prepared.
    pub age: Duration,
    /// Its state (`active`, `idle in transaction`, ..., `prepared`).
    pub state: String,
    /// The start of its last statement, only when it runs in the store's own
    /// database; empty otherwise (it may show another application's data)
    /// and for a prepared transaction.
    pub query: String,
    /// What identifies it when it is a prepared (two-phase) transaction.
    pub prepared: Option<PreparedTransaction>,
}

/// A prepared (two-phase) transaction: it waits, with no process, for
/// whoever prepared it to finish it with `COMMIT PREPARED` or
/// `ROLLBACK PREPARED` and its [`gid`](Self::gid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedTransaction {
    /// Its global identifier, given to `PREPARE TRANSACTION`.
    pub gid: String,
    /// When it was prepared.
    pub at: SystemTime,
    /// The role that prepared it.
    pub owner: String,
}

impl fmt::Display for OpenTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open = self.age.as_secs_f64();
        let database = &self.database;
        let state = &self.state;
        match (&self.prepared, self.pid) {
            (Some(p), _) => write!(
                f,
                "prepared transaction {:?} in database {database} (owner {}, prepared {open:.1} s \
                 ago): once its owner agrees, end it there with COMMIT PREPARED or ROLLBACK PREPARED",
                p.gid, p.owner
            ),
            (None, Some(pid)) if self.query.is_empty() => {
                write!(
                    f,
                    "pid {pid} in database {database} ({state}, open {open:.1} s)"
                )
            }
            (None, Some(pid)) => write!(
                f,
                "pid {pid} in database {database} ({state}, open {open:.1} s): {}",
                self.query
            ),
            (None, None) => write!(
                f,
                "a transaction in database {database} ({state}, open {open:.1} s)"
            ),
        }
    }
}

impl From<&OpenTransaction> for Holdback {
    fn from(open: &OpenTransaction) -> Self {
        Self {
            age: open.age,
            holder: open.to_string(),
        }
    }
}

impl PgEventStore {
    /// The open write transaction that holds back every tracker (in
    /// [`ReadMode::Transactions`](crate::ReadMode::Transactions)) while it
    /// stays open: the oldest of the whole server, since the watermark
    /// counts every database's transactions, or a prepared (two-phase)
    /// transaction waiting for `COMMIT PREPARED` or `ROLLBACK PREPARED`.
    /// Its query text is given only when it runs in the store's database.
    /// `None` when no write transaction is open.
    /// [`Tracker::holdback`](eventstore_core::Tracker::holdback) describes
    /// the same transaction in the backend-neutral [`Holdback`].
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend).
    pub async fn oldest_open_transaction(&self) -> Result<Option<OpenTransaction>> {
        let row = sqlx::query(&self.statements().holdback)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.as_ref().map(holder).transpose()
    }
}

/// A row of `holdback.sql`.
fn holder(row: &PgRow) -> Result<OpenTransaction> {
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
    Ok(OpenTransaction {
        database: column(row, HOLDBACK.database)?,
        pid: pid.map(|pid| fit("backend pid", pid)).transpose()?,
        age: elapsed(column(row, HOLDBACK.age_us)?),
        state: column(row, HOLDBACK.state)?,
        query: column(row, HOLDBACK.query)?,
        prepared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(database: &str, query: &str) -> OpenTransaction {
        OpenTransaction {
            database: database.to_owned(),
            pid: Some(42),
            age: Duration::from_millis(2_500),
            state: "idle in transaction".to_owned(),
            query: query.to_owned(),
            prepared: None,
        }
    }

    #[test]
    fn a_running_holder_is_named_by_pid_and_database() {
        assert_eq!(
            running("postgres", "UPDATE t SET x = 1").to_string(),
            "pid 42 in database postgres (idle in transaction, open 2.5 s): UPDATE t SET x = 1"
        );
        let other = running("other", "");
        assert_eq!(
            other.to_string(),
            "pid 42 in database other (idle in transaction, open 2.5 s)"
        );
        let neutral = Holdback::from(&other);
        assert_eq!(neutral.age, Duration::from_millis(2_500));
        assert_eq!(neutral.holder, other.to_string());
    }

    #[test]
    fn a_prepared_holder_is_named_by_gid() {
        let holder = OpenTransaction {
            pid: None,
            state: "prepared".to_owned(),
            prepared: Some(PreparedTransaction {
                gid: "pay-7".to_owned(),
                at: SystemTime::UNIX_EPOCH,
                owner: "billing".to_owned(),
            }),
            ..running("test", "")
        };
        let line = holder.to_string();
        assert!(
            line.starts_with(
                "prepared transaction \"pay-7\" in database test (owner billing, prepared 2.5 s ago)"
            ),
            "{line}"
        );
    }

    #[test]
    fn a_holder_without_a_process_or_a_gid_is_named_by_its_database() {
        let holder = OpenTransaction {
            pid: None,
            ..running("test", "")
        };
        assert_eq!(
            holder.to_string(),
            "a transaction in database test (idle in transaction, open 2.5 s)"
        );
    }
}
