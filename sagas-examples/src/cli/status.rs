//! `sagas status`: transfers by state, stuck transfers, the saga's lag and
//! parked events.

use std::time::{Duration, SystemTime};

use eventstore_core::reactor::{Runner, RunnerOptions};
use eventstore_postgres::OpenTransaction;
use serde_json::json;

use super::args::{Database, Output};
use super::commands::DEFAULT_PARTITIONS;
use super::transfer_states::{STUCK_SHOWN, census, oldest_stuck};
use super::{Failure, connect, repository};
use crate::saga::TransferSaga;
use crate::table::Table;

/// `sagas status`
pub(crate) async fn status(db: &Database, output: Output, stuck_after: u64) -> Result<(), Failure> {
    let store = connect(db).await?;
    let stuck_after = Duration::from_secs(stuck_after);
    let census = census(&store, stuck_after).await?;
    let stuck = if census.stuck == 0 {
        Vec::new()
    } else {
        oldest_stuck(&store, stuck_after).await?
    };
    let saga = Runner::new(store.clone(), TransferSaga::new(repository(store.clone())))
        .options(RunnerOptions::default().partitions(DEFAULT_PARTITIONS));
    let reactor = saga.status().await?;
    // the status's holdback in PostgreSQL's own terms: database, pid, state
    let holdback = store.oldest_open_transaction().await?;
    if output.json {
        let value = json!({
            "transfers": census.by_state,
            "stuck": stuck.iter().map(|s| json!({ "id": s.id, "status": s.state, "age_seconds": s.age.as_secs() })).collect::<Vec<_>>(),
            "stuck_total": census.stuck,
            "saga": {
                "partitions": reactor.partitions.iter().map(|p| json!({
                    "partition": p.partition, "checkpoint": p.checkpoint.position,
                    "lag_events": p.lag_events, "lag_seconds": p.lag.as_secs_f64(), "lease_holder": p.lease_holder,
                })).collect::<Vec<_>>(),
                "head": reactor.head.position,
                "parked": reactor.parked,
                "held_back_by": holdback.as_ref().map(holdback_json),
            },
        });
        println!("{value}");
        return Ok(());
    }
    let mut states = Table::new(["transfers", "count"]);
    for (state, count) in &census.by_state {
        states.push([(*state).to_owned(), count.to_string()]);
    }
    print!("{states}");
    if !stuck.is_empty() {
        if census.stuck > stuck.len() as u64 {
            println!(
                "\nstuck (not settled after {} s; the oldest {STUCK_SHOWN} of {}):",
                stuck_after.as_secs(),
                census.stuck
            );
        } else {
            println!("\nstuck (not settled after {} s):", stuck_after.as_secs());
        }
        let mut table = Table::new(["transfer", "status", "age"]);
        for s in &stuck {
            table.push([
                s.id.clone(),
                s.state.to_owned(),
                format!("{} s", s.age.as_secs()),
            ]);
        }
        print!("{table}");
    }
    println!(
        "\nsaga {} (head at position {}, {} parked):",
        reactor.reactor, reactor.head.position, reactor.parked
    );
    let mut partitions = Table::new(["partition", "checkpoint", "lag", "lag age", "lease holder"]);
    for p in &reactor.partitions {
        partitions.push([
            p.partition.to_string(),
            p.checkpoint.position.to_string(),
            p.lag_events.to_string(),
            format!("{:.1} s", p.lag.as_secs_f64()),
            p.lease_holder.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    print!("{partitions}");
    if let Some(h) = &holdback {
        println!("\nreading is held back by {h}");
    }
    Ok(())
}

/// The transaction that holds reading back, for `--json`: `pid` is null
/// and `prepared` set for a prepared (two-phase) transaction; `query` is
/// empty unless it runs in the store's database.
fn holdback_json(h: &OpenTransaction) -> serde_json::Value {
    json!({
        "database": h.database,
        "pid": h.pid,
        "age_seconds": h.age.as_secs_f64(),
        "state": h.state,
        "query": h.query,
        "prepared": h.prepared.as_ref().map(|p| json!({
            "gid": p.gid,
            "owner": p.owner,
            "prepared_at_unix": p.at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventstore_postgres::PreparedTransaction;

    fn running(database: &str) -> OpenTransaction {
        OpenTransaction {
            database: database.to_owned(),
            pid: Some(42),
            age: Duration::from_millis(2_500),
            state: "idle in transaction".to_owned(),
            query: String::new(),
            prepared: None,
        }
    }

    #[test]
    fn a_running_holder_is_named_by_pid_and_database() {
        let value = holdback_json(&running("other"));
        assert_eq!(value["database"], "other");
        assert_eq!(value["pid"], 42);
        assert!(value["prepared"].is_null(), "{value}");
    }

    #[test]
    fn a_prepared_holder_is_named_by_gid() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let holder = OpenTransaction {
            pid: None,
            state: "prepared".to_owned(),
            prepared: Some(PreparedTransaction {
                gid: "pay-7".to_owned(),
                at,
                owner: "billing".to_owned(),
            }),
            ..running("test")
        };
        let value = holdback_json(&holder);
        assert!(value["pid"].is_null(), "{value}");
        assert_eq!(value["prepared"]["gid"], "pay-7");
        assert_eq!(value["prepared"]["owner"], "billing");
        assert_eq!(value["prepared"]["prepared_at_unix"], 1_700_000_000.0);
    }
}
