//! The baseline: plain sqlx, `BEGIN; INSERT one row; COMMIT` into a table
//! shaped like an events table (`sql/baseline.sql`), no read, no check, on a
//! pool that never pings.

use eventstore_core::EventId;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::{AMOUNT, Attempts, MAX_CONNECTIONS, PREPARED_EVENTS, Setup};
use crate::Result;

pub(super) const SCHEMA: &str = "peers_baseline";
/// The tables to analyze.
pub(super) const TABLES: &str = "peers_baseline.events";
const INSERT: &str = "INSERT INTO peers_baseline.events \
    (id, aggregate_kind, aggregate_id, version, kind, body, metadata) \
    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)";

/// The baseline's pool.
pub(crate) struct Baseline {
    pub(super) pool: PgPool,
}

impl Baseline {
    pub(super) async fn open(setup: &Setup) -> Result<Self> {
        setup.fresh_schema(SCHEMA).await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .test_before_acquire(false)
            .connect(&setup.url)
            .await?;
        sqlx::raw_sql(&format!(
            "SET search_path TO {SCHEMA}; {}; RESET search_path",
            include_str!("../../sql/baseline.sql")
        ))
        .execute(&pool)
        .await?;
        Ok(Self { pool })
    }

    /// Inserts one row, at a version past the prepared ones that is new
    /// for this writer (`seq`), in a transaction of its own.
    pub(super) async fn command(&self, id: &str, seq: u64) -> Result<Attempts> {
        let version = i64::try_from(PREPARED_EVENTS + 1 + seq)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(INSERT)
            .bind(EventId::new().to_string())
            .bind("Counter")
            .bind(id)
            .bind(version)
            .bind("Incremented")
            .bind(format!("{{\"amount\":{AMOUNT}}}"))
            .bind("{}")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Attempts::Done(1))
    }
}

pub(super) async fn reset(setup: &Setup) -> Result<()> {
    setup
        .reset(
            &format!("DELETE FROM {TABLES} WHERE version > {PREPARED_EVENTS}"),
            TABLES,
        )
        .await
}
