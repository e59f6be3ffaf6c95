//! `sagas`: runs the sample sagas. See `sagas --help`.

use std::process::ExitCode;

use clap::Parser;
use sagas_examples::cli::{Cli, run};
use tracing_subscriber::EnvFilter;

// One thread: the program waits on PostgreSQL, and on a small machine a
// second runtime thread per process added context switches (a worker spent
// 18% of its time in the kernel's task switch) more than it added work.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message());
            ExitCode::from(failure.exit_code())
        }
    }
}
