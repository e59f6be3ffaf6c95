//! `kmm serve`: opens the store it is told to and runs the server until
//! interrupted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventstore_core::reactor::ReactorStore;
use eventstore_core::{ErrorChain, EventStore, MemoryStore, SharedClock, SystemClock, Tracker};
use eventstore_nats::{NatsOptions, NatsStore};
use eventstore_postgres::{PgEventStore, PgStoreOptions};

use super::Failure;
use crate::kmm::clock::RunningFrom;
use crate::kmm::server::{ServeOptions, serve};

/// The store `--store` names.
#[derive(Debug)]
pub(super) enum StoreChoice {
    /// JetStream, on this server, in this stream.
    Nats { url: String, stream: String },
    /// PostgreSQL at this URL, in this schema.
    Postgres { url: String, schema: String },
    /// In memory: gone when the server stops.
    Memory,
}

impl StoreChoice {
    /// Reads `--store`: `nats` (JetStream on the `--nats` server),
    /// `nats://...`, `postgres://...` or `memory`.
    pub(super) fn parse(
        store: &str,
        nats: &str,
        stream: &str,
        schema: &str,
    ) -> Result<Self, String> {
        let nats_on = |url: &str| Self::Nats {
            url: url.to_owned(),
            stream: stream.to_owned(),
        };
        match store {
            "nats" => Ok(nats_on(nats)),
            "memory" => Ok(Self::Memory),
            url if url.starts_with("nats://") => Ok(nats_on(url)),
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres {
                    url: url.to_owned(),
                    schema: schema.to_owned(),
                })
            }
            other => Err(format!(
                "{other:?} is not a store: expected nats, nats://HOST:PORT, postgres://... or memory"
            )),
        }
    }
}

impl std::fmt::Display for StoreChoice {
    /// Where the store is, without the credentials a URL may hold.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nats { stream, .. } => write!(f, "the JetStream stream {stream}"),
            Self::Postgres { schema, .. } => write!(f, "PostgreSQL, schema {schema}"),
            Self::Memory => f.write_str("memory"),
        }
    }
}

/// Opens the store and serves until Ctrl-C or SIGTERM.
pub(super) async fn run(
    nats_url: &str,
    root: &str,
    store: StoreChoice,
    store_timeout: u64,
    clock_start: Option<jiff::Timestamp>,
) -> Result<(), Failure> {
    let failed = |what: &str, error: &(dyn std::error::Error + 'static)| {
        Failure::Serve(format!("{what}: {}", ErrorChain(error)))
    };
    let nats = async_nats::connect(nats_url)
        .await
        .map_err(|e| failed(&format!("cannot connect to NATS at {nats_url}"), &e))?;
    let clock: SharedClock = match clock_start {
        Some(start) => {
            let start = SystemTime::try_from(start)
                .map_err(|e| Failure::Usage(format!("--clock-start {start}: {e}")))?;
            Arc::new(RunningFrom::new(start))
        }
        None => Arc::new(SystemClock),
    };
    let options = ServeOptions {
        root: root.to_owned(),
        store_timeout: Duration::from_secs(store_timeout),
        clock,
    };
    let described = store.to_string();
    match store {
        StoreChoice::Nats { url, stream } => {
            let options_nats = NatsOptions::new(&url).stream(&stream).prefix(&stream);
            let store = NatsStore::connect(options_nats)
                .await
                .map_err(|e| failed(&format!("cannot open the JetStream store at {url}"), &e))?;
            serve_on(nats, store, options, &described).await
        }
        StoreChoice::Postgres { url, schema } => {
            let pg = PgStoreOptions::default()
                .schema(&schema)
                .connect_timeout(Duration::from_secs(5));
            let store = PgEventStore::connect(&url, pg)
                .await
                .map_err(|e| failed("cannot connect to PostgreSQL", &e))?;
            store
                .migrate()
                .await
                .map_err(|e| failed("cannot make the PostgreSQL tables", &e))?;
            serve_on(nats, store, options, &described).await
        }
        StoreChoice::Memory => serve_on(nats, MemoryStore::new(), options, &described).await,
    }
}

async fn serve_on<S>(
    nats: async_nats::Client,
    store: S,
    options: ServeOptions,
    described: &str,
) -> Result<(), Failure>
where
    S: EventStore + ReactorStore + Tracker + Clone + Send + Sync + 'static,
{
    let root = options.root.clone();
    let ready = || {
        // a script or test waits for this line
        println!("kmm serving {root}.services.* on {described}");
    };
    serve(nats, store, options, ready, shutdown())
        .await
        .map_err(|e| Failure::Serve(format!("the server failed: {}", ErrorChain(&*e))))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
