//! `warehouse follow`: runs the view and alert worker and prints each
//! message it handles.

use std::time::Duration;

use crate::warehouse::alert::{ThresholdArg, Thresholds};
use crate::warehouse::error::Error;
use crate::warehouse::nats::Warehouse;
use crate::warehouse::view::{Applied, View};
use crate::warehouse::worker::{Update, Worker};

/// Runs the worker for `seconds` (until Ctrl-C without), printing a line
/// per stock event applied, alert published, redelivery and malformed
/// message, and a summary at the end.
pub(super) async fn follow(
    warehouse: Warehouse,
    thresholds: Vec<ThresholdArg>,
    seconds: Option<u64>,
    ack_wait: u64,
    json: bool,
) -> Result<(), Error> {
    let view = View::new(warehouse, Thresholds::new(thresholds));
    let worker = Worker::new(view, Duration::from_secs(ack_wait)).await?;
    let stop = async {
        match seconds {
            Some(seconds) => {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(seconds)) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                // an error here means no Ctrl-C can come: stop now
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    let handled = worker.run(stop, |update| print(&update, json)).await?;
    if !json {
        println!("handled {handled} messages");
    }
    Ok(())
}

/// Prints what the worker did with one message.
fn print(update: &Update, json: bool) {
    if json {
        println!("{}", serde_json::json!(summary(update)));
        return;
    }
    for line in lines(update) {
        println!("{line}");
    }
}

/// One update as JSON.
fn summary(update: &Update) -> serde_json::Value {
    match update {
        Update::Applied {
            sequence,
            applied: Applied::Already { entry },
        } => {
            serde_json::json!({"sequence": sequence, "already_applied": true, "entry": entry})
        }
        Update::Applied {
            sequence,
            applied:
                Applied::Now {
                    entry,
                    malformed,
                    alerts,
                    ..
                },
        } => {
            let malformed: Vec<_> = malformed
                .iter()
                .map(|(at, p)| serde_json::json!({"sequence": at, "problem": p.to_string()}))
                .collect();
            serde_json::json!({"sequence": sequence, "entry": entry, "malformed": malformed, "alerts": alerts})
        }
        Update::Terminated { sequence, error } => {
            serde_json::json!({"sequence": sequence, "terminated": eventstore_core::ErrorChain(error).to_string()})
        }
        Update::Failed { sequence, error } => {
            serde_json::json!({"sequence": sequence, "failed": eventstore_core::ErrorChain(error).to_string()})
        }
    }
}

/// One update as lines for people.
fn lines(update: &Update) -> Vec<String> {
    match update {
        Update::Applied {
            sequence,
            applied: Applied::Already { entry },
        } => vec![format!(
            "#{sequence} {}/{}: already applied (stock {})",
            entry.warehouse, entry.product, entry.stock
        )],
        Update::Applied {
            applied:
                Applied::Now {
                    entry,
                    events,
                    malformed,
                    alerts,
                },
            ..
        } => {
            let name = format!("{}/{}", entry.warehouse, entry.product);
            let mut lines: Vec<String> = events
                .iter()
                .map(|(at, received)| format!("#{at} {name}: {}", received.event.describe()))
                .collect();
            lines.extend(
                malformed.iter().map(|(at, problem)| {
                    format!("#{at} {name}: malformed, passed over: {problem}")
                }),
            );
            lines.push(format!("   {name}: stock {}", entry.stock));
            lines.extend(alerts.iter().map(|alert| {
                format!(
                    "   {name}: ALERT stock.low: stock {} below {} (event #{})",
                    alert.stock, alert.threshold, alert.sequence
                )
            }));
            lines
        }
        Update::Terminated { sequence, error } => vec![format!(
            "#{sequence} terminated: {}",
            eventstore_core::ErrorChain(error)
        )],
        Update::Failed { sequence, error } => vec![format!(
            "#{sequence} failed, will be delivered again: {}",
            eventstore_core::ErrorChain(error)
        )],
    }
}
