//! The `warehouse` program: publish stock events, show the stock, alerts
//! and sales views, and run the view and alert worker.

mod args;
mod follow;
mod show;

use std::process::ExitCode;

use clap::Parser;
use eventstore_core::ErrorChain;

use args::{Cli, Command};

use super::error::Error;
use super::events::{EventType, StockEvent};
use super::layout::Layout;
use super::names::Name;
use super::nats::Warehouse;

/// The `warehouse` program: parses the command line, logs to stderr
/// (`RUST_LOG`, default `warn`), runs the command and prints a failure as
/// one line on stderr. It exits with 0 on success, 2 for bad input, and 1
/// when something failed while running.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     sagas_examples::warehouse::run_program()
/// }
/// ```
#[must_use]
pub fn run_program() -> ExitCode {
    let Some(runtime) = crate::program::start() else {
        return ExitCode::FAILURE;
    };
    let cli = Cli::parse();
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", ErrorChain(&error));
            let bad_input = matches!(
                error,
                Error::InvalidName { .. }
                    | Error::InvalidQuantity(_)
                    | Error::UnknownType(_)
                    | Error::InvalidThreshold(_)
                    | Error::InvalidMove(_)
            );
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// Runs a command line.
async fn run(cli: Cli) -> Result<(), Error> {
    let layout = cli
        .namespace
        .map_or_else(Layout::default, Layout::namespaced);
    let json = cli.json;
    match cli.command {
        Command::Publish {
            event_type,
            warehouse,
            product,
            quantity,
            location,
            from,
            to,
            msg_id,
        } => {
            let event = match (event_type, from, to) {
                (EventType::Moved, Some(from), Some(to)) if location.is_none() => {
                    StockEvent::Moved { quantity, from, to }
                }
                (EventType::Moved, ..) => {
                    return Err(Error::InvalidMove(
                        "moved takes --from and --to, and no --location",
                    ));
                }
                (_, None, None) => {
                    let location = match location {
                        Some(location) => location,
                        None => Name::new("location", "main")?,
                    };
                    match event_type {
                        EventType::Replenished => StockEvent::Replenished { quantity, location },
                        EventType::Sold => StockEvent::Sold { quantity, location },
                        _ => StockEvent::Destroyed { quantity, location },
                    }
                }
                _ => return Err(Error::InvalidMove("--from and --to are for moved only")),
            };
            let warehouse_handle = Warehouse::connect(&cli.nats, layout).await?;
            let published = warehouse_handle
                .publish(&warehouse, &product, &event, msg_id)
                .await?;
            show::published(&published, &event, json);
            Ok(())
        }
        Command::Stock { warehouse } => {
            let handle = Warehouse::connect(&cli.nats, layout).await?;
            show::stock(&handle.entries(warehouse.as_ref()).await?, json);
            Ok(())
        }
        Command::Alerts => {
            let handle = Warehouse::connect(&cli.nats, layout).await?;
            show::alerts(&handle.alerts().await?, json);
            Ok(())
        }
        Command::Sales => {
            let handle = Warehouse::connect(&cli.nats, layout).await?;
            show::sales(&handle.entries(None).await?, json);
            Ok(())
        }
        Command::Follow {
            seconds,
            threshold,
            ack_wait,
        } => {
            let handle = Warehouse::connect(&cli.nats, layout).await?;
            follow::follow(handle, threshold, seconds, ack_wait, json).await
        }
    }
}
