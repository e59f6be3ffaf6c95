//! An open write transaction holds every tracker back, and the status names
//! it, wherever it is: in the store's database, in another database of the
//! same server (the watermark is server-wide), or prepared (two-phase). In
//! a test binary of its own, and its tests take turns: the holder named is
//! the oldest of the whole server, so any other open transaction could be
//! the one named. Each test waits (bounded) until its own holder is the
//! oldest, in case another program's short transaction is.

use std::time::Duration;

use eventstore_core::backend::conformance::eventually::eventually;
use eventstore_core::{Checkpoint, EventId};
use eventstore_postgres::{OpenTransaction, PgEventStore};
use eventstore_tests::postgres::{
    append_tick, fresh_store_with, ids_after, insert_in_open_transaction, pool_in_database,
};
use tokio::sync::Mutex;

/// One test at a time: each holds the server's oldest transaction.
static TURN: Mutex<()> = Mutex::const_new(());

/// How long a test waits for its own transaction to be named.
const NAMED_WITHIN: Duration = Duration::from_secs(10);

/// The prefix of the gids of the prepared transactions these tests make.
const GID_PREFIX: &str = "es_test_holdback_";

/// The other database of the server (created by `scripts/ensure-postgres`).
const OTHER_DATABASE: &str = "test";

/// Waits until the store names a holder that `is_ours` accepts.
async fn named(
    store: &PgEventStore,
    what: &str,
    is_ours: impl Fn(&OpenTransaction) -> bool,
) -> OpenTransaction {
    let holder = async || store.oldest_open_transaction().await.expect("holdback");
    eventually(NAMED_WITHIN, what, holder, |h| {
        h.as_ref().is_some_and(&is_ours)
    })
    .await
    .expect("the accepted value names a holder")
}

/// Rolls back every prepared transaction these tests left in the store's
/// database (one left by a failed run would hold every tracker back).
async fn roll_back_prepared(store: &PgEventStore) {
    let gids: Vec<String> = sqlx::query_scalar(
        "SELECT gid FROM pg_prepared_xacts \
         WHERE starts_with(gid, $1) AND database = current_database()",
    )
    .bind(GID_PREFIX)
    .fetch_all(store.pool())
    .await
    .expect("list prepared transactions");
    for gid in gids {
        // read from the catalogue with our prefix, followed by an EventId
        // (letters and digits): nothing to quote
        let _ = sqlx::query(&format!("ROLLBACK PREPARED '{gid}'"))
            .execute(store.pool())
            .await;
    }
}

async fn current_database(store: &PgEventStore) -> String {
    sqlx::query_scalar("SELECT current_database()")
        .fetch_one(store.pool())
        .await
        .expect("current database")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_write_transaction_holds_delivery_back_and_is_named() {
    let _turn = TURN.lock().await;
    let store = fresh_store_with(4).await;
    let mut open = insert_in_open_transaction(&store, "late").await;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *open)
        .await
        .expect("pid");
    append_tick(&store, "early").await;
    assert!(
        ids_after(&store, Checkpoint::BEGINNING).await.is_empty(),
        "held back while the older transaction is open"
    );
    let holder = named(&store, "our open transaction", |h| {
        h.pid == Some(pid as u32)
    })
    .await;
    assert_eq!(holder.database, current_database(&store).await);
    assert_eq!(holder.state, "idle in transaction");
    assert_eq!(
        holder.query, "SELECT pg_backend_pid()",
        "its last statement, shown since it runs in the store's database"
    );
    assert_eq!(holder.prepared, None);
    let recorder = eventstore_core::backend::conformance::reactor::recorder::Recorder::new("held");
    let status = eventstore_core::reactor::Runner::new(store.clone(), recorder)
        .status()
        .await
        .expect("status");
    let named = status.holdback.expect("the status names the holder");
    assert!(
        named.holder.starts_with("pid ") && named.holder.contains("(idle in transaction, open "),
        "{named:?}"
    );
    open.commit().await.expect("commit");
    let both = async || ids_after(&store, Checkpoint::BEGINNING).await;
    let read = eventually(Duration::from_secs(10), "both events readable", both, |r| {
        r.len() >= 2
    })
    .await;
    assert_eq!(
        read,
        ["late", "early"],
        "both, in commit order of their transactions' ids"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_transaction_in_another_database_is_named_with_its_database() {
    let _turn = TURN.lock().await;
    let store = fresh_store_with(4).await;
    assert_ne!(
        current_database(&store).await,
        OTHER_DATABASE,
        "DATABASE_URL must name another database than {OTHER_DATABASE:?}"
    );
    let other = pool_in_database(OTHER_DATABASE).await;
    let mut open = other.begin().await.expect("begin in the other database");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *open)
        .await
        .expect("pid");
    // takes a transaction id, as any write does
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *open)
        .await
        .expect("xid");
    append_tick(&store, "after").await;
    assert!(
        ids_after(&store, Checkpoint::BEGINNING).await.is_empty(),
        "a writer in another database holds this database's readers back"
    );
    // a younger writer in the store's own database holds nothing back by
    // itself: the other database's, older, is the one to name
    let younger = insert_in_open_transaction(&store, "younger").await;
    let holder = named(&store, "the older writer in the other database", |h| {
        h.pid == Some(pid as u32)
    })
    .await;
    assert_eq!(holder.database, OTHER_DATABASE, "{holder:?}");
    assert_eq!(holder.state, "idle in transaction");
    assert_eq!(
        holder.query, "",
        "another database's query is not shown: it may hold someone else's data"
    );
    assert_eq!(holder.prepared, None);
    open.rollback().await.expect("rollback");
    younger.rollback().await.expect("rollback");
    let read = async || ids_after(&store, Checkpoint::BEGINNING).await;
    let read = eventually(Duration::from_secs(10), "the event readable", read, |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(read, ["after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_transaction_is_named_by_its_gid() {
    let _turn = TURN.lock().await;
    let store = fresh_store_with(4).await;
    roll_back_prepared(&store).await;
    let gid = format!("{GID_PREFIX}{}", EventId::new());
    // in a task of its own, so that the prepared transaction is rolled back
    // also when an assertion fails: left prepared, it would hold back every
    // tracker of the server, and every later test
    let body = tokio::task::LocalSet::new();
    let task = body.spawn_local(prepared_holds_back(store.clone(), gid));
    let outcome = body.run_until(task).await;
    roll_back_prepared(&store).await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn prepared_holds_back(store: PgEventStore, gid: String) {
    // PREPARE TRANSACTION takes no parameter; the gid is ours
    sqlx::raw_sql(&format!(
        "BEGIN; SELECT pg_current_xact_id(); PREPARE TRANSACTION '{gid}'"
    ))
    .execute(store.pool())
    .await
    .expect("prepare a transaction (scripts/ensure-postgres sets max_prepared_transactions)");
    append_tick(&store, "after").await;
    assert!(
        ids_after(&store, Checkpoint::BEGINNING).await.is_empty(),
        "a prepared transaction holds readers back"
    );
    // a younger running writer: the prepared one, older, is the one to name
    let younger = insert_in_open_transaction(&store, "younger").await;
    let holder = named(&store, "the older prepared transaction", |h| {
        h.prepared.as_ref().is_some_and(|p| p.gid == gid)
    })
    .await;
    assert_eq!(holder.pid, None, "no process runs it: {holder:?}");
    assert_eq!(holder.database, current_database(&store).await);
    assert_eq!(holder.state, "prepared");
    assert_eq!(holder.query, "");
    let user: String = sqlx::query_scalar("SELECT current_user")
        .fetch_one(store.pool())
        .await
        .expect("user");
    let prepared = holder.prepared.expect("prepared");
    assert_eq!(prepared.owner, user);
    assert!(
        prepared
            .at
            .elapsed()
            .is_ok_and(|ago| ago < NAMED_WITHIN + Duration::from_secs(5)),
        "prepared just now: {prepared:?}"
    );
    sqlx::raw_sql(&format!("ROLLBACK PREPARED '{gid}'"))
        .execute(store.pool())
        .await
        .expect("rollback prepared");
    younger.rollback().await.expect("rollback");
    let read = async || ids_after(&store, Checkpoint::BEGINNING).await;
    let read = eventually(Duration::from_secs(10), "the event readable", read, |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(read, ["after"]);
}
