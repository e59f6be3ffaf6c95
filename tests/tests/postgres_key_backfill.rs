//! Migration 0007 moves the idempotency keys of the events written before
//! it into `command_keys`: a command with one of them is still
//! `AlreadyApplied`, and the events' index of keys is gone.

use eventstore_core::backend::RecordedOutcome;
use eventstore_core::backend::conformance::account::{Account, Decision};
use eventstore_core::{EventStore, Options, Outcome, Repository};
use eventstore_postgres::PgEventStore;
use eventstore_tests::postgres::{fresh_store, sql};

/// Turns a migrated schema back into one at migration 0006.
async fn back_to_0006(store: &PgEventStore) {
    sql(store, "DROP TABLE {schema}.command_keys").await;
    sql(
        store,
        "CREATE UNIQUE INDEX events_stream_idempotency_key ON {schema}.events \
         (aggregate_kind, aggregate_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
    )
    .await;
    sql(
        store,
        "DELETE FROM {schema}._sqlx_migrations WHERE version = 7",
    )
    .await;
}

fn never(_: &Account) -> Decision {
    panic!("a command whose key was used must not be decided again")
}

#[tokio::test]
async fn keys_of_events_written_before_the_migration_stay_applied() {
    let store = fresh_store().await;
    back_to_0006(&store).await;
    // what a store before 0007 wrote: the key on the append's first event
    sql(
        &store,
        "INSERT INTO {schema}.events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key) VALUES \
         ('e1', 'Account', 'a-1', 1, 'Opened', '{\"owner\": \"Ada\", \"initial_balance\": 10}', 'k-open'), \
         ('e2', 'Account', 'a-1', 2, 'MoneyDeposited', '{\"amount\": 1, \"transaction\": \"t-1\"}', 'k-1'), \
         ('e3', 'Account', 'a-1', 3, 'MoneyDeposited', '{\"amount\": 2, \"transaction\": \"t-2\"}', NULL)",
    )
    .await;
    store.migrate().await.expect("migrate to 0007");
    for key in ["k-open", "k-1"] {
        assert_eq!(
            store
                .idempotency_key_outcome("Account", "a-1", key)
                .await
                .expect("key outcome"),
            Some(RecordedOutcome::Applied),
            "{key}"
        );
    }
    let repo = Repository::new(store.clone());
    let again = repo
        .execute("a-1", Options::idempotent("k-1"), never)
        .await
        .expect("execute");
    assert_eq!(again, Outcome::AlreadyApplied);
    let new_key = repo
        .execute("a-1", Options::idempotent("k-2"), |a: &Account| {
            a.deposit(4, "t-3")
        })
        .await
        .expect("execute");
    assert!(
        matches!(new_key, Outcome::Done(ref c) if c.version == 4),
        "{new_key:?}"
    );
    let index: Option<String> = sqlx::query_scalar(&format!(
        "SELECT to_regclass('\"{}\".events_stream_idempotency_key')::text",
        store.schema()
    ))
    .fetch_one(store.pool())
    .await
    .expect("look up the index");
    assert_eq!(index, None, "the events' index of keys is dropped");
}
