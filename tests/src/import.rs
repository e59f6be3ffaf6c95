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
