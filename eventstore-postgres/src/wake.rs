//! Waking trackers with LISTEN/NOTIFY.
//!
//! Appends do not NOTIFY in their own transaction: PostgreSQL serializes the
//! commits of notifying transactions on one lock, which cut 16-writer append
//! throughput by almost two thirds when a trigger did it. Instead each store
//! has a [`Notifier`] task that sends one NOTIFY on its own connection for
//! however many appends committed since its last one, and a [`Listener`]
//! task that turns notifications into [`Wakeups`] signals. Appends made
//! outside the store (plain SQL) wake nobody: trackers still poll on their
//! timers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventstore_core::backend::Wakeups;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener};
use sqlx::{Connection, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The channel every store notifies, with its schema name as payload.
const CHANNEL: &str = "eventstore_appended";

/// The least time between two NOTIFYs of one store: under load one NOTIFY
/// covers every append of the interval; after a quiet spell the first
/// append is announced at once.
const NOTIFY_SPACING: Duration = Duration::from_millis(5);

/// How often an idle listener checks whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// How long to wait before reconnecting a lost listening connection.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Starts the listening task on the first subscription and again after it
/// stopped (when nobody listened any more).
#[derive(Debug, Default)]
pub(crate) struct Listener {
    running: Mutex<Option<(watch::Sender<u64>, JoinHandle<()>)>>,
}

impl Listener {
    /// A subscription for a tracker of `schema`'s events.
    pub(crate) fn subscribe(&self, pool: &PgPool, schema: &Arc<str>) -> Wakeups {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((signals, task)) = running.as_ref() {
            if !task.is_finished() {
                return Wakeups::from_counter(signals.subscribe());
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Wakeups::timer_only();
        };
        let signals = watch::Sender::new(0);
        let receiver = signals.subscribe();
        let task = runtime.spawn(listen(pool.clone(), Arc::clone(schema), signals.clone()));
        *running = Some((signals, task));
        Wakeups::from_counter(receiver)
    }
}

/// Forwards notifications for `schema` to `signals` until no receiver is
/// left, reconnecting when the connection drops.
async fn listen(pool: PgPool, schema: Arc<str>, signals: watch::Sender<u64>) {
    while signals.receiver_count() > 0 {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot open the LISTEN connection; trackers poll on their timers");
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "LISTEN failed; trackers poll on their timers");
            tokio::time::sleep(RECONNECT_AFTER).await;
            continue;
        }
        // anything appended while not listening is read on this wake
        signals.send_modify(|count| *count += 1);
        loop {
            match tokio::time::timeout(IDLE_CHECK, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => {
                    if notification.payload() == &*schema {
                        signals.send_modify(|count| *count += 1);
                    }
                }
                // the connection was lost (and notifications with it): wake
                // the readers, then reconnect
                Ok(Ok(None)) | Ok(Err(_)) => {
                    signals.send_modify(|count| *count += 1);
                    break;
                }
                Err(_) if signals.receiver_count() == 0 => return,
                Err(_) => {}
            }
        }
    }
}

/// Sends one NOTIFY after any number of appends, off the appends' path.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    running: Mutex<Option<watch::Sender<u64>>>,
}

impl Notifier {
    /// Records that an append of this store committed.
    pub(crate) fn appended(&self, pool: &PgPool, schema: &Arc<str>) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(appends) = running.as_ref() {
            if !appends.is_closed() {
                appends.send_modify(|count| *count += 1);
                return;
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (appends, receiver) = watch::channel(1);
        runtime.spawn(notify(pool.clone(), Arc::clone(schema), receiver));
        *running = Some(appends);
    }
}

/// The `application_name` of the notifier's own connection, which names it
/// in `pg_stat_activity`.
pub const NOTIFIER_APPLICATION_NAME: &str = "eventstore-notify";

/// Sends a NOTIFY whenever the append counter moved, until the store (which
/// holds the sender) is dropped, on a connection of its own (with the
/// pool's settings), so that it never waits for, or takes, a connection
/// that a command needs.
async fn notify(pool: PgPool, schema: Arc<str>, mut appends: watch::Receiver<u64>) {
    let options = pool
        .connect_options()
        .as_ref()
        .clone()
        .application_name(NOTIFIER_APPLICATION_NAME);
    let mut connection = None;
    loop {
        appends.borrow_and_update();
        if let Err(error) = send(&mut connection, &options, &schema).await {
            tracing::warn!(%error, "NOTIFY failed; trackers will poll on their timers");
            // opened afresh for the next one
            connection = None;
        }
        tokio::time::sleep(NOTIFY_SPACING).await;
        if appends.changed().await.is_err() {
            return;
        }
    }
}

/// One NOTIFY for `schema` on `connection`, opened first if it is not.
async fn send(
    connection: &mut Option<PgConnection>,
    options: &PgConnectOptions,
    schema: &str,
) -> Result<(), sqlx::Error> {
    let connection = match connection {
        Some(open) => open,
        None => connection.insert(PgConnection::connect_with(options).await?),
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(schema)
        .execute(connection)
        .await?;
    Ok(())
}
