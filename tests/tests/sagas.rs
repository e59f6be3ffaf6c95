//! The transfer saga over many transfers, in memory and on PostgreSQL: every
//! transfer settles, no money is made, lost or moved twice, and delivering
//! the whole log again changes nothing.

use eventstore_core::MemoryStore;
use eventstore_tests::postgres::fresh_store_with;
use eventstore_tests::sagas::{replay_everything, run_transfers};
use eventstore_tests::scenario::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfers_settle_in_memory_and_a_replay_changes_nothing() {
    let store = MemoryStore::new();
    let scenario = Scenario::new(10, 60);
    run_transfers(store.clone(), &scenario, 1, 1).await;
    replay_everything(store, &scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transfers_settle_on_postgres_with_two_runners_over_four_partitions() {
    let store = fresh_store_with(16).await;
    let scenario = Scenario::new(12, 120);
    run_transfers(store.clone(), &scenario, 2, 4).await;
    replay_everything(store, &scenario).await;
}
