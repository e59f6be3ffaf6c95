//! `sagas import`: history from another system, as JSON lines.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use tokio::io::{AsyncBufRead, BufReader};

use super::args::{Database, Output};
use super::failure::Failure;
use super::store::connect;
use crate::output::table;

/// Imports the events of `file` (`-`: standard input), one JSON object a
/// line, in one transaction: all of them, or none when a line is refused.
pub(crate) async fn import(db: &Database, output: Output, file: &Path) -> Result<(), Failure> {
    let store = connect(db).await?;
    let started = Instant::now();
    let input: Box<dyn AsyncBufRead + Unpin> = if file == Path::new("-") {
        Box::new(BufReader::new(tokio::io::stdin()))
    } else {
        let opened = tokio::fs::File::open(file)
            .await
            .map_err(|e| Failure::Failed(format!("cannot open {}: {e}", file.display())))?;
        Box::new(BufReader::with_capacity(1 << 20, opened))
    };
    let report = store.import(input).await?;
    let seconds = started.elapsed().as_secs_f64();
    let per_second = report.events as f64 / seconds.max(1e-9);
    if output.json {
        let value = json!({
            "file": file,
            "lines": report.lines,
            "events": report.events,
            "streams": report.streams,
            "seconds": seconds,
        });
        println!("{value}");
    } else {
        let mut imported = table(["file", "lines", "events", "streams", "seconds", "events/s"]);
        imported.add_row([
            file.display().to_string(),
            report.lines.to_string(),
            report.events.to_string(),
            report.streams.to_string(),
            format!("{seconds:.2}"),
            format!("{per_second:.0}"),
        ]);
        println!("{}", imported.trim_fmt());
        println!(
            "imported {} events into {} streams in one transaction",
            report.events, report.streams
        );
    }
    Ok(())
}
