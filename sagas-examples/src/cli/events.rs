//! `sagas events`: the event log, in commit order.

use std::time::Duration;

use eventstore_core::{Checkpoint, EventFilter, RecordedEvent, Tracker};
use serde_json::json;

use super::args::{Database, Output};
use super::{Failure, connect};
use crate::table::Table;

fn row(e: &RecordedEvent) -> [String; 5] {
    [
        e.position.to_string(),
        format!("{}/{}", e.aggregate_kind, e.aggregate_id),
        e.version.to_string(),
        e.kind.clone(),
        e.body.to_string(),
    ]
}

fn json_line(e: &RecordedEvent) -> serde_json::Value {
    json!({
        "id": e.id.to_string(), "position": e.position, "aggregate_kind": e.aggregate_kind,
        "aggregate_id": e.aggregate_id, "version": e.version, "kind": e.kind, "body": e.body,
        "metadata": e.metadata,
    })
}

/// `sagas events`
pub(crate) async fn events(
    db: &Database,
    output: Output,
    aggregate: Option<String>,
    follow: bool,
) -> Result<(), Failure> {
    let store = connect(db).await?;
    let wanted = |e: &RecordedEvent| aggregate.as_deref().is_none_or(|id| e.aggregate_id == id);
    let mut wakeups = store.wakeups();
    let mut after = Checkpoint::BEGINNING;
    let mut table = Table::new(["pos", "aggregate", "ver", "kind", "body"]);
    loop {
        let page = store.read_after(after, &EventFilter::all(), 1_000).await?;
        if let Some(last) = page.last() {
            after = last.checkpoint();
        }
        for e in page.iter().filter(|e| wanted(e)) {
            if output.json {
                println!("{}", json_line(e));
            } else if follow {
                println!("{}", row(e).join("  "));
            } else {
                table.push(row(e));
            }
        }
        if !page.is_empty() {
            continue;
        }
        if !follow {
            break;
        }
        tokio::select! {
            _ = wakeups.wait(Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
    if !output.json {
        print!("{table}");
    }
    Ok(())
}
