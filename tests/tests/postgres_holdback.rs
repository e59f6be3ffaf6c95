//! An open write transaction holds every tracker back, and the status names
//! it. In a test binary of its own: the hold-back is database-wide, so any
//! other test's open transaction could be the one named.

use std::time::Duration;

use eventstore_core::Checkpoint;
use eventstore_tests::eventually::eventually;
use eventstore_tests::postgres::{
    append_tick, fresh_store_with, ids_after, insert_in_open_transaction,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_write_transaction_holds_delivery_back_and_is_named() {
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
    let holder = store
        .holdback()
        .await
        .expect("holdback")
        .expect("a holder is named");
    assert_eq!(
        holder.pid, pid as u32,
        "our open transaction is named: {holder:?}"
    );
    assert_eq!(holder.state, "idle in transaction");
    assert_eq!(
        holder.query, "SELECT pg_backend_pid()",
        "its last statement"
    );
    let recorder = eventstore_tests::reactor_suite::recorder::Recorder::new("held");
    let status = eventstore_core::reactor::Runner::new(store.clone(), recorder)
        .status()
        .await
        .expect("status");
    let named = status.holdback.expect("the status names the holder");
    assert!(
        named.pid > 0 && named.state == "idle in transaction",
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
