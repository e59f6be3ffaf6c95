//! The store that the commands work on: PostgreSQL, or NATS JetStream for
//! the commands that need no SQL.

use std::time::Duration;

use eventstore_core::Repository;
use eventstore_nats::{NatsOptions, NatsStore};
use eventstore_postgres::{PgEventStore, PgStoreOptions};

use super::args::Database;
use super::failure::Failure;
use crate::account::Account;

/// A store the commands that need no SQL run on.
pub(crate) enum AnyStore {
    /// PostgreSQL, its tables made sure of.
    Postgres(PgEventStore),
    /// NATS JetStream, its stream and buckets made sure of.
    Nats(NatsStore),
}

/// Runs `$body` with `$store` bound to the store that `$db` names, whichever
/// it is: the commands are generic over the store.
macro_rules! on_store {
    ($db:expr, |$store:ident| $body:expr) => {
        match $crate::cli::store::open($db).await? {
            $crate::cli::store::AnyStore::Postgres($store) => $body,
            $crate::cli::store::AnyStore::Nats($store) => $body,
        }
    };
}
pub(crate) use on_store;

/// Connects to the store that `db` names: NATS JetStream for
/// `--store nats://...`, PostgreSQL otherwise.
pub(crate) async fn open(db: &Database) -> Result<AnyStore, Failure> {
    match nats_url(db) {
        Some(url) => {
            // the stream's name is its subjects' prefix: two streams never
            // claim the same subjects
            let options = NatsOptions::new(url).stream(&db.stream).prefix(&db.stream);
            Ok(AnyStore::Nats(NatsStore::connect(options).await?))
        }
        None => Ok(AnyStore::Postgres(connect(db).await?)),
    }
}

/// The NATS server of `--store nats://...`, if that is the store.
fn nats_url(db: &Database) -> Option<&str> {
    db.store.as_deref().filter(|url| url.starts_with("nats://"))
}

/// Connects to PostgreSQL and makes sure its tables exist, for the
/// commands that read them with SQL; `--store nats://...` is refused.
pub(crate) async fn connect(db: &Database) -> Result<PgEventStore, Failure> {
    if let Some(url) = nats_url(db) {
        return Err(Failure::Usage(format!(
            "this command works on PostgreSQL only and cannot run on {url}: pass \
             --database-url URL (on JetStream: account, transfer, worker, parked and reset)"
        )));
    }
    let Some(url) = db
        .store
        .as_deref()
        .or(db.database_url.as_deref())
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
pub(crate) fn repository<S: eventstore_core::EventStore>(store: S) -> Repository<S> {
    Repository::new(store)
        .max_attempts(100)
        .snapshot_every_for::<Account>(25)
}
