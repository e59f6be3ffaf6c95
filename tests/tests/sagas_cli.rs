//! The `sagas` program as a script sees it: exit codes, one-line errors,
//! JSON output, and what the operator commands (`status`, `events`) print.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::{Deadline, EventId, EventStore, Options, Outcome, Repository};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use eventstore_tests::postgres::{database_url, fresh_store};
use eventstore_tests::sagas::run_transfers;
use eventstore_tests::scenario::Scenario;
use sagas_examples::account::Account;
use sagas_examples::saga::{APPROVAL, TransferSaga};
use sagas_examples::transfer::{
    ApprovalRequested, Decision, DepositFailed, Transfer, TransferDebited, TransferStatus,
};
use serde_json::json;

fn sagas(args: &[&str], database_url: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sagas_process"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "error");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.output().expect("run sagas")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The rows of the first table in `printed` (a header, a rule of dashes,
/// rows up to a blank line), each as its cells: columns are two spaces or
/// more apart, and a blank cell is left out.
fn table_rows(printed: &str) -> Vec<Vec<String>> {
    printed
        .lines()
        .skip_while(|line| !line.starts_with("---"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// `output` is a usage error (exit 2) whose message contains `says`.
fn assert_usage_error(output: &Output, args: &[&str], says: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        stderr(output)
    );
    assert!(
        stderr(output).contains(says),
        "{args:?}: {}",
        stderr(output)
    );
}

#[test]
fn the_demo_needs_no_database() {
    let output = sagas(&["demo"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("t-3: refunded 10.00 to alice"));
}

#[test]
fn usage_errors_exit_with_2_and_say_why() {
    let no_database = sagas(&["status"], None);
    assert_eq!(no_database.status.code(), Some(2));
    assert_eq!(
        stderr(&no_database).trim(),
        "error: this command needs PostgreSQL: pass --database-url URL or set DATABASE_URL"
    );
    let bad_amount = sagas(
        &["account", "open", "x", "--owner", "y", "--balance", "1.234"],
        None,
    );
    assert_eq!(bad_amount.status.code(), Some(2));
    assert!(
        stderr(&bad_amount).contains("\"1.234\" is not an amount like 100 or 12.50"),
        "{}",
        stderr(&bad_amount)
    );
    // refused before connecting: nothing listens on port 1
    let nowhere = Some("postgres://postgres@127.0.0.1:1/postgres");
    for (args, option) in [
        (&["worker", "--lease-ttl-ms", "0"][..], "lease_ttl"),
        (&["worker", "--partitions", "0"][..], "partitions"),
        (&["reset", "--partitions", "5000"][..], "partitions"),
    ] {
        assert_usage_error(&sagas(args, nowhere), args, &format!("option {option} = "));
    }
}

#[tokio::test]
async fn commands_on_postgres_print_json_and_refusals_exit_with_1() {
    let url = database_url();
    let schema = format!("cli_{}", EventId::new());
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--schema", schema.as_str()]);
        sagas(&all, Some(&url))
    };
    let opened = run(&[
        "account",
        "open",
        "ada",
        "--owner",
        "Ada Lovelace",
        "--balance",
        "12.50",
    ]);
    assert_eq!(opened.status.code(), Some(0), "{}", stderr(&opened));
    let shown = run(&["account", "show", "ada", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        (json["balance"].as_u64(), json["owner"].as_str()),
        (Some(1_250), Some("Ada Lovelace"))
    );

    let shown = run(&["account", "show", "ada"]);
    assert_eq!(
        table_rows(&String::from_utf8_lossy(&shown.stdout)),
        [["ada", "Ada Lovelace", "open", "12.50", "1"]],
        "plain words and money for people: {}",
        String::from_utf8_lossy(&shown.stdout)
    );
    let not_empty = run(&["account", "close", "ada"]);
    assert_eq!(
        (not_empty.status.code(), stderr(&not_empty).trim()),
        (
            Some(1),
            "error: ada: the account still holds 12.50; empty it before closing"
        )
    );

    let again = run(&["account", "open", "ada", "--owner", "Ada"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim(),
        "error: ada: the account is already open"
    );
    let missing = run(&["transfer", "show", "nope"]);
    assert_eq!(
        (missing.status.code(), stderr(&missing).trim()),
        (Some(1), "error: nope: no such transfer")
    );

    let started = run(&["transfer", "start", "ada", "bob", "5", "--id", "t-1"]);
    assert_eq!(started.status.code(), Some(0), "{}", stderr(&started));
    let twice = run(&["transfer", "start", "ada", "bob", "5", "--id", "t-1"]);
    assert_eq!(
        String::from_utf8_lossy(&twice.stdout).trim(),
        "t-1: already started"
    );
    let shown = run(&["transfer", "show", "t-1"]);
    assert_eq!(
        table_rows(&String::from_utf8_lossy(&shown.stdout)),
        [["t-1", "ada", "bob", "5.00", "started"]],
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    let shown = run(&["transfer", "show", "t-1", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        (json["amount"].as_u64(), json["status"].as_str()),
        (Some(500), Some("started")),
        "machine values: minor units"
    );
    let events = run(&["events", "--aggregate", "t-1", "--json"]);
    let kinds: Vec<String> = String::from_utf8_lossy(&events.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("JSON line")["kind"].to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["\"TransferStarted\""],
        "one transfer started, no worker ran"
    );

    let forgot = run(&["forget", "ada", "--json"]);
    assert_eq!(forgot.status.code(), Some(0), "{}", stderr(&forgot));
    let json: serde_json::Value = serde_json::from_slice(&forgot.stdout).expect("JSON");
    assert_eq!(
        json["events"], 1,
        "the Opened event loses the owner: {json}"
    );
    let shown = run(&["account", "show", "ada", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        (json["balance"].as_u64(), &json["owner"]),
        (Some(1_250), &serde_json::Value::Null),
        "the account lives on without its owner's name"
    );
    let events = run(&["events", "--aggregate", "ada", "--json"]);
    assert!(events.status.success(), "{}", stderr(&events));
    assert!(
        !String::from_utf8_lossy(&events.stdout).contains("Lovelace"),
        "no event still names the owner"
    );
    let again = run(&["forget", "ada", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(json["events"], 0, "a repeat erases nothing more");
    let unknown = run(&["forget", "nobody"]);
    assert_eq!(
        (unknown.status.code(), stderr(&unknown).trim()),
        (Some(1), "error: nobody: no such account")
    );

    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .expect("drop the test schema");
}

/// `sagas ARGS --schema SCHEMA` on the database of `DATABASE_URL`.
fn sagas_in(schema: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--schema", schema]);
    sagas(&all, Some(&database_url()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// How many events the store's table holds, counted by SQL.
async fn events_in_table(store: &PgEventStore) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{}\".events", store.schema());
    sqlx::query_scalar(&sql)
        .fetch_one(store.pool())
        .await
        .expect("count the events")
}

#[tokio::test]
async fn an_id_no_aggregate_can_have_is_a_usage_error_and_nothing_is_written() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let tab = sagas_in(&schema, &["transfer", "start", "alice", "bo\tb", "10"]);
    assert_eq!(tab.status.code(), Some(2), "{}", stderr(&tab));
    assert!(
        stderr(&tab)
            .contains(r#"invalid aggregate id "bo\tb": it has a control character at byte 2"#),
        "the message names the id: {}",
        stderr(&tab)
    );
    for args in [
        &["transfer", "start", "", "bob", "10"][..],
        &["transfer", "start", "alice", "bob", "10", "--id", "t\n1"],
        &["account", "open", "al\u{1b}ice", "--owner", "Alice"],
        &["account", "deposit", "al\u{7f}ice", "10"],
    ] {
        assert_usage_error(&sagas_in(&schema, args), args, "invalid aggregate id");
    }
    assert_eq!(events_in_table(&store).await, 0, "nothing was written");
    let events = sagas_in(&schema, &["events", "--json"]);
    assert_eq!(
        (events.status.code(), stdout(&events).as_str()),
        (Some(0), ""),
        "the log is empty"
    );

    // the count sees what a valid start writes
    let valid = sagas_in(&schema, &["transfer", "start", "alice", "bob", "10"]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
    assert_eq!(events_in_table(&store).await, 1);
}

/// The name that `sagas status` and `transfer show` give a state.
fn state_name(status: TransferStatus) -> &'static str {
    match status {
        TransferStatus::New => "new",
        TransferStatus::Started => "started",
        TransferStatus::Debited => "debited",
        TransferStatus::DepositFailed => "deposit-failed",
        TransferStatus::Completed => "completed",
        TransferStatus::Failed { refunded: false } => "failed",
        TransferStatus::Failed { refunded: true } => "refunded",
        TransferStatus::AwaitingApproval => "awaiting-approval",
        TransferStatus::Approved => "approved",
        TransferStatus::Declined { timed_out: false } => "rejected",
        TransferStatus::Declined { timed_out: true } => "timed-out",
    }
}

/// A command on a transfer.
type Step = fn(&Transfer) -> Decision;

/// Records the debit, as the saga does when the withdrawal is done.
fn debit(_: &Transfer) -> Decision {
    Ok(vec![TransferDebited {}.into()])
}

/// Records a refused deposit, as the saga does.
fn fail_deposit(_: &Transfer) -> Decision {
    Ok(vec![
        DepositFailed {
            reason: "frozen".into(),
        }
        .into(),
    ])
}

/// Starts transfer `id` and runs the commands `steps` on it.
async fn transfer_through(repo: &Repository<PgEventStore>, id: &str, steps: &[Step]) {
    let start: Step = |t| t.start("acc-1", "acc-2", 1_00);
    for step in std::iter::once(&start).chain(steps) {
        let outcome = repo
            .execute(id, Options::default(), *step)
            .await
            .expect("execute");
        assert!(matches!(outcome, Outcome::Done(_)), "{id}: {outcome:?}");
    }
}

#[tokio::test]
async fn status_counts_transfers_by_the_state_their_events_fold_to() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let scenario = Scenario::new(10, 24);
    run_transfers(store.clone(), &scenario, 2, 4).await;
    let repo = Repository::new(store.clone());
    // transfers that no saga moves on, one in each state short of settled,
    // oldest first
    let unsettled: [(&str, &[Step]); 4] = [
        ("u-started", &[]),
        ("u-debited", &[debit]),
        ("u-deposit-failed", &[debit, fail_deposit]),
        ("u-started-again", &[]),
    ];
    for (id, steps) in unsettled {
        transfer_through(&repo, id, steps).await;
    }
    let ids = scenario
        .transfers
        .iter()
        .map(|(id, ..)| id.as_str())
        .chain(unsettled.iter().map(|(id, _)| *id));
    let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
    let mut for_people: BTreeMap<String, u64> = BTreeMap::new();
    for id in ids {
        let status = repo.load::<Transfer>(id).await.expect("load").state.status;
        *expected.entry(state_name(status)).or_default() += 1;
        *for_people.entry(status.to_string()).or_default() += 1;
    }
    for settled in ["completed", "failed", "refunded"] {
        assert!(
            expected.contains_key(settled),
            "the scenario has {settled} transfers: {expected:?}"
        );
    }

    let status = sagas_in(&schema, &["status", "--json", "--stuck-after", "0"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    let counted: BTreeMap<String, u64> =
        serde_json::from_value(json["transfers"].clone()).expect("counts by state");
    let expected_owned: BTreeMap<String, u64> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    assert_eq!(counted, expected_owned, "counted as each transfer folds");
    let stuck: Vec<(&str, &str)> = json["stuck"]
        .as_array()
        .expect("a stuck list")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or("?"),
                s["status"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        stuck,
        [
            ("u-started", "started"),
            ("u-debited", "debited"),
            ("u-deposit-failed", "deposit-failed"),
            ("u-started-again", "started"),
        ],
        "the unsettled transfers, oldest first"
    );
    assert_eq!(json["stuck_total"], 4);

    let table = sagas_in(&schema, &["status", "--stuck-after", "3600"]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let printed = stdout(&table);
    assert!(
        for_people.contains_key("failed, refunded"),
        "a refunded transfer reads as plain words: {for_people:?}"
    );
    let shown: BTreeMap<String, u64> = table_rows(&printed)
        .into_iter()
        .map(|row| (row[0].clone(), row[1].parse().expect("a count")))
        .collect();
    assert_eq!(shown, for_people, "the states table:\n{printed}");
    assert!(
        printed.contains("\n\nsaga transfer-saga ") && !printed.contains("stuck"),
        "no stuck ones within an hour, then the saga:\n{printed}"
    );
}

#[tokio::test]
async fn status_lists_the_oldest_20_stuck_transfers_and_counts_them_all() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let repo = Repository::new(store.clone());
    let ids: Vec<String> = (0..25).map(|t| format!("s-{t:02}")).collect();
    for id in &ids {
        transfer_through(&repo, id, &[]).await;
    }
    let status = sagas_in(&schema, &["status", "--json", "--stuck-after", "0"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(json["transfers"], serde_json::json!({ "started": 25 }));
    let listed: Vec<&str> = json["stuck"]
        .as_array()
        .expect("a stuck list")
        .iter()
        .map(|s| s["id"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(listed, ids[..20], "the oldest 20, oldest first");
    assert_eq!(json["stuck_total"], 25);

    let table = stdout(&sagas_in(&schema, &["status", "--stuck-after", "0"]));
    assert!(
        table.contains(
            "stuck (not settled after 0 s; the oldest 20 of 25):\ntransfer  status   age\n"
        ),
        "{table}"
    );
    assert!(
        table.contains("\ns-19      started  ") && !table.contains("s-20"),
        "{table}"
    );
}

/// Runs `sagas_in` until `done` holds for its output, for at most 60 s: the
/// tracker that `events` reads through holds every event back while any
/// write transaction of the cluster is open, and other tests hold some.
fn sagas_until(schema: &str, args: &[&str], done: impl Fn(&Output) -> bool) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = sagas_in(schema, args);
        if done(&output) || Instant::now() > deadline {
            return output;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn events_are_printed_in_commit_order_a_page_at_a_time() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let streams = ["gap-0", "gap-1", "gap-2", "gap-3", "gap-4"];
    // 2,500 events in 25 appends of 100, the streams taking turns
    for round in 0..5_u64 {
        for (s, id) in streams.iter().enumerate() {
            let first = (round * 5 + s as u64) * 100;
            let request = (0..100).fold(
                AppendRequest::new("Gap", id.parse().unwrap(), round * 100),
                |r, i| {
                    r.event(NewEvent {
                        kind: "Tick".into(),
                        schema_version: 1,
                        body: serde_json::json!({ "n": first + i })
                            .try_into()
                            .expect("a JSON object"),
                    })
                },
            );
            store.append(request).await.expect("append");
        }
    }

    let json = sagas_until(&schema, &["events", "--json"], |o| {
        stdout(o).lines().count() >= 2_500
    });
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let lines: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect();
    let numbers: Vec<u64> = lines
        .iter()
        .map(|e| e["body"]["n"].as_u64().unwrap_or(u64::MAX))
        .collect();
    assert_eq!(
        numbers,
        (0..2_500).collect::<Vec<_>>(),
        "every event once, in commit order"
    );
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["position"].as_u64() < w[1]["position"].as_u64()),
        "positions rise"
    );

    let table = sagas_until(&schema, &["events"], |o| stdout(o).lines().count() >= 2_500);
    let printed = stdout(&table);
    let headers = printed.lines().filter(|l| l.starts_with("pos ")).count();
    assert_eq!(
        headers, 3,
        "a table of at most 1,000 rows for each page read"
    );
    let bodies: Vec<u64> = printed
        .lines()
        .filter(|l| !l.starts_with("pos ") && !l.starts_with("---"))
        .map(|l| {
            let body = &l[l.find("{").expect("a body")..];
            serde_json::from_str::<serde_json::Value>(body).expect("JSON body")["n"]
                .as_u64()
                .unwrap_or(u64::MAX)
        })
        .collect();
    assert_eq!(
        bodies,
        (0..2_500).collect::<Vec<_>>(),
        "every row once, in commit order"
    );

    let one = sagas_until(
        &schema,
        &["events", "--aggregate", "gap-3", "--json"],
        |o| stdout(o).lines().count() >= 500,
    );
    let versions: Vec<u64> = stdout(&one)
        .lines()
        .map(|line| {
            let e: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            assert_eq!(e["aggregate_id"], "gap-3");
            e["version"].as_u64().unwrap_or(0)
        })
        .collect();
    assert_eq!(versions, (1..=500).collect::<Vec<_>>());
}

/// The JSON lines of `output`, each parsed.
fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect()
}

/// `(kind, schema_version, body)` of each JSON line.
fn kinds_versions_bodies(lines: &[serde_json::Value]) -> Vec<(&str, u64, serde_json::Value)> {
    lines
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("?"),
                e["schema_version"].as_u64().unwrap_or(0),
                e["body"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn events_show_each_rows_schema_version_and_with_current_read_it_as_today() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let v1 = json!({ "owner": "Ada", "initial_balance": 1_000 });
    for (aggregate_kind, id, kind, schema_version, body) in [
        ("Account", "ada", "Opened", 1, v1.clone()),
        ("Gap", "gap-1", "Tick", 3, json!({ "n": 1 })),
        // no balance: it cannot be read as an Opened of any version
        ("Account", "bad", "Opened", 1, json!({ "owner": "Bad" })),
    ] {
        let event = NewEvent::new(kind, &body)
            .expect("a JSON object")
            .schema_version(schema_version);
        let request = AppendRequest::new(aggregate_kind, id.parse().unwrap(), 0).event(event);
        store.append(request).await.expect("append");
    }

    let stored = sagas_until(&schema, &["events", "--json"], |o| {
        stdout(o).lines().count() >= 3
    });
    assert_eq!(stored.status.code(), Some(0), "{}", stderr(&stored));
    let lines = json_lines(&stored);
    assert_eq!(
        kinds_versions_bodies(&lines),
        [
            ("Opened", 1, v1.clone()),
            ("Tick", 3, json!({ "n": 1 })),
            ("Opened", 1, json!({ "owner": "Bad" })),
        ],
        "as stored: {lines:?}"
    );
    let table = sagas_in(&schema, &["events"]);
    let rows = table_rows(&stdout(&table));
    assert_eq!(
        rows[0][1..5],
        ["Account/ada", "1", "Opened", "1"],
        "{}",
        stdout(&table)
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rows[0][5]).expect("a JSON body"),
        v1
    );

    let current = sagas_in(&schema, &["events", "--current", "--json"]);
    assert_eq!(current.status.code(), Some(0), "{}", stderr(&current));
    let lines = json_lines(&current);
    assert_eq!(
        kinds_versions_bodies(&lines),
        [
            (
                "Opened",
                2,
                json!({ "holder": "Ada", "opening_balance": 1_000 })
            ),
            ("Tick", 3, json!({ "n": 1 })),
        ],
        "the account's row as the application reads it, the Gap row as stored: {lines:?}"
    );
    assert_eq!(
        (&lines[0]["aggregate_id"], &lines[0]["version"]),
        (&json!("ada"), &json!(1)),
        "the row's stream and version"
    );
    assert!(
        stderr(&current).contains(r#"Account "bad" at version 1"#)
            && stderr(&current).contains("initial_balance"),
        "the row that cannot be read is named, and why: {}",
        stderr(&current)
    );
    let table = sagas_in(&schema, &["events", "--current"]);
    let rows = table_rows(&stdout(&table));
    assert_eq!(
        rows.iter().map(|r| r[1..].to_vec()).collect::<Vec<_>>(),
        [
            [
                "Account/ada",
                "1",
                "Opened",
                "2",
                r#"{"holder":"Ada","opening_balance":1000}"#
            ],
            ["Gap/gap-1", "1", "Tick", "3", r#"{"n": 1}"#],
        ],
        "{}",
        stdout(&table)
    );
}

#[tokio::test]
async fn the_demo_runs_on_postgres_and_keeps_the_money() {
    let url = database_url();
    let demo = sagas(&["demo", "--database-url", &url], None);
    assert_eq!(demo.status.code(), Some(0), "{}", stderr(&demo));
    let text = stdout(&demo);
    assert!(text.contains("already applied: nothing written"), "{text}");
    let store = PgEventStore::connect(&url, PgStoreOptions::default().schema("sagas_demo"))
        .await
        .expect("the demo's schema");
    let repo = Repository::new(store);
    let mut balances = Vec::new();
    for id in ["alice", "bob", "carol", "dave"] {
        balances.push(repo.load::<Account>(id).await.expect("load").state.balance);
    }
    assert_eq!(balances, [7_000, 158_000, 2_000, 350_000]);
    assert!(text.contains("t-5: refunded 2000.00 to dave"), "{text}");
}

#[tokio::test]
async fn the_demo_runs_on_jetstream_and_keeps_the_money() {
    let url = eventstore_tests::nats_server::shared_url();
    let demo = sagas(&["demo", "--store", &url], None);
    assert_eq!(
        demo.status.code(),
        Some(0),
        "{}; {}",
        stderr(&demo),
        eventstore_tests::nats_server::HOW_TO_PROVIDE_NATS
    );
    let text = stdout(&demo);
    assert!(text.contains("already applied: nothing written"), "{text}");
    let options = eventstore_nats::NatsOptions::new(url)
        .stream("SAGAS_DEMO")
        .prefix("sagas_demo");
    let store = eventstore_nats::NatsStore::connect(options)
        .await
        .expect("the demo's stream");
    let repo = Repository::new(store);
    let mut balances = Vec::new();
    for id in ["alice", "bob", "carol", "dave"] {
        balances.push(repo.load::<Account>(id).await.expect("load").state.balance);
    }
    assert_eq!(balances, [7_000, 158_000, 2_000, 350_000]);
    assert!(text.contains("t-5: refunded 2000.00 to dave"), "{text}");
}

#[tokio::test]
async fn events_json_prints_a_body_that_serde_cannot_hold_as_a_value_and_does_not_panic() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let request = AppendRequest::new("Odd", "odd-1".parse().unwrap(), 0).event(NewEvent {
        kind: "Tick".into(),
        schema_version: 1,
        body: serde_json::json!({ "n": 1 })
            .try_into()
            .expect("a JSON object"),
    });
    store.append(request).await.expect("append");
    // jsonb holds 1e400 (a numeric, printed as 401 digits); serde_json
    // reads no value from it
    sqlx::query(&format!(
        "UPDATE \"{schema}\".events SET body = '{{\"n\": 1e400}}'::jsonb"
    ))
    .execute(store.pool())
    .await
    .expect("write the odd body");

    let json = sagas_in(&schema, &["events", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let lines: Vec<String> = stdout(&json).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(r#""body":{{"n": 1{}}}"#, "0".repeat(400))),
        "the body as the store holds it: {}",
        lines[0]
    );
    assert!(
        lines[0].contains(r#""kind":"Tick""#) && lines[0].contains(r#""version":1"#),
        "{}",
        lines[0]
    );
    let table = sagas_in(&schema, &["events"]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
}

/// `status --json`'s `saga.deadlines`, once the command succeeded.
fn deadlines_of(schema: &str) -> serde_json::Value {
    let status = sagas_in(schema, &["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    json["saga"]["deadlines"].clone()
}

/// Records what the saga records once `id`'s withdrawal is done, with no
/// worker running: the debit and the approval request, due its approval
/// timeout from now.
async fn withdrawn_awaiting(repo: &Repository<PgEventStore>, id: &str) -> SystemTime {
    let now = SystemTime::now();
    let mut due = now;
    let request = |t: &Transfer| -> Decision {
        let timeout = Duration::from_secs(t.approval_timeout_secs.expect("needs an approval"));
        due = now + timeout;
        Ok(vec![
            TransferDebited {}.into(),
            ApprovalRequested {
                due_micros: Deadline::after(APPROVAL, now, timeout).due_micros(),
            }
            .into(),
        ])
    };
    let outcome = repo
        .execute(id, Options::default(), request)
        .await
        .expect("execute");
    assert!(matches!(outcome, Outcome::Done(_)), "{id}: {outcome:?}");
    due
}

#[tokio::test]
async fn approvals_wait_exit_as_scripts_expect_and_status_shows_their_deadlines() {
    let store = fresh_store().await;
    let schema = store.schema().to_owned();
    let repo = Repository::new(store.clone());
    let run = |args: &[&str]| sagas_in(&schema, args);

    let big = run(&[
        "transfer",
        "start",
        "ada",
        "bob",
        "1500",
        "--id",
        "big",
        "--approval-timeout",
        "1s",
    ]);
    assert_eq!(
        (big.status.code(), stdout(&big).trim()),
        (
            Some(0),
            "big: started, ada -> bob 1500.00; above 1000.00, it waits for `sagas transfer \
             approve big` (or reject) for 1 s once withdrawn"
        ),
        "{}",
        stderr(&big)
    );
    let later = run(&[
        "transfer",
        "start",
        "ada",
        "bob",
        "20",
        "--id",
        "later",
        "--approval-limit",
        "10",
    ]);
    assert!(
        stdout(&later).contains("above 10.00, it waits") && stdout(&later).contains("for 600 s"),
        "the default timeout is 10m: {}",
        stdout(&later)
    );
    let small = run(&["transfer", "start", "ada", "bob", "5", "--id", "small"]);
    assert_eq!(
        (small.status.code(), stdout(&small).trim()),
        (Some(0), "small: started, ada -> bob 5.00"),
        "at or below the limit it waits for nobody"
    );

    // not awaiting approval (no worker withdrew yet): refused, exit 1
    for (args, said) in [
        (
            &["transfer", "approve", "small"][..],
            "error: small: the transfer is started, not awaiting approval",
        ),
        (
            &["transfer", "reject", "big", "--reason", "no"],
            "error: big: the transfer is started, not awaiting approval",
        ),
        (
            &["transfer", "approve", "nobody"],
            "error: nobody: the transfer is new, not awaiting approval",
        ),
    ] {
        let refused = run(args);
        assert_eq!(
            (refused.status.code(), stderr(&refused).trim()),
            (Some(1), said),
            "{args:?}"
        );
    }

    // withdrawn as the saga would, with no worker to fire what comes due;
    // the deadlines kept as its reconcile keeps them
    let due = withdrawn_awaiting(&repo, "big").await;
    withdrawn_awaiting(&repo, "later").await;
    let kept = TransferSaga::new(repo.clone())
        .rebuild_deadlines()
        .await
        .expect("keep the deadlines");
    assert_eq!(kept, 2, "big and later list their approval deadline");
    let shown = run(&["transfer", "show", "big"]);
    assert!(
        stdout(&shown).contains("waits for `sagas transfer approve big` (or reject) until "),
        "{}",
        stdout(&shown)
    );
    let deadlines = deadlines_of(&schema);
    assert_eq!(deadlines["pending"], 2, "{deadlines}");

    // past big's due time (1 s), bounded: overdue, with how late
    let waited = Instant::now();
    while SystemTime::now() < due + Duration::from_millis(500) {
        assert!(waited.elapsed() < Duration::from_secs(5), "the clock stood");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadlines = deadlines_of(&schema);
    let late = deadlines["most_overdue"][0]["late_seconds"]
        .as_f64()
        .unwrap_or_default();
    assert_eq!(
        (
            &deadlines["pending"],
            &deadlines["overdue"],
            &deadlines["most_overdue"][0]["transfer"],
            &deadlines["most_overdue"][0]["deadline"],
        ),
        (&json!(2), &json!(1), &json!("big"), &json!("approval")),
        "{deadlines}"
    );
    assert!((0.5..60.0).contains(&late), "late {late} s: {deadlines}");
    let human = run(&["status"]);
    assert!(
        stdout(&human).contains("deadlines: 2 pending, the next due ")
            && stdout(&human).contains("; 1 overdue"),
        "{}",
        stdout(&human)
    );

    // awaiting (overdue, but not fired: no worker runs): decided by the
    // operator, once
    let approved = run(&["transfer", "approve", "big"]);
    assert_eq!(
        (approved.status.code(), stdout(&approved).trim()),
        (Some(0), "big: approved: the money goes on"),
        "{}",
        stderr(&approved)
    );
    let again = run(&["transfer", "reject", "big"]);
    assert_eq!(
        (again.status.code(), stderr(&again).trim()),
        (
            Some(1),
            "error: big: the transfer is approved, not awaiting approval"
        )
    );
    let rejected = run(&["transfer", "reject", "later", "--reason", "too much"]);
    assert_eq!(
        (rejected.status.code(), stdout(&rejected).trim()),
        (Some(0), "later: rejected: the money goes back"),
        "{}",
        stderr(&rejected)
    );
    let shown = run(&["transfer", "show", "later", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(
        (
            &json["status"],
            &json["failure"],
            &json["approval_due_micros"]
        ),
        (
            &json!("rejected"),
            &json!("rejected: too much"),
            &json!(null)
        )
    );
}

#[test]
fn an_approval_timeout_that_is_not_a_positive_duration_is_a_usage_error_naming_it() {
    // refused before connecting: nothing listens on port 1
    let nowhere = Some("postgres://postgres@127.0.0.1:1/postgres");
    for (value, says) in [
        ("0", r#""0" is not a positive duration"#),
        ("0m", r#""0m" is not a positive duration"#),
        ("10x", r#""10x": the unit must be s, m, h or d"#),
        ("1.5h", r#""1.5h": the unit must be s, m, h or d"#),
        ("m", r#""m" is not a positive duration"#),
        (
            "99999999999999999d",
            r#""99999999999999999d" is not a positive duration"#,
        ),
    ] {
        let args = [
            "transfer",
            "start",
            "ada",
            "bob",
            "1500",
            "--approval-timeout",
            value,
        ];
        assert_usage_error(&sagas(&args, nowhere), &args, says);
    }
}

/// `sagas` with `--store nats://...` on the shared NATS server, in `stream`.
fn sagas_on_jetstream(stream: &str, args: &[&str]) -> Output {
    let url = eventstore_tests::nats_server::shared_url();
    let mut all = args.to_vec();
    all.extend(["--store", url.as_str(), "--stream", stream]);
    sagas(&all, None)
}

/// Kills the worker it holds when dropped, also when the test fails.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn accounts_transfers_and_the_worker_run_on_jetstream() {
    let stream = eventstore_tests::nats::test_stream_name();
    let run = |args: &[&str]| sagas_on_jetstream(&stream, args);
    for (id, owner) in [("ada", "Ada"), ("bob", "Bob")] {
        let opened = run(&["account", "open", id, "--owner", owner, "--balance", "100"]);
        assert_eq!(
            opened.status.code(),
            Some(0),
            "{}; {}",
            stderr(&opened),
            eventstore_tests::nats_server::HOW_TO_PROVIDE_NATS
        );
    }
    let url = eventstore_tests::nats_server::shared_url();
    let _worker = Worker(
        Command::new(env!("CARGO_BIN_EXE_sagas_process"))
            .args(["worker", "--store", url.as_str(), "--stream", &stream])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start a worker"),
    );
    let done = run(&[
        "transfer", "start", "ada", "bob", "30", "--id", "t1", "--wait",
    ]);
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let refused = run(&[
        "transfer", "start", "bob", "ada", "500", "--id", "t2", "--wait",
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let balance = |id: &str| {
        let shown = run(&["account", "show", id, "--json"]);
        assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
        serde_json::from_str::<serde_json::Value>(&stdout(&shown)).expect("json")["balance"].clone()
    };
    assert_eq!(
        (balance("ada"), balance("bob")),
        (json!(7_000), json!(13_000))
    );
    let shown = run(&["transfer", "show", "t2", "--json"]);
    let t2: serde_json::Value = serde_json::from_str(&stdout(&shown)).expect("json");
    assert_eq!(t2["status"], json!("failed"), "{t2}");
    // the SQL commands say where they run
    let status = run(&["status"]);
    assert_usage_error(&status, &["status"], "cannot run on nats://");
    // the stream is named as a test stream: later test stores delete it
    // and its buckets once it is an hour old, as they do every test's
}
