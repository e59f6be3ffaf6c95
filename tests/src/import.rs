//! Helpers of the import tests: lines of an import file, and the rows a
//! store holds.

use eventstore_postgres::PgEventStore;
use serde_json::{Value, json};

/// One line of an import file (JSON lines, as `PgEventStore::import`
/// reads them).
#[must_use]
pub fn line(kind: &str, id: &str, event: &str, version: u64, body: &Value, time: &str) -> String {
    json!({
        "aggregate_kind": kind, "aggregate_id": id, "kind": event,
        "version": version, "body": body, "time": time,
    })
    .to_string()
}

/// How many rows the store's events table holds.
///
/// # Panics
/// When the count fails.
pub async fn rows(store: &PgEventStore) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM \"{}\".events",
        store.schema()
    ))
    .fetch_one(store.pool())
    .await
    .expect("count")
}

/// Writes version 1 of stream `kind` `race` (event kind `event`) in a
/// transaction it leaves open: a writer that got there before an import
/// and has not committed yet.
///
/// # Panics
/// When the insert fails.
pub async fn uncommitted_first_version(
    store: &PgEventStore,
    kind: &str,
    event: &str,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut writer = store.pool().begin().await.expect("begin");
    sqlx::query(&format!(
        "INSERT INTO \"{}\".events (id, aggregate_kind, aggregate_id, version, kind, body) \
         VALUES ('cm97u42jueqrsdfjo61g', $1, 'race', 1, $2, '{{}}')",
        store.schema()
    ))
    .bind(kind)
    .bind(event)
    .execute(&mut *writer)
    .await
    .expect("insert");
    writer
}

/// Checks that every connection of the store's pool answers its own query
/// (none was returned to the pool with another statement's reply unread).
///
/// # Panics
/// When a query gets another's answer or fails.
pub async fn each_query_gets_its_own_answer(store: &PgEventStore) {
    for n in 0..16_i32 {
        let answer: Result<i32, _> = sqlx::query_scalar("SELECT $1::int4")
            .bind(n)
            .fetch_one(store.pool())
            .await;
        assert_eq!(
            answer.as_ref().ok(),
            Some(&n),
            "query {n} got another's answer: {answer:?}"
        );
    }
}
