//! A kmm server in the test's own process, on the shared NATS server,
//! under a subject root of its own, with the clock the test gives it.

use std::time::Duration;

use eventstore_core::reactor::ReactorStore;
use eventstore_core::{EventId, EventStore, SharedClock, Tracker};
use sagas_examples::kmm::KmmClient;
use sagas_examples::kmm::server::{DEFAULT_STORE_TIMEOUT, ServeOptions, serve};
use tokio::sync::oneshot;

use crate::nats_server::{HOW_TO_PROVIDE_NATS, shared_url};

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct InProcessServer {
    /// The subjects' first token it answers under.
    pub root: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl InProcessServer {
    /// Serves `store` with `clock` and the default store timeout, and
    /// waits until it listens.
    ///
    /// # Panics
    /// When NATS cannot be reached, saying how to provide it, or the
    /// server does not listen within 30 s.
    pub async fn start<S>(store: S, clock: SharedClock) -> Self
    where
        S: EventStore + ReactorStore + Tracker + Clone + Send + Sync + 'static,
    {
        Self::start_with(store, clock, DEFAULT_STORE_TIMEOUT).await
    }

    /// As [`start`](Self::start), waiting at most `store_timeout` for the
    /// store on each request.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub async fn start_with<S>(store: S, clock: SharedClock, store_timeout: Duration) -> Self
    where
        S: EventStore + ReactorStore + Tracker + Clone + Send + Sync + 'static,
    {
        let root = format!("kmmtest_{}", EventId::new());
        let nats = async_nats::connect(shared_url())
            .await
            .unwrap_or_else(|e| panic!("connect to NATS: {e}; {HOW_TO_PROVIDE_NATS}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready) = oneshot::channel::<()>();
        let options = ServeOptions {
            root: root.clone(),
            store_timeout,
            clock,
        };
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let ready = move || {
                let _ = ready_tx.send(());
            };
            if let Err(error) = serve(nats, store, options, ready, shutdown).await {
                panic!("the server failed: {error}");
            }
        });
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("the server listens within 30 s")
            .expect("the server listens");
        Self {
            root,
            stop: Some(stop),
            task,
        }
    }

    /// A client of this server.
    ///
    /// # Panics
    /// When NATS cannot be reached.
    pub async fn client(&self) -> KmmClient {
        KmmClient::connect(&shared_url(), &self.root)
            .await
            .unwrap_or_else(|e| panic!("{e}; {HOW_TO_PROVIDE_NATS}"))
    }

    /// Stops the server and waits until it has.
    ///
    /// # Panics
    /// When it does not stop within 10 s, or stops with an error.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("the server stops within 10 s")
            .expect("the server stopped cleanly");
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}
