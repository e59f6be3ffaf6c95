//! The systems compared, behind one enum so that every one of them runs in
//! the same measuring loop: open (fresh tables, the system's own way),
//! prepare 100-event aggregates, run one command, reset, close.

mod baseline;
mod cqrs;
mod disintegrate;
mod ours;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::Result;
use crate::case::Case;

/// What every command adds to its counter; the event carries it.
pub(crate) const AMOUNT: u64 = 1;
/// The events of a prepared aggregate (cases b and c).
pub(crate) const PREPARED_EVENTS: u64 = 100;
/// The snapshot interval of case c, for the systems that snapshot.
pub(crate) const SNAPSHOT_EVERY: u64 = 100;
/// The most attempts the bench gives a peer's command that lost a race
/// (the peers do not retry by themselves; this project's `execute` does,
/// with its own default of 50).
pub(crate) const MAX_ATTEMPTS: u32 = 50;
/// Every system's pool holds at most this many connections: this project's
/// default, and one for each of the 16 writers of the largest count.
pub(crate) const MAX_CONNECTIONS: u32 = 16;

/// The domain error of every system's counter: never raised by the bench,
/// but checked on every command, the same in each system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("the counter would overflow")]
pub(crate) struct Overflow;

/// Which system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// Plain sqlx: `BEGIN; INSERT one row; COMMIT`.
    Baseline,
    /// This project: `Repository::execute` on a `PgEventStore`.
    ThisProject,
    /// cqrs-es with postgres-es.
    CqrsEs,
    /// disintegrate with disintegrate-postgres.
    Disintegrate,
}

impl Kind {
    /// Every system, in the order of the tables.
    pub(crate) const ALL: [Kind; 4] = [
        Kind::Baseline,
        Kind::ThisProject,
        Kind::CqrsEs,
        Kind::Disintegrate,
    ];

    /// The peers, whose best this project is compared to.
    pub(crate) const PEERS: [Kind; 2] = [Kind::CqrsEs, Kind::Disintegrate];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Baseline => "baseline",
            Kind::ThisProject => "this project",
            Kind::CqrsEs => "cqrs-es",
            Kind::Disintegrate => "disintegrate",
        })
    }
}

/// What the systems share: where the database is, and how to build pools.
pub(crate) struct Setup {
    /// The PostgreSQL URL.
    pub(crate) url: String,
    /// One connection for the bench's own statements (schemas, ANALYZE,
    /// resets), outside every system's pool.
    pub(crate) admin: PgPool,
    /// Whether the peers' pools ping before every acquire, as sqlx's
    /// default (and so the pools of the peers' documentation) does.
    pub(crate) peer_ping: bool,
}

impl Setup {
    /// Connects the admin pool.
    pub(crate) async fn connect(url: &str, peer_ping: bool) -> Result<Self> {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(|e| {
                format!(
                    "cannot reach PostgreSQL at {url} ({e}); set DATABASE_URL, \
                     e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
                )
            })?;
        Ok(Self {
            url: url.to_owned(),
            admin,
            peer_ping,
        })
    }

    /// Drops `schema` with everything in it and creates it empty.
    pub(crate) async fn fresh_schema(&self, schema: &str) -> Result<()> {
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .execute(&self.admin)
        .await?;
        Ok(())
    }

    /// A peer's pool, built as its documentation builds one (sqlx's
    /// defaults), on sessions whose `search_path` is `schema`, so that the
    /// peer's unqualified table names land there.
    pub(crate) async fn peer_pool(&self, schema: &str) -> Result<PgPool> {
        let options = PgConnectOptions::from_str(&self.url)?.options([("search_path", schema)]);
        Ok(PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .test_before_acquire(self.peer_ping)
            .connect_with(options)
            .await?)
    }

    /// Drops every system's schema, at the end of a run.
    pub(crate) async fn drop_schemas(&self) -> Result<()> {
        let schemas = [
            baseline::SCHEMA,
            ours::SCHEMA,
            cqrs::SCHEMA,
            disintegrate::SCHEMA,
        ];
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            schemas.join(", ")
        ))
        .execute(&self.admin)
        .await?;
        Ok(())
    }

    /// `ANALYZE` of the given tables, as autovacuum would have done on a
    /// live database.
    pub(crate) async fn analyze(&self, tables: &str) -> Result<()> {
        sqlx::raw_sql(&format!("ANALYZE {tables}"))
            .execute(&self.admin)
            .await?;
        Ok(())
    }

    /// Runs `delete` (which removes what the timed commands appended to
    /// the prepared aggregates), then `VACUUM` of `table`, so that the next
    /// batch finds the same rows and no dead ones.
    pub(crate) async fn reset(&self, delete: &str, table: &str) -> Result<()> {
        sqlx::raw_sql(delete).execute(&self.admin).await?;
        sqlx::raw_sql(&format!("VACUUM {table}"))
            .execute(&self.admin)
            .await?;
        Ok(())
    }
}

/// How one command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempts {
    /// Committed, after this many attempts.
    Done(u32),
    /// Lost the race this many times, and was given up.
    GaveUp(u32),
}

/// One system, opened on fresh tables.
pub(crate) enum System {
    /// See [`Kind::Baseline`].
    Baseline(baseline::Baseline),
    /// See [`Kind::ThisProject`].
    ThisProject(ours::Ours),
    /// See [`Kind::CqrsEs`].
    CqrsEs(cqrs::Cqrs),
    /// See [`Kind::Disintegrate`].
    Disintegrate(disintegrate::Disintegrate),
}

impl System {
    /// Drops the system's schema, creates its tables the system's own way,
    /// and builds its pool and command path for `case`.
    pub(crate) async fn open(kind: Kind, setup: &Setup, case: Case) -> Result<Self> {
        Ok(match kind {
            Kind::Baseline => Self::Baseline(baseline::Baseline::open(setup).await?),
            Kind::ThisProject => Self::ThisProject(ours::Ours::open(setup, case).await?),
            Kind::CqrsEs => Self::CqrsEs(cqrs::Cqrs::open(setup, case).await?),
            Kind::Disintegrate => {
                Self::Disintegrate(disintegrate::Disintegrate::open(setup, case).await?)
            }
        })
    }

    /// One command: add [`AMOUNT`] to the counter `id`. `seq` counts the
    /// writer's commands (the baseline derives its row's version from it).
    pub(crate) async fn command(&self, id: &str, seq: u64) -> Result<Attempts> {
        match self {
            Self::Baseline(s) => s.command(id, seq).await,
            Self::ThisProject(s) => s.command(id).await,
            Self::CqrsEs(s) => s.command(id).await,
            Self::Disintegrate(s) => s.command(id).await,
        }
    }

    /// Creates the counter `id` with [`PREPARED_EVENTS`] events, through the
    /// system's own command path (one command that decides them all).
    pub(crate) async fn prepare(&self, id: &str) -> Result<()> {
        match self {
            Self::Baseline(_) => Ok(()),
            Self::ThisProject(s) => s.prepare(id).await,
            Self::CqrsEs(s) => s.prepare(id).await,
            Self::Disintegrate(s) => s.prepare(id).await,
        }
    }

    /// Makes the tables ready for the timed part: `ANALYZE`, and remember
    /// where the prepared events end.
    pub(crate) async fn ready(&self, setup: &Setup) -> Result<()> {
        match self {
            Self::Baseline(_) => setup.analyze(baseline::TABLES).await,
            Self::ThisProject(_) => setup.analyze(ours::TABLES).await,
            Self::CqrsEs(_) => setup.analyze(cqrs::TABLES).await,
            Self::Disintegrate(s) => s.ready(setup).await,
        }
    }

    /// Takes every prepared aggregate back to its [`PREPARED_EVENTS`]
    /// events (case b, between batches, untimed).
    pub(crate) async fn reset(&self, setup: &Setup) -> Result<()> {
        match self {
            Self::Baseline(_) => baseline::reset(setup).await,
            Self::ThisProject(_) => ours::reset(setup).await,
            Self::CqrsEs(_) => cqrs::reset(setup).await,
            Self::Disintegrate(s) => s.reset(setup).await,
        }
    }

    /// Closes the system's pool.
    pub(crate) async fn close(&self) {
        match self {
            Self::Baseline(s) => s.pool.close().await,
            Self::ThisProject(s) => s.close().await,
            Self::CqrsEs(s) => s.pool.close().await,
            Self::Disintegrate(s) => s.pool.close().await,
        }
    }
}
