//! The `sagas` program: the demo, and operating transfers on PostgreSQL.

pub mod args;
mod commands;
mod events;
mod forget;
mod load;
mod status;
mod transfer_states;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use eventstore_core::{ErrorChain, Repository};

use crate::account::Account;
use eventstore_postgres::{PgEventStore, PgStoreOptions};

pub use args::Cli;
use args::{Command, Database};

/// Why a command did not succeed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// The command line was wrong (exit code 2).
    Usage(String),
    /// The domain refused, or something failed while running (exit code 1).
    Failed(String),
}

impl Failure {
    /// The process exit code.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
        }
    }

    /// The one line to print.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            Self::Usage(message) | Self::Failed(message) => message,
        }
    }
}

/// An error and its causes on one line, as a runtime failure.
pub(crate) fn failed(error: &(dyn std::error::Error + 'static)) -> Failure {
    Failure::Failed(ErrorChain(error).to_string())
}

impl From<eventstore_core::Error> for Failure {
    fn from(error: eventstore_core::Error) -> Self {
        failed(&error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        failed(&error)
    }
}

/// Connects to the store and makes sure its tables exist.
pub(crate) async fn connect(db: &Database) -> Result<PgEventStore, Failure> {
    let Some(url) = db
        .database_url
        .as_deref()
        .filter(|url| !url.trim().is_empty())
    else {
        return Err(Failure::Usage(
            "this command needs PostgreSQL: pass --database-url URL or set DATABASE_URL".to_owned(),
        ));
    };
    let options = PgStoreOptions::default()
        .schema(&db.schema)
        .max_connections(16)
        .connect_timeout(Duration::from_secs(5));
    let store = PgEventStore::connect(url, options).await?;
    store.migrate().await?;
    Ok(store)
}

/// A repository with enough attempts for busy accounts, which snapshots
/// accounts (long-lived, busy streams) so that a command reads at most a
/// few dozen of their events. Transfers are short and never snapshotted.
pub(crate) fn repository(store: PgEventStore) -> Repository<PgEventStore> {
    Repository::new(store)
        .max_attempts(100)
        .snapshot_every_for::<Account>(25)
}

/// The `sagas` program: parses the command line from the process
/// arguments, logs to stderr (`RUST_LOG`, default `warn`), runs the command
/// on a single-threaded runtime and prints a failure as one line on stderr.
/// The exit code follows [`Failure::exit_code`]; clap's own usage errors
/// exit with 2 as well.
///
/// One thread: the program waits on PostgreSQL, and on a small machine a
/// second runtime thread per process added context switches (a worker spent
/// 18% of its time in the kernel's task switch) more than it added work.
#[must_use]
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Runs a command line.
///
/// # Errors
/// [`Failure`], with the message to print and the exit code.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Demo { database_url: None } => {
            crate::demo::run(eventstore_core::MemoryStore::new(), &mut out)
                .await
                .map_err(|e| failed(&e))
        }
        Command::Demo {
            database_url: Some(url),
        } => {
            let store = crate::demo::fresh_postgres_store(&url)
                .await
                .map_err(|e| failed(&e))?;
            crate::demo::run(store, &mut out)
                .await
                .map_err(|e| failed(&e))
        }
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
            follow,
        } => events::events(&db, output, aggregate, follow).await,
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
