//! `sagas`: runs the sample sagas.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eventstore_core::MemoryStore;
use sagas_examples::demo::{self, DemoError};
use tracing_subscriber::EnvFilter;

/// Runs the money-transfer sample of eventstore.
#[derive(Debug, Parser)]
#[command(name = "sagas", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Opens accounts, moves money, shows an idempotent redelivery and
    /// rejected commands, then prints the event log and the balances. Runs in
    /// memory unless given a database.
    Demo {
        /// Runs on this PostgreSQL database instead, in the schema
        /// `sagas_demo`, which it empties first.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
}

async fn demo(database_url: Option<&str>) -> Result<(), DemoError> {
    let mut out = std::io::stdout().lock();
    match database_url {
        None => demo::run(MemoryStore::new(), &mut out).await,
        Some(url) => demo::run(demo::fresh_postgres_store(url).await?, &mut out).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { database_url } => demo(database_url.as_deref()).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut line = format!("error: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                line.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{line}");
            ExitCode::FAILURE
        }
    }
}
