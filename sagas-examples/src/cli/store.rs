//! The PostgreSQL store that the commands work on.

use std::time::Duration;

use eventstore_core::Repository;
use eventstore_postgres::{PgEventStore, PgStoreOptions};

use super::args::Database;
use super::failure::Failure;
use crate::account::Account;

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
