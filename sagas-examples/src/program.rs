//! What each program of the samples does before its command: logs to
//! stderr (`RUST_LOG`, default `warn`) and starts a one-thread runtime.
//!
//! One thread: the programs wait on their stores and NATS, and on a small
//! machine a second runtime thread per process added context switches (a
//! `sagas` worker spent 18% of its time in the kernel's task switch) more
//! than it added work.

use tokio::runtime::Runtime;
use tracing_subscriber::EnvFilter;

/// Starts logging and the runtime; `None` (after saying why on stderr)
/// when the runtime cannot start.
pub(crate) fn start() -> Option<Runtime> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            None
        }
    }
}
