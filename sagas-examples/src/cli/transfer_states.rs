//! Transfers by state, and the stuck ones, counted by PostgreSQL: however
//! many transfers the log holds, `sagas status` receives one row per event
//! kind and at most [`STUCK_SHOWN`] stuck transfers.
//!
//! A transfer's state is a function of its last event's kind
//! ([`TransferStatus::after`]), so the database groups the streams by that
//! kind and nothing is folded here.

use std::collections::BTreeMap;
use std::time::Duration;

use eventstore_core::{Aggregate, Event};
use eventstore_postgres::PgEventStore;
use sqlx::Row;

use super::failure::{Failure, failed};
use crate::transfer::{Transfer, TransferEvent, TransferStatus};

/// How many stuck transfers are listed, oldest first.
pub(crate) const STUCK_SHOWN: usize = 20;

/// Every transfer's last event kind and start (a fragment of the two
/// statements below).
const TRANSFERS: &str = include_str!("sql/transfers.sql");
/// Counts by last event kind.
const TRANSFER_STATES: &str = include_str!("sql/transfer_states.sql");
/// The oldest stuck transfers.
const STUCK_TRANSFERS: &str = include_str!("sql/stuck_transfers.sql");

/// Transfers by state.
#[derive(Debug, Default)]
pub(crate) struct Census {
    /// How many transfers are in each state.
    pub(crate) by_state: BTreeMap<TransferStatus, u64>,
    /// How many are not settled and older than the age asked for.
    pub(crate) stuck: u64,
}

/// A transfer not settled long after it started.
#[derive(Debug)]
pub(crate) struct Stuck {
    /// The transfer id.
    pub(crate) id: String,
    /// Its state.
    pub(crate) state: TransferStatus,
    /// How long ago it started.
    pub(crate) age: Duration,
}

/// The state of a transfer whose last event is of kind `kind`, or a
/// failure naming a kind that no transfer event has.
fn state_after(kind: &str) -> Result<TransferStatus, Failure> {
    TransferStatus::after(kind).ok_or_else(|| {
        Failure::Failed(format!(
            "a transfer ends with an event of kind {kind:?}, which TransferEvent does not know"
        ))
    })
}

/// The kinds after which a transfer is not settled and should move on:
/// one awaiting approval waits on purpose (its deadline shows among the
/// saga's deadlines), so it is never stuck.
fn unsettled_kinds() -> Vec<&'static str> {
    TransferEvent::KINDS
        .iter()
        .copied()
        .filter(|kind| TransferStatus::after(kind).is_some_and(can_be_stuck))
        .collect()
}

/// Whether a transfer in `state` should move on by itself.
fn can_be_stuck(state: TransferStatus) -> bool {
    !state.is_settled() && state != TransferStatus::AwaitingApproval
}

/// `sql` with its placeholders replaced: the transfers fragment, then the
/// store's schema (checked to be a plain identifier when the store was
/// connected; nothing else is spliced in, every value is bound).
fn statement(store: &PgEventStore, sql: &str) -> String {
    sql.replace("{transfers}", TRANSFERS)
        .replace("{schema}", &format!("\"{}\"", store.schema()))
}

/// How many transfers are in each state, and how many of them are stuck:
/// not settled more than `stuck_after` after they started.
pub(crate) async fn census(store: &PgEventStore, stuck_after: Duration) -> Result<Census, Failure> {
    let rows = sqlx::query(&statement(store, TRANSFER_STATES))
        .bind(Transfer::KIND)
        .bind(stuck_after.as_secs_f64())
        .fetch_all(store.pool())
        .await
        .map_err(|e| failed(&e))?;
    let mut census = Census::default();
    for row in rows {
        let kind: String = row.try_get("kind").map_err(|e| failed(&e))?;
        let transfers: i64 = row.try_get("transfers").map_err(|e| failed(&e))?;
        let older: i64 = row.try_get("older").map_err(|e| failed(&e))?;
        let state = state_after(&kind)?;
        *census.by_state.entry(state).or_default() += transfers.unsigned_abs();
        if can_be_stuck(state) {
            census.stuck += older.unsigned_abs();
        }
    }
    Ok(census)
}

/// The [`STUCK_SHOWN`] oldest transfers not settled more than `stuck_after`
/// after they started, oldest first.
pub(crate) async fn oldest_stuck(
    store: &PgEventStore,
    stuck_after: Duration,
) -> Result<Vec<Stuck>, Failure> {
    let rows = sqlx::query(&statement(store, STUCK_TRANSFERS))
        .bind(Transfer::KIND)
        .bind(unsettled_kinds())
        .bind(stuck_after.as_secs_f64())
        .bind(i64::try_from(STUCK_SHOWN).unwrap_or(i64::MAX))
        .fetch_all(store.pool())
        .await
        .map_err(|e| failed(&e))?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind").map_err(|e| failed(&e))?;
            let age: f64 = row.try_get("age_seconds").map_err(|e| failed(&e))?;
            Ok(Stuck {
                id: row.try_get("aggregate_id").map_err(|e| failed(&e))?,
                state: state_after(&kind)?,
                age: Duration::try_from_secs_f64(age).unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::commands::status_name;

    #[test]
    fn every_kind_has_a_state_and_the_unsettled_ones_are_stuck_candidates() {
        let mut names: Vec<&str> = TransferEvent::KINDS
            .iter()
            .map(|kind| {
                status_name(state_after(kind).unwrap_or_else(|_| panic!("{kind} has no state")))
            })
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "approved",
                "awaiting-approval",
                "completed",
                "debited",
                "deposit-failed",
                "failed",
                "refunded",
                "rejected",
                "started",
                "timed-out"
            ],
            "each kind names a state of its own, as `transfer show` prints it"
        );
        assert_eq!(
            unsettled_kinds(),
            [
                "TransferStarted",
                "TransferDebited",
                "DepositFailed",
                "TransferApproved",
                "TransferRejected",
                "ApprovalTimedOut"
            ]
        );
        assert!(
            matches!(state_after("Opened"), Err(Failure::Failed(m)) if m.contains("\"Opened\""))
        );
    }
}
