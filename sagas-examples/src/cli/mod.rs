//! The `sagas` program: the demo, and operating transfers on PostgreSQL
//! (or, for the commands that need no SQL, on NATS JetStream).

mod args;
mod commands;
mod events;
mod failure;
mod forget;
mod import;
mod load;
mod status;
mod store;
mod transfer_states;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use args::{Cli, Command};
use failure::{Failure, failed};
use store::connect;

/// The `sagas` program: parses the command line from the process
/// arguments, logs to stderr (`RUST_LOG`, default `warn`), runs the command
/// on a single-threaded runtime and prints a failure as one line on stderr.
/// It exits with 0 when the command succeeded, 1 when the domain refused
/// or something failed while running, and 2 for a wrong command line.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     sagas_examples::run_program()
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
        Err(failure) => {
            eprintln!("error: {}", failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Runs a command line.
async fn run(cli: Cli) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Demo {
            database_url,
            store,
        } => match store.or(database_url) {
            None => crate::demo::run(eventstore_core::MemoryStore::new(), &mut out).await,
            Some(url) if url.starts_with("nats://") => {
                let store = crate::demo::fresh_nats_store(&url)
                    .await
                    .map_err(|e| failed(&e))?;
                crate::demo::run(store, &mut out).await
            }
            Some(url) => {
                let store = crate::demo::fresh_postgres_store(&url)
                    .await
                    .map_err(|e| failed(&e))?;
                crate::demo::run(store, &mut out).await
            }
        }
        .map_err(|e| failed(&e)),
        Command::Migrate { db } => {
            connect(&db).await?;
            println!(
                "the event store's tables are up to date in schema {}",
                db.schema
            );
            Ok(())
        }
        Command::Account { db, command } => commands::account(&db, command).await,
        Command::Transfer { db, command } => commands::transfer(&db, command).await,
        Command::Worker {
            db,
            partitions,
            lease_ttl_ms,
        } => commands::worker(&db, partitions, Duration::from_millis(lease_ttl_ms)).await,
        Command::Parked { db, command } => commands::parked(&db, command).await,
        Command::Reset {
            db,
            partitions,
            to_end,
        } => commands::reset(&db, partitions, to_end).await,
        Command::Forget { db, output, id } => forget::forget(&db, output, &id).await,
        Command::Events {
            db,
            output,
            aggregate,
            current,
            follow,
        } => {
            let shown = events::Shown {
                output,
                aggregate,
                current,
                follow,
            };
            events::events(&db, shown).await
        }
        Command::Import { db, output, file } => import::import(&db, output, &file).await,
        Command::Status {
            db,
            output,
            stuck_after,
        } => status::status(&db, output, stuck_after).await,
        Command::Load {
            db,
            output,
            accounts,
            transfers,
            concurrency,
            timeout,
        } => {
            load::load(
                &db,
                output,
                load::Plan {
                    accounts,
                    transfers,
                    concurrency,
                    timeout,
                },
            )
            .await
        }
    }
}
