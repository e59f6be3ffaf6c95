//! `sagas import` end to end: a file and standard input, a table and
//! `--json`, and a refused file that names its line, exits with 1 and
//! writes nothing.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use eventstore_postgres::PgEventStore;
use eventstore_tests::postgres::{database_url, fresh_store};

/// `sagas ARGS --schema SCHEMA` on `DATABASE_URL`, given `stdin`.
fn sagas(schema: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagas_process"))
        .args(args)
        .args(["--schema", schema])
        .env("DATABASE_URL", database_url())
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sagas");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("run sagas")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn events_in_table(store: &PgEventStore) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{}\".events", store.schema());
    sqlx::query_scalar(&sql)
        .fetch_one(store.pool())
        .await
        .expect("count the events")
}

const ADA: &str = r#"{"aggregate_kind":"Account","aggregate_id":"ada","kind":"Opened","version":1,"body":{"owner":"Ada","initial_balance":1000},"time":"2024-01-01T09:00:00Z"}
{"aggregate_kind":"Account","aggregate_id":"ada","kind":"MoneyDeposited","version":2,"body":{"amount":250,"transaction":"legacy-1"},"time":"2024-01-02T09:00:00Z"}
"#;

const BOB: &str = r#"{"aggregate_kind":"Account","aggregate_id":"bob","kind":"Opened","version":1,"body":{"owner":"Bob","initial_balance":5},"time":"2024-01-01T09:00:00Z"}
{"aggregate_kind":"Account","aggregate_id":"bob","kind":"MoneyDeposited","version":3,"body":{"amount":1,"transaction":"legacy-2"},"time":"2024-01-02T09:00:00Z"}
"#;

#[tokio::test]
async fn imports_a_file_or_standard_input_and_refuses_a_gap_naming_the_line() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let path = std::env::temp_dir().join(format!("{schema}.jsonl"));
    std::fs::write(&path, ADA).expect("write the file");
    let file = path.to_str().expect("a UTF-8 path");

    let imported = sagas(&schema, &["import", file], "");
    std::fs::remove_file(&path).expect("remove the file");
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        text(&imported.stderr)
    );
    let printed = text(&imported.stdout);
    assert!(
        printed.contains("imported 2 events into 1 streams in one transaction"),
        "{printed}"
    );
    let row = printed.lines().nth(2).unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..4], [file, "2", "2", "1"], "{printed}");

    let shown = sagas(&schema, &["account", "show", "ada", "--json"], "");
    let account: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        (account["balance"].as_u64(), account["version"].as_u64()),
        (Some(1_250), Some(2))
    );

    let refused = sagas(&schema, &["import", "-"], BOB);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr).trim(),
        r#"error: cannot import line 2: Account "bob" needs version 2 next, the line has version 3; nothing was imported"#
    );
    assert_eq!(events_in_table(&store).await, 2, "nothing of bob written");

    let bob = BOB.replace(r#""version":3"#, r#""version":2"#);
    let json = sagas(&schema, &["import", "-", "--json"], &bob);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        (
            report["file"].as_str(),
            report["lines"].as_u64(),
            report["events"].as_u64(),
            report["streams"].as_u64()
        ),
        (Some("-"), Some(2), Some(2), Some(1)),
        "{report}"
    );
    assert!(report["seconds"].as_f64().is_some(), "{report}");
    assert_eq!(events_in_table(&store).await, 4);

    let missing = sagas(&schema, &["import", "/nonexistent/history.jsonl"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).starts_with("error: cannot open /nonexistent/history.jsonl: "),
        "{}",
        text(&missing.stderr)
    );
}

/// An account opened by an earlier release (an `Opened` of schema version
/// 1: the line names none) and one opened by this one (version 2).
const OLD_AND_NEW: &str = r#"{"aggregate_kind":"Account","aggregate_id":"old","kind":"Opened","version":1,"body":{"owner":"Ada Lovelace","initial_balance":1000},"time":"2024-01-01T09:00:00Z"}
{"aggregate_kind":"Account","aggregate_id":"new","kind":"Opened","version":1,"schema_version":2,"body":{"holder":"Grace Hopper","opening_balance":2500},"time":"2025-01-01T09:00:00Z"}
"#;

#[tokio::test]
async fn imported_accounts_of_either_version_read_alike_and_are_forgotten_alike() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let imported = sagas(&schema, &["import", "-"], OLD_AND_NEW);
    assert_eq!(
        imported.status.code(),
        Some(0),
        "{}",
        text(&imported.stderr)
    );
    for (id, owner, balance) in [
        ("old", "Ada Lovelace", 1_000),
        ("new", "Grace Hopper", 2_500),
    ] {
        let shown = sagas(&schema, &["account", "show", id, "--json"], "");
        let account: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
        assert_eq!(
            (account["owner"].as_str(), account["balance"].as_u64()),
            (Some(owner), Some(balance)),
            "{id}: {account}"
        );
        let forgot = sagas(&schema, &["forget", id, "--json"], "");
        let report: serde_json::Value = serde_json::from_slice(&forgot.stdout).expect("JSON");
        assert_eq!(
            report["events"], 1,
            "{id}: its Opened loses the name: {report}"
        );
    }
    let sql = format!("SELECT body::text FROM \"{schema}\".events ORDER BY aggregate_id DESC");
    let bodies: Vec<String> = sqlx::query_scalar(&sql)
        .fetch_all(store.pool())
        .await
        .expect("the stored bodies");
    let bodies: Vec<serde_json::Value> = bodies
        .iter()
        .map(|body| serde_json::from_str(body).expect("JSON"))
        .collect();
    assert_eq!(
        bodies,
        [
            serde_json::json!({ "owner": null, "initial_balance": 1_000 }),
            serde_json::json!({ "holder": null, "opening_balance": 2_500 }),
        ],
        "each row loses the name under the field of its version"
    );
}
