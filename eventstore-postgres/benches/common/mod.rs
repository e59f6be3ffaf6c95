//! What every benchmark of the store does the same way: its runtime, and
//! a fresh schema of the store's tables.

// each bench compiles this module on its own and uses a part of it
#![allow(dead_code)]

use std::future::Future;

use eventstore_postgres::{PgEventStore, PgStoreOptions};

/// Runs `future` on a runtime of two worker threads, one per core of the
/// project's machine, as every bench measures.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// A store with `options` on a schema dropped and migrated afresh.
pub(crate) async fn fresh_schema(url: &str, options: PgStoreOptions) -> PgEventStore {
    let store = PgEventStore::connect(url, options).await.expect("connect");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", store.schema()))
        .execute(store.pool())
        .await
        .expect("drop schema");
    store.migrate().await.expect("migrate");
    store
}

/// Leaves no table of the bench behind.
pub(crate) async fn drop_schema(store: &PgEventStore) {
    sqlx::query(&format!("DROP SCHEMA {} CASCADE", store.schema()))
        .execute(store.pool())
        .await
        .expect("drop schema");
}
