//! `sagas events`: the event log, in commit order.

use std::io::Write;
use std::time::Duration;

use eventstore_core::{AggregateId, Checkpoint, EventFilter, RecordedEvent, Tracker};
use serde_json::json;

use super::args::{Database, Output};
use super::failure::Failure;
use super::store::connect;
use crate::output::table;

fn row(e: &RecordedEvent) -> [String; 5] {
    [
        e.position.to_string(),
        format!("{}/{}", e.aggregate_kind, e.aggregate_id),
        e.version.to_string(),
        e.kind.clone(),
        e.body.to_string(),
    ]
}

/// The event as one line of JSON. The body goes in as the text the store
/// read, not through a parsed value: `jsonb` holds numbers that serde
/// cannot (`1e400`), and serializing such a body would fail.
fn json_line(e: &RecordedEvent) -> String {
    let rest = json!({
        "id": e.id.to_string(), "position": e.position, "aggregate_kind": e.aggregate_kind,
        "aggregate_id": e.aggregate_id, "version": e.version, "kind": e.kind,
        "metadata": e.metadata,
    })
    .to_string();
    // `rest` is an object with keys: put the body first in it
    format!(r#"{{"body":{},{}"#, e.body.as_str().trim(), &rest[1..])
}

/// How many events one read fetches, and so the most rows a table holds.
const PAGE: usize = 1_000;

/// `sagas events`: the log in commit order, read and printed a page at a
/// time, so that a log of any length takes the memory of one page. Tables
/// hold up to a page of rows each: the header comes again after each
/// [`PAGE`] rows (an empty log prints the header alone).
pub(crate) async fn events(
    db: &Database,
    output: Output,
    aggregate: Option<AggregateId>,
    follow: bool,
) -> Result<(), Failure> {
    let store = connect(db).await?;
    let wanted = |e: &RecordedEvent| aggregate.as_ref().is_none_or(|id| *id == *e.aggregate_id);
    let mut out = std::io::stdout().lock();
    let mut wakeups = store.wakeups();
    let mut after = Checkpoint::BEGINNING;
    let new_table = || table(["pos", "aggregate", "ver", "kind", "body"]);
    let (mut page_table, mut rows, mut tables) = (new_table(), 0, 0);
    loop {
        let page = store.read_page(after, &EventFilter::all(), PAGE).await?;
        after = page.end.max(after);
        // a row that cannot be read is named on stderr; the log goes on
        for unreadable in &page.unreadable {
            eprintln!("{}", unreadable.error());
        }
        for e in page.events.iter().filter(|e| wanted(e)) {
            if output.json {
                writeln!(out, "{}", json_line(e))?;
            } else if follow {
                writeln!(out, "{}", row(e).join("  "))?;
            } else {
                page_table.add_row(row(e));
                rows += 1;
                if rows == PAGE {
                    writeln!(out, "{}", page_table.trim_fmt())?;
                    (page_table, rows, tables) = (new_table(), 0, tables + 1);
                }
            }
        }
        if page.more {
            out.flush()?;
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
    if !output.json && (rows > 0 || tables == 0) {
        writeln!(out, "{}", page_table.trim_fmt())?;
    }
    out.flush()?;
    Ok(())
}
