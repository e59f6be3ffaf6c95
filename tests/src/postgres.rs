//! Stores for tests against the real PostgreSQL named by `DATABASE_URL`:
//! each test gets a fresh schema of its own.

use std::time::{Duration, SystemTime};

use eventstore_core::{Checkpoint, EventFilter, EventId, Tracker};
use eventstore_postgres::{CommandStatement, PgEventStore, PgStoreOptions};
use sqlx::PgConnection;

/// What a test says when it has no database.
pub const HOW_TO_PROVIDE_POSTGRES: &str = "these tests need PostgreSQL: set DATABASE_URL, for example \
     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --workspace \
     (`.ci/run` starts the local server and sets it)";

/// The prefix of the schemas that tests create.
const TEST_SCHEMA_PREFIX: &str = "es_test_";

/// Test schemas older than this are dropped by later test runs.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The database URL, or a message that says how to provide one.
///
/// # Errors
/// [`HOW_TO_PROVIDE_POSTGRES`] when the variable is unset or empty.
pub fn database_url_from(value: Option<String>) -> Result<String, String> {
    match value {
        Some(url) if !url.trim().is_empty() => Ok(url),
        _ => Err(HOW_TO_PROVIDE_POSTGRES.to_owned()),
    }
}

/// `DATABASE_URL`, or a panic that says how to provide it.
///
/// # Panics
/// When `DATABASE_URL` is not set.
pub fn database_url() -> String {
    database_url_from(std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|message| panic!("{message}"))
}

/// A migrated store in a new schema, connected with `connections` pooled
/// connections. Drops the test schemas that earlier runs left behind more
/// than an hour ago (a failing test keeps its schema for a look).
///
/// # Panics
/// When PostgreSQL cannot be reached, saying how to provide it.
pub async fn fresh_store_with(connections: u32) -> PgEventStore {
    fresh_store_with_options(PgStoreOptions::default().max_connections(connections)).await
}

/// [`fresh_store_with`] the given options, their schema replaced by a new
/// one.
///
/// # Panics
/// When PostgreSQL cannot be reached, saying how to provide it, or when
/// the options are refused.
pub async fn fresh_store_with_options(options: PgStoreOptions) -> PgEventStore {
    let url = database_url();
    let schema = format!("{TEST_SCHEMA_PREFIX}{}", EventId::new());
    let options = options.schema(schema);
    let store = PgEventStore::connect(&url, options)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot connect to PostgreSQL at {url}: {e:?}; {HOW_TO_PROVIDE_POSTGRES}")
        });
    drop_stale_schemas(&store).await;
    store.migrate().await.expect("migrate a fresh schema");
    store
}

/// [`fresh_store_with`] 8 connections.
pub async fn fresh_store() -> PgEventStore {
    fresh_store_with(8).await
}

async fn drop_stale_schemas(store: &PgEventStore) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)")
            .bind(TEST_SCHEMA_PREFIX)
            .fetch_all(store.pool())
            .await
            .expect("list test schemas");
    let now = SystemTime::now();
    for name in names {
        let Some(created) = name
            .strip_prefix(TEST_SCHEMA_PREFIX)
            .and_then(|id| id.parse::<EventId>().ok())
            .map(|id| id.created_at())
        else {
            continue;
        };
        if now.duration_since(created).unwrap_or_default() > STALE_AFTER {
            // the name was read from the catalogue and matches the prefix and an xid
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .execute(store.pool())
                .await;
        }
    }
}

/// A pool of one connection to the database `name` on the server that
/// `DATABASE_URL` names (the same URL with only the database replaced), to
/// show what a neighbouring database's transactions do to the store.
///
/// # Panics
/// When the URL does not parse or the database cannot be reached.
pub async fn pool_in_database(name: &str) -> sqlx::PgPool {
    let url = database_url();
    let options = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .unwrap_or_else(|e| panic!("DATABASE_URL {url} does not parse: {e}"))
        .database(name);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot connect to database {name:?} of {url}: {e:?} \
                 (scripts/ensure-postgres creates the database `test`)"
            )
        })
}

/// Runs `statement` on the store's pool, `{schema}` replaced by its
/// schema: rows written or tables changed behind the store's back.
///
/// # Panics
/// When the statement fails, naming it.
pub async fn sql(store: &PgEventStore, statement: &str) {
    let statement = statement.replace("{schema}", &format!("\"{}\"", store.schema()));
    sqlx::query(&statement)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

/// Inserts a `Gap` event at version 1 of `id` in a transaction left open:
/// a late commit, for tracker tests.
///
/// # Panics
/// When the insert fails.
pub async fn insert_in_open_transaction(
    store: &PgEventStore,
    id: &str,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = store.pool().begin().await.expect("begin");
    sqlx::query(&format!(
        "INSERT INTO \"{}\".events (id, aggregate_kind, aggregate_id, version, kind, body) \
         VALUES ($1, 'Gap', $2, 1, 'Tick', '{{}}')",
        store.schema()
    ))
    .bind(EventId::new().to_string())
    .bind(id)
    .execute(&mut *tx)
    .await
    .expect("insert");
    tx
}

/// Appends a `Tick` at version 1 of the `Gap` stream `id`, through the store.
///
/// # Panics
/// When the append fails.
pub async fn append_tick(store: &PgEventStore, id: &str) {
    let request = eventstore_core::backend::AppendRequest::new("Gap", id.parse().unwrap(), 0)
        .event(eventstore_core::backend::NewEvent {
            kind: "Tick".into(),
            schema_version: 1,
            body: serde_json::json!({}).try_into().expect("a JSON object"),
        });
    eventstore_core::EventStore::append(store, request)
        .await
        .expect("append");
}

/// The ids of the `Gap` aggregates whose events the tracker reads after
/// `after`, in order.
///
/// # Panics
/// When the read fails.
pub async fn ids_after(store: &PgEventStore, after: Checkpoint) -> Vec<String> {
    let filter = EventFilter::all().aggregate_kind("Gap");
    store
        .read_after(after, &filter, 100)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.aggregate_id)
        .collect()
}

/// The JSON plan of `statement` for each of its samples, prepared once on
/// `connection` and explained with `explain` (such as `FORMAT JSON` or
/// `ANALYZE, FORMAT JSON`), with each sample's arguments; deallocated
/// after.
///
/// # Panics
/// When PostgreSQL refuses to prepare, explain or deallocate, naming the
/// statement.
pub async fn sample_plans(
    connection: &mut PgConnection,
    statement: &CommandStatement,
    explain: &str,
) -> Vec<(Vec<&'static str>, serde_json::Value)> {
    let prepare = format!(
        "PREPARE planned ({}) AS {}",
        statement.parameter_types.join(", "),
        statement.sql
    );
    sqlx::raw_sql(&prepare)
        .execute(&mut *connection)
        .await
        .unwrap_or_else(|e| panic!("prepare {}: {e}", statement.name));
    let mut plans = Vec::new();
    for sample in &statement.samples {
        let query = format!(
            "EXPLAIN ({explain}) EXECUTE planned ({})",
            sample.join(", ")
        );
        let plan: serde_json::Value = sqlx::query_scalar(&query)
            .fetch_one(&mut *connection)
            .await
            .unwrap_or_else(|e| panic!("explain {}: {e}", statement.name));
        plans.push((sample.clone(), plan));
    }
    sqlx::raw_sql("DEALLOCATE planned")
        .execute(&mut *connection)
        .await
        .expect("deallocate");
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_database_url_says_how_to_provide_one() {
        for missing in [None, Some(String::new()), Some("  ".to_owned())] {
            let message = database_url_from(missing).unwrap_err();
            assert!(message.contains("DATABASE_URL=postgres://"), "{message}");
        }
        assert_eq!(
            database_url_from(Some("postgres://x".into())).unwrap(),
            "postgres://x"
        );
    }
}
