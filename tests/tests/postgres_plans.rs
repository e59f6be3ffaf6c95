//! Every statement of a command's path reads the events and snapshots
//! through an index whatever the planner's statistics say: on tables never
//! analyzed (a new deployment, or one just truncated, until autovacuum
//! analyzes them), empty or holding thousands of rows, in the generic plan
//! that a prepared statement settles on and in the custom plans it starts
//! with. A sequential scan of either table, or a sort of rows read from it,
//! fails the test, naming the statement, the plan mode, the arguments and
//! the node. So does a plan made on tables analyzed while they were small
//! (autovacuum analyzes a new table after its first 50 rows): a prepared
//! statement keeps its generic plan while the table grows, until the next
//! analyze.

use eventstore_postgres::{CommandStatement, PgEventStore};
use eventstore_tests::postgres::{fresh_store_with, sample_plans};
use serde_json::Value;
use sqlx::PgConnection;

/// The tables that must never be scanned whole or sorted.
const WATCHED: &[&str] = &["events", "snapshots"];

/// How many events the filled tables hold: 500 streams of 10.
const FILLED_EVENTS: u32 = 5_000;

/// The nodes of `plan` (an `EXPLAIN (FORMAT JSON)` node) that scan a
/// watched table whole or sort rows read from one, described.
fn offending_nodes(plan: &Value, found: &mut Vec<String>) {
    let node_type = plan["Node Type"].as_str().unwrap_or_default();
    let relation = plan["Relation Name"].as_str();
    if node_type == "Seq Scan" && relation.is_some_and(|r| WATCHED.contains(&r)) {
        found.push(format!("Seq Scan on {}", relation.unwrap_or_default()));
    }
    let children = plan["Plans"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if node_type == "Sort" {
        // what the sort orders is its outer input; its init plans run apart
        let sorted = children
            .iter()
            .filter(|child| child["Parent Relationship"] == "Outer");
        for child in sorted {
            let mut relations = Vec::new();
            relations_read(child, &mut relations);
            if let Some(table) = relations.iter().find(|r| WATCHED.contains(&r.as_str())) {
                found.push(format!(
                    "Sort (key {}) of rows read from {table}",
                    plan["Sort Key"]
                ));
            }
        }
    }
    for child in children {
        offending_nodes(child, found);
    }
}

/// Every table that `plan` or its children read.
fn relations_read(plan: &Value, relations: &mut Vec<String>) {
    if let Some(relation) = plan["Relation Name"].as_str() {
        relations.push(relation.to_owned());
    }
    for child in plan["Plans"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        relations_read(child, relations);
    }
}

/// What is wrong with the plans of `statement`, prepared on `connection`,
/// for each of its samples, in the connection's plan mode.
async fn check(
    connection: &mut PgConnection,
    statement: &CommandStatement,
    mode: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (sample, plan) in sample_plans(connection, statement, "FORMAT JSON").await {
        let mut found = Vec::new();
        offending_nodes(&plan[0]["Plan"], &mut found);
        problems.extend(found.into_iter().map(|node| {
            format!(
                "{} ({mode}, arguments {}): {node}",
                statement.name,
                sample.join(", ")
            )
        }));
    }
    problems
}

/// What is wrong with the plans of every command statement of `store`, in
/// generic and (where the statement asks for it) custom plan modes.
async fn check_all(store: &PgEventStore, connection: &mut PgConnection) -> Vec<String> {
    let mut problems = Vec::new();
    for mode in ["force_generic_plan", "force_custom_plan"] {
        sqlx::raw_sql(&format!("SET plan_cache_mode = {mode}"))
            .execute(&mut *connection)
            .await
            .expect("set the plan mode");
        for statement in store.command_statements() {
            if mode == "force_generic_plan" || statement.custom_plans_checked {
                problems.extend(check(connection, &statement, mode).await);
            }
        }
    }
    problems
}

#[tokio::test]
async fn every_command_statement_reads_through_an_index_without_statistics() {
    let store = fresh_store_with(1).await;
    let schema = store.schema().to_owned();
    let mut connection = store.pool().acquire().await.expect("a connection");
    // autovacuum must not analyze the tables while the test runs
    for table in WATCHED {
        sqlx::raw_sql(&format!(
            "ALTER TABLE \"{schema}\".{table} SET (autovacuum_enabled = off)"
        ))
        .execute(&mut *connection)
        .await
        .expect("turn autovacuum off");
    }

    let mut problems = check_all(&store, &mut connection).await;

    let fill = format!(
        "INSERT INTO \"{schema}\".events (id, aggregate_kind, aggregate_id, version, kind, body, idempotency_key, stream_hash)
         SELECT 'e' || n, 'Account', 'a' || (n / 10), n % 10 + 1, 'Deposited', '{{}}',
                CASE WHEN n % 3 = 0 THEN 'key' || n END, n
         FROM generate_series(0, {last}) AS n;
         INSERT INTO \"{schema}\".snapshots (aggregate_kind, aggregate_id, version, schema_version, state)
         SELECT 'Account', 'a' || n, 5, 1, '{{}}' FROM generate_series(0, {streams}) AS n",
        last = FILLED_EVENTS - 1,
        streams = FILLED_EVENTS / 10 - 1,
    );
    sqlx::raw_sql(&fill)
        .execute(&mut *connection)
        .await
        .expect("fill the tables");
    problems.extend(
        check_all(&store, &mut connection)
            .await
            .into_iter()
            .map(|problem| format!("with {FILLED_EVENTS} events: {problem}")),
    );

    let analyzed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE schemaname = $1 AND tablename = ANY ($2)",
    )
    .bind(&schema)
    .bind(WATCHED)
    .fetch_one(&mut *connection)
    .await
    .expect("read pg_stats");
    assert_eq!(analyzed, 0, "the tables were analyzed during the test");
    assert!(
        problems.is_empty(),
        "plans that depend on statistics:\n{}",
        problems.join("\n")
    );
}

/// How many events the small analyzed tables hold: 20 streams of 1, as
/// after a new deployment's first commands.
const SMALL_EVENTS: u32 = 20;

#[tokio::test]
async fn every_command_statement_reads_through_an_index_on_tables_analyzed_while_small() {
    let store = fresh_store_with(1).await;
    let schema = store.schema().to_owned();
    let mut connection = store.pool().acquire().await.expect("a connection");
    let fill = format!(
        "INSERT INTO \"{schema}\".events (id, aggregate_kind, aggregate_id, version, kind, body, stream_hash)
         SELECT 'e' || n, 'Account', 'a' || n, 1, 'Opened', '{{}}', n
         FROM generate_series(1, {SMALL_EVENTS}) AS n;
         INSERT INTO \"{schema}\".snapshots (aggregate_kind, aggregate_id, version, schema_version, state)
         VALUES ('Account', 'a1', 1, 1, '{{}}');
         ANALYZE \"{schema}\".events, \"{schema}\".snapshots",
    );
    sqlx::raw_sql(&fill)
        .execute(&mut *connection)
        .await
        .expect("fill and analyze the tables");
    let problems = check_all(&store, &mut connection).await;
    assert!(
        problems.is_empty(),
        "plans made on tables analyzed with {SMALL_EVENTS} events, kept as they grow:\n{}",
        problems.join("\n")
    );
}
