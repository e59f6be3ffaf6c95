//! `sagas events`: the event log, in commit order, as stored or as the
//! application reads it today.

use std::io::Write;
use std::time::Duration;

use eventstore_core::{
    Aggregate, AggregateId, Checkpoint, Event, EventBody, EventFilter, RecordedEvent, Tracker,
};
use serde_json::json;

use super::args::{Database, Output};
use super::failure::Failure;
use super::store::connect;
use crate::account::Account;
use crate::output::table;
use crate::transfer::Transfer;

/// One line of the log: a stored row as the store holds it, or one of the
/// events it reads as today.
struct Line<'a> {
    /// The row: its position, stream, version, id and metadata.
    row: &'a RecordedEvent,
    kind: &'a str,
    schema_version: u32,
    body: EventBody,
}

impl<'a> Line<'a> {
    /// The row as stored: its kind, schema version and body.
    fn stored(row: &'a RecordedEvent) -> Self {
        Self {
            row,
            kind: &row.kind,
            schema_version: row.schema_version,
            body: row.body.clone(),
        }
    }

    /// The events `row` reads as today: for the sample's aggregates, the
    /// row brought to the current version of its events by their
    /// upcasters (a split row reads as several, a dropped one as none);
    /// a row of another aggregate kind as stored. A row that cannot be
    /// read so is a failure that names it, and why.
    fn read_today(row: &'a RecordedEvent) -> Result<Vec<Self>, Failure> {
        match row.aggregate_kind.as_str() {
            Account::KIND => Self::read_as::<Account>(row),
            Transfer::KIND => Self::read_as::<Transfer>(row),
            _ => Ok(vec![Self::stored(row)]),
        }
    }

    fn read_as<A: Aggregate>(row: &'a RecordedEvent) -> Result<Vec<Self>, Failure> {
        row.decode_all::<A::Event>()?
            .into_iter()
            .map(|event| {
                Ok(Self {
                    row,
                    kind: event.kind(),
                    schema_version: event.schema_version(),
                    body: event.to_body()?,
                })
            })
            .collect()
    }

    fn cells(&self) -> [String; 6] {
        let row = self.row;
        [
            row.position.to_string(),
            format!("{}/{}", row.aggregate_kind, row.aggregate_id),
            row.version.to_string(),
            self.kind.to_owned(),
            self.schema_version.to_string(),
            self.body.to_string(),
        ]
    }

    /// The line as one JSON object. The body goes in as its text, not
    /// through a parsed value: `jsonb` holds numbers that serde cannot
    /// (`1e400`), and serializing such a body would fail.
    fn json(&self) -> String {
        let row = self.row;
        let rest = json!({
            "id": row.id.to_string(), "position": row.position,
            "aggregate_kind": row.aggregate_kind, "aggregate_id": row.aggregate_id,
            "version": row.version, "kind": self.kind, "schema_version": self.schema_version,
            "metadata": row.metadata,
        })
        .to_string();
        // `rest` is an object with keys: put the body first in it
        format!(r#"{{"body":{},{}"#, self.body.as_str().trim(), &rest[1..])
    }
}

/// How many events one read fetches, and so the most rows a table holds.
const PAGE: usize = 1_000;

/// What `sagas events` prints.
#[derive(Debug, Clone)]
pub(crate) struct Shown {
    /// Tables or JSON lines.
    pub(crate) output: Output,
    /// Only this aggregate's events.
    pub(crate) aggregate: Option<AggregateId>,
    /// Whether the sample's rows are shown as the application reads them
    /// today instead of as stored.
    pub(crate) current: bool,
    /// Whether it keeps printing what is committed later.
    pub(crate) follow: bool,
}

/// `sagas events`: the log in commit order, read and printed a page at a
/// time, so that a log of any length takes the memory of one page. Tables
/// hold up to a page of rows each: the header comes again after each
/// [`PAGE`] rows (an empty log prints the header alone). A row that cannot
/// be read, or (with `current`) brought to the current version of its
/// events, is named on stderr, and the log goes on.
pub(crate) async fn events(db: &Database, shown: Shown) -> Result<(), Failure> {
    let store = connect(db).await?;
    let wanted = |e: &RecordedEvent| {
        shown
            .aggregate
            .as_ref()
            .is_none_or(|id| *id == *e.aggregate_id)
    };
    let mut out = std::io::stdout().lock();
    let mut wakeups = store.wakeups();
    let mut after = Checkpoint::BEGINNING;
    let new_table = || table(["pos", "aggregate", "ver", "kind", "schema", "body"]);
    let (mut page_table, mut rows, mut tables) = (new_table(), 0, 0);
    loop {
        let page = store.read_page(after, &EventFilter::all(), PAGE).await?;
        after = page.end.max(after);
        for unreadable in &page.unreadable {
            eprintln!("{}", unreadable.error());
        }
        for e in page.events.iter().filter(|e| wanted(e)) {
            let lines = if shown.current {
                match Line::read_today(e) {
                    Ok(lines) => lines,
                    Err(error) => {
                        eprintln!("{}", error.message());
                        continue;
                    }
                }
            } else {
                vec![Line::stored(e)]
            };
            for line in lines {
                if shown.output.json {
                    writeln!(out, "{}", line.json())?;
                } else if shown.follow {
                    writeln!(out, "{}", line.cells().join("  "))?;
                } else {
                    page_table.add_row(line.cells());
                    rows += 1;
                    if rows == PAGE {
                        writeln!(out, "{}", page_table.trim_fmt())?;
                        (page_table, rows, tables) = (new_table(), 0, tables + 1);
                    }
                }
            }
        }
        if page.more {
            out.flush()?;
            continue;
        }
        if !shown.follow {
            break;
        }
        tokio::select! {
            _ = wakeups.wait(Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
    if !shown.output.json && (rows > 0 || tables == 0) {
        writeln!(out, "{}", page_table.trim_fmt())?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use eventstore_core::{EventId, Metadata};

    use super::*;

    fn row(aggregate_kind: &str, kind: &str, schema_version: u32, body: &str) -> RecordedEvent {
        RecordedEvent {
            id: EventId::new(),
            position: 7,
            tx: 1,
            aggregate_kind: aggregate_kind.into(),
            aggregate_id: "acc-1".into(),
            version: 1,
            kind: kind.into(),
            schema_version,
            body: body.parse().expect("a JSON object"),
            metadata: Metadata::default(),
            recorded_at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_version_1_opened_reads_today_as_version_2() {
        let stored = row(
            "Account",
            "Opened",
            1,
            r#"{"owner":"Ada","initial_balance":5}"#,
        );
        assert_eq!(
            Line::stored(&stored).cells()[3..],
            ["Opened", "1", r#"{"owner":"Ada","initial_balance":5}"#]
        );
        let today = Line::read_today(&stored).expect("upcast");
        let cells: Vec<_> = today.iter().map(|l| l.cells()[3..].to_vec()).collect();
        assert_eq!(
            cells,
            [["Opened", "2", r#"{"holder":"Ada","opening_balance":5}"#]]
        );
        let json: serde_json::Value = serde_json::from_str(&today[0].json()).expect("JSON");
        assert_eq!(
            (
                &json["schema_version"],
                &json["body"]["holder"],
                &json["position"]
            ),
            (&json!(2), &json!("Ada"), &json!(7))
        );
    }

    #[test]
    fn rows_of_other_aggregates_read_as_stored_and_bad_rows_are_named() {
        let other = row("Gap", "Tick", 3, r#"{"n": 1}"#);
        let today = Line::read_today(&other).expect("as stored");
        assert_eq!(today[0].cells(), Line::stored(&other).cells());
        let bad = row("Account", "Opened", 1, r#"{"owner":"Ada"}"#);
        let error = Line::read_today(&bad).err().expect("no balance");
        let said = error.message();
        assert!(
            said.contains(r#""Opened" (schema version 1) in Account "acc-1" at version 1"#)
                && said.contains("initial_balance"),
            "the row, and why: {said}"
        );
    }
}
