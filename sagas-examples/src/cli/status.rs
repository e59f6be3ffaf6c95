//! `sagas status`: transfers by state, stuck transfers, the saga's lag,
//! parked events and pending approval deadlines.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use eventstore_core::backend::DeadlineSummary;
use eventstore_core::reactor::{Runner, RunnerOptions};
use eventstore_postgres::OpenTransaction;
use serde_json::json;

use super::args::{Database, Output};
use super::commands::{DEFAULT_PARTITIONS, status_name};
use super::failure::Failure;
use super::store::{connect, repository};
use super::transfer_states::{STUCK_SHOWN, census, oldest_stuck};
use crate::output::{table, utc};
use crate::saga::TransferSaga;

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
            "transfers": census.by_state.iter().map(|(state, count)| (status_name(*state), count)).collect::<BTreeMap<_, _>>(),
            "stuck": stuck.iter().map(|s| json!({ "id": s.id, "status": status_name(s.state), "age_seconds": s.age.as_secs() })).collect::<Vec<_>>(),
            "stuck_total": census.stuck,
            "saga": {
                "partitions": reactor.partitions.iter().map(|p| json!({
                    "partition": p.partition, "checkpoint": p.checkpoint.position,
                    "lag_events": p.lag_events, "lag_seconds": p.lag.as_secs_f64(), "lease_holder": p.lease_holder,
                })).collect::<Vec<_>>(),
                "head": reactor.head.position,
                "parked": reactor.parked,
                "held_back_by": holdback.as_ref().map(holdback_json),
                "deadlines": reactor.deadlines.as_ref().map(|d| deadlines_json(d, SystemTime::now())),
            },
        });
        println!("{value}");
        return Ok(());
    }
    let mut states = table(["transfers", "count"]);
    for (state, count) in &census.by_state {
        states.add_row([state.to_string(), count.to_string()]);
    }
    println!("{}", states.trim_fmt());
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
        let mut stuck_table = table(["transfer", "status", "age"]);
        for s in &stuck {
            stuck_table.add_row([
                s.id.clone(),
                s.state.to_string(),
                format!("{} s", s.age.as_secs()),
            ]);
        }
        println!("{}", stuck_table.trim_fmt());
    }
    println!(
        "\nsaga {} (head at position {}, {} parked):",
        reactor.reactor, reactor.head.position, reactor.parked
    );
    let mut partitions = table(["partition", "checkpoint", "lag", "lag age", "lease holder"]);
    for p in &reactor.partitions {
        partitions.add_row([
            p.partition.to_string(),
            p.checkpoint.position.to_string(),
            p.lag_events.to_string(),
            format!("{:.1} s", p.lag.as_secs_f64()),
            p.lease_holder.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    println!("{}", partitions.trim_fmt());
    if let Some(deadlines) = &reactor.deadlines {
        print_deadlines(deadlines, SystemTime::now());
    }
    if let Some(h) = &holdback {
        println!("\nreading is held back by {h}");
    }
    Ok(())
}

/// The pending approval deadlines: how many, the next, the overdue ones.
fn print_deadlines(d: &DeadlineSummary, now: SystemTime) {
    let Some(next) = d.next_due else {
        println!("\ndeadlines: none pending");
        return;
    };
    println!(
        "\ndeadlines: {} pending, the next due {}; {} overdue",
        d.pending,
        utc(next),
        d.overdue
    );
    if d.most_overdue.is_empty() {
        return;
    }
    let mut overdue = table(["transfer", "deadline", "due", "late"]);
    for p in &d.most_overdue {
        overdue.add_row([
            p.saga_id.to_string(),
            p.deadline.name().to_owned(),
            utc(p.deadline.due()),
            format!("{} s", late(p.deadline.due(), now).as_secs()),
        ]);
    }
    println!("{}", overdue.trim_fmt());
}

/// How long past `due` it is at `now`.
fn late(due: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(due).unwrap_or_default()
}

/// The pending deadlines, for `--json`: times in seconds since 1970.
fn deadlines_json(d: &DeadlineSummary, now: SystemTime) -> serde_json::Value {
    let unix = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    json!({
        "pending": d.pending,
        "next_due_unix": d.next_due.map(unix),
        "overdue": d.overdue,
        "most_overdue": d.most_overdue.iter().map(|p| json!({
            "transfer": p.saga_id,
            "deadline": p.deadline.name(),
            "due_unix": unix(p.deadline.due()),
            "late_seconds": late(p.deadline.due(), now).as_secs_f64(),
        })).collect::<Vec<_>>(),
    })
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
