//! The `kmm` program as its users run it: a server process (`kmm serve`)
//! on JetStream or PostgreSQL, and client processes that talk to it over
//! NATS, replaying a session like the original kmm's demo; what a client
//! says when no server runs; `ledger --follow`; request ids sent twice at
//! once; the NATS service API's discovery and stats.

#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in cents are written units_cents: 100_00 is 100.00"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use eventstore_core::EventId;
use eventstore_tests::nats_server::{HOW_TO_PROVIDE_NATS, shared_url};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// The time the servers' clocks start at: a minute starts there, so the
/// session's withdrawals fall in one minute unless it takes a minute.
const CLOCK_START: &str = "2026-11-29T10:00:00Z";

/// How long a test waits for a line a process should print.
const LINE_WAIT: Duration = Duration::from_secs(30);

/// A subject root of its own for one test, so that tests running at once
/// never answer each other's requests.
fn fresh_root() -> String {
    format!("kmmtest_{}", EventId::new())
}

/// A `kmm` server process, killed when dropped (also when the test fails).
struct Server {
    child: Child,
    root: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `kmm serve` with `store_args` under a root of its own, and
    /// waits until it says it serves.
    fn start(store_args: &[&str]) -> Self {
        let root = fresh_root();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmm_process"))
            .args(["serve", "--nats", &shared_url(), "--root", &root])
            .args(["--clock-start", CLOCK_START])
            .args(store_args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kmm serve");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let first = lines.recv_timeout(LINE_WAIT);
        let mut server = Self { child, root };
        match first {
            Ok(line) if line.starts_with("kmm serving") => server,
            other => {
                let _ = server.child.kill();
                let mut stderr = String::new();
                if let Some(mut pipe) = server.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!(
                    "kmm serve did not start: {other:?}; it said: {stderr}; {HOW_TO_PROVIDE_NATS}"
                )
            }
        }
    }

    /// Runs a client command against this server.
    fn kmm(&self, args: &[&str]) -> Output {
        kmm_at(&self.root, args)
    }

    /// Runs a client command that must succeed, and returns what it printed.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let output = self.kmm(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "kmm {args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    }
}

fn kmm_at(root: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmm_process"))
        .args(["--nats", &shared_url(), "--root", root])
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run kmm")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lines `pipe` prints, as they come.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// A ledger line as `(change, description)`, its time checked to be in the
/// servers' first minute.
#[track_caller]
fn ledger_line(line: &str) -> (String, String) {
    let parts: Vec<&str> = line.split(" | ").collect();
    assert!(
        parts.len() == 3 && parts[1].starts_with("2026-11-29T10:00:") && parts[1].ends_with('Z'),
        "a ledger line: {line:?}"
    );
    (parts[0].to_owned(), parts[2].to_owned())
}

/// The original kmm's demo session: deposits, balance, a withdrawal, the
/// ledger, a minutely budget, two withdrawals in the minute, a third
/// refused, and the last budget period.
fn demo_session(server: &Server) {
    server.ok(&["deposit", "ada", "20", "grass", "mowing"]);
    server.ok(&["deposit", "ada", "10.50", "birthday"]);
    assert_eq!(server.ok(&["balance", "ada"]), "30.50\n");
    let withdrew = server.ok(&["withdraw", "ada", "7.50", "baseball cards"]);
    assert_eq!(
        withdrew,
        "withdrew 7.50 from ada; the balance of ada is 23\n"
    );
    let ledger: Vec<_> = server
        .ok(&["ledger", "ada"])
        .lines()
        .map(ledger_line)
        .collect();
    let expected = [
        ("+20", "grass mowing"),
        ("+10.50", "birthday"),
        ("-7.50", "baseball cards"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(c, d)| ((*c).to_owned(), (*d).to_owned()))
        .collect();
    assert_eq!(ledger, expected);

    // the 7.50 withdrawn this minute counts against the new budget
    server.ok(&["set-budget", "ada", "20", "minutely"]);
    server.ok(&["withdraw", "ada", "5", "comics"]);
    server.ok(&["withdraw", "ada", "5", "sweets"]);
    let refused = server.kmm(&["withdraw", "ada", "5", "more sweets"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert_eq!(
        text(&refused.stderr),
        "error: withdraw refused for ada: over budget: 17.50 of the minutely budget of 20 is \
         withdrawn in the period that ends 2026-11-29T10:01:00+00:00[UTC], so 5 more is refused\n"
    );
    assert_eq!(
        server.ok(&["last-budget-period", "ada"]),
        "period start: 2026-11-29T10:00:00+00:00[UTC]\n\
         period end: 2026-11-29T10:01:00+00:00[UTC]\n\
         withdrawals: 3\n\
         total withdrawn: 17.50\n"
    );
    // nothing of the refused one was written
    let balance: Value =
        serde_json::from_str(&server.ok(&["balance", "ada", "--json"])).expect("json");
    assert_eq!(balance, json!({ "account": "ada", "balance": 13_00 }));
    assert_eq!(server.ok(&["ledger", "ada"]).lines().count(), 5);
}

#[test]
fn the_demo_session_runs_on_jetstream() {
    let stream = eventstore_tests::nats::test_stream_name();
    let server = Server::start(&["--stream", &stream]);
    demo_session(&server);
}

#[tokio::test(flavor = "current_thread")]
async fn the_demo_session_runs_on_postgres() {
    let store = eventstore_tests::postgres::fresh_store().await;
    let url = eventstore_tests::postgres::database_url();
    let server = Server::start(&["--store", &url, "--schema", store.schema()]);
    demo_session(&server);
    // the events are in PostgreSQL
    let rows: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM \"{}\".events WHERE aggregate_id = 'ada'",
        store.schema()
    ))
    .fetch_one(store.pool())
    .await
    .expect("count events");
    assert_eq!(rows, 6, "2 deposits, 3 withdrawals, 1 budget");
}

#[test]
fn a_client_without_a_server_says_so_at_once_and_exits_with_3() {
    for (nats, says) in [
        (
            shared_url(),
            "error: no kmm server is answering on kmmtest_",
        ),
        (
            "nats://127.0.0.1:1".to_owned(),
            "error: cannot connect to NATS at nats://127.0.0.1:1",
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmm_process"))
            .args(["--nats", &nats, "--root", &fresh_root(), "balance", "ada"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kmm");
        // the client's own request timeout is 10 s: it must not wait for it
        let deadline = Instant::now() + Duration::from_secs(8);
        while child.try_wait().expect("poll").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("kmm balance on {nats} hangs instead of saying there is no server");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().expect("output");
        assert_eq!(output.status.code(), Some(3), "{nats}");
        assert!(
            text(&output.stderr).starts_with(says),
            "{}",
            text(&output.stderr)
        );
    }
}

#[test]
fn bad_values_on_the_command_line_exit_with_2_naming_them() {
    let root = fresh_root();
    for (args, says) in [
        (
            vec!["deposit", "ada", "1.234"],
            r#""1.234" is not an amount"#,
        ),
        (vec!["deposit", "ada", "-5"], "unexpected argument '-5'"),
        (vec!["withdraw", "ada", "0"], r#""0" is not an amount"#),
        (
            vec!["balance", "ada.b"],
            r#""ada.b" is not an account name"#,
        ),
        (
            vec!["set-budget", "ada", "5", "hourly"],
            r#""hourly" is not a period"#,
        ),
        (
            vec![
                "set-budget",
                "ada",
                "5",
                "daily",
                "--time-zone",
                "Mars/Olympus",
            ],
            r#""Mars/Olympus" is not a time zone"#,
        ),
        (
            vec!["deposit", "ada", "5", "--request-id", "a b"],
            r#""a b" is not a request id"#,
        ),
        (
            vec!["serve", "--store", "redis://x"],
            r#""redis://x" is not a store"#,
        ),
    ] {
        let output = kmm_at(&root, &args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains(says),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

/// Publishes `payloads` on `subject` with a client of its own.
fn publish_raw(subject: &str, payloads: &[String]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let nats = async_nats::connect(shared_url())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}; {HOW_TO_PROVIDE_NATS}"));
        for payload in payloads {
            nats.publish(subject.to_owned(), payload.clone().into())
                .await
                .expect("publish");
        }
        nats.flush().await.expect("flush");
    });
}

#[test]
fn ledger_follow_prints_each_new_entry_once_as_it_commits() {
    let server = Server::start(&["--store", "memory"]);
    server.ok(&["deposit", "bob", "1", "first"]);
    let mut follower = Command::new(env!("CARGO_BIN_EXE_kmm_process"))
        .args(["--nats", &shared_url(), "--root", &server.root])
        .args(["ledger", "bob", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the follower");
    let lines = lines_of(follower.stdout.take().expect("stdout"));
    let mut seen = vec![lines.recv_timeout(LINE_WAIT).expect("the history")];
    // on the ledger's subject: a message that is no entry, and the first
    // entry again (as a publisher that crashed before its checkpoint sends
    // it): the follower prints neither
    publish_raw(
        &format!("{}.streams.ledger.bob", server.root),
        &[
            "not an entry".to_owned(),
            json!({
                "account": "bob", "version": 1, "change": 100,
                "at": "2026-11-29T10:00:00Z", "description": "first"
            })
            .to_string(),
        ],
    );
    server.ok(&["deposit", "bob", "2", "second"]);
    // a budget event between two entries: the follower reads the gap again
    server.ok(&["set-budget", "bob", "100", "daily"]);
    server.ok(&["withdraw", "bob", "0.50", "third"]);
    server.ok(&["deposit", "bob", "3", "fourth"]);
    while seen.len() < 4 {
        match lines.recv_timeout(LINE_WAIT) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("the follower printed only {seen:?}"),
        }
    }
    // anything printed twice would come right after
    std::thread::sleep(Duration::from_millis(500));
    seen.extend(lines.try_iter());
    let _ = follower.kill();
    let _ = follower.wait();
    let seen: Vec<_> = seen.iter().map(|line| ledger_line(line)).collect();
    let expected: Vec<_> = [
        ("+1", "first"),
        ("+2", "second"),
        ("-0.50", "third"),
        ("+3", "fourth"),
    ]
    .iter()
    .map(|(c, d)| ((*c).to_owned(), (*d).to_owned()))
    .collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_request_id_sent_twice_at_once_is_applied_once() {
    let stream = eventstore_tests::nats::test_stream_name();
    let server = Server::start(&["--stream", &stream]);
    for round in 0..5 {
        let id = format!("pay-{round}");
        let clients: Vec<Child> = (0..2)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_kmm_process"))
                    .args(["--nats", &shared_url(), "--root", &server.root])
                    .args(["deposit", "cat", "5", "pocket money", "--request-id", &id])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start a client")
            })
            .collect();
        let outputs: Vec<Output> = clients
            .into_iter()
            .map(|c| c.wait_with_output().expect("output"))
            .collect();
        for output in &outputs {
            assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        }
        let again = outputs
            .iter()
            .filter(|o| text(&o.stdout).contains(&format!("request {id} was already applied")))
            .count();
        assert_eq!(again, 1, "one of the two applied it: {outputs:?}");
        // both say the balance after it, also the one that applied nothing
        let balance = format!("the balance of cat is {}\n", 5 * (round + 1));
        for output in &outputs {
            assert!(text(&output.stdout).ends_with(&balance), "{outputs:?}");
        }
    }
    assert_eq!(server.ok(&["balance", "cat"]), "25\n");
    assert_eq!(server.ok(&["ledger", "cat"]).lines().count(), 5);
}

#[tokio::test(flavor = "current_thread")]
async fn the_service_api_finds_the_endpoints_and_counts_requests_and_errors() {
    let server = Server::start(&["--store", "memory"]);
    server.ok(&["deposit", "dan", "2"]);
    server.ok(&["deposit", "dan", "3"]);
    assert_eq!(
        server.kmm(&["withdraw", "dan", "50"]).status.code(),
        Some(1)
    );

    let nats = async_nats::connect(shared_url())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}; {HOW_TO_PROVIDE_NATS}"));
    // every kmm server answers: keep the reply of this test's one
    let ours = |reply: &Value| {
        reply["endpoints"].as_array().is_some_and(|endpoints| {
            endpoints
                .iter()
                .any(|e| e["subject"] == json!(format!("{}.services.deposit", server.root)))
        })
    };
    let mut found = std::collections::BTreeMap::new();
    for kind in ["INFO", "STATS"] {
        let inbox = nats.new_inbox();
        let mut replies = nats.subscribe(inbox.clone()).await.expect("subscribe");
        nats.publish_with_reply(format!("$SRV.{kind}.kmm"), inbox, "".into())
            .await
            .expect("ask");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, replies.next()).await {
            let reply: Value = serde_json::from_slice(&message.payload).expect("json");
            if ours(&reply) {
                found.insert(kind, reply);
                break;
            }
        }
    }
    let info = found.get("INFO").expect("this server's $SRV.INFO reply");
    let mut subjects: Vec<String> = info["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| e["subject"].as_str().expect("subject").to_owned())
        .collect();
    subjects.sort();
    let expected: Vec<String> = [
        "balance",
        "deposit",
        "last-budget-period",
        "ledger",
        "remove-budget",
        "set-budget",
        "withdraw",
    ]
    .iter()
    .map(|e| format!("{}.services.{e}", server.root))
    .collect();
    assert_eq!(subjects, expected);
    let stats = found.get("STATS").expect("this server's $SRV.STATS reply");
    let of = |name: &str| {
        stats["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .find(|e| e["name"] == json!(name))
            .cloned()
            .unwrap_or_else(|| panic!("no stats of {name}: {stats}"))
    };
    assert_eq!(
        (
            of("deposit")["num_requests"].clone(),
            of("deposit")["num_errors"].clone()
        ),
        (json!(2), json!(0))
    );
    assert_eq!(
        (
            of("withdraw")["num_requests"].clone(),
            of("withdraw")["num_errors"].clone()
        ),
        (json!(1), json!(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_left_unanswered_says_how_to_retry_it_and_the_retry_applies_once() {
    let store = eventstore_tests::postgres::fresh_store().await;
    let url = eventstore_tests::postgres::database_url();
    let server = Server::start(&[
        "--store",
        &url,
        "--schema",
        store.schema(),
        "--store-timeout",
        "1",
    ]);
    server.ok(&["deposit", "hal", "1"]);
    // another session holds the events table: the server's store hangs
    let mut blocker = store.pool().begin().await.expect("begin");
    sqlx::query(&format!(
        "LOCK TABLE \"{}\".events IN ACCESS EXCLUSIVE MODE",
        store.schema()
    ))
    .execute(&mut *blocker)
    .await
    .expect("lock the events");
    let stuck = server.kmm(&["deposit", "hal", "5", "chores"]);
    blocker.rollback().await.expect("release the lock");
    assert_eq!(stuck.status.code(), Some(3), "{}", text(&stuck.stdout));
    let said = text(&stuck.stderr);
    let hint = "the deposit may have been applied: to apply it at most once, run the same \
                command again with --request-id ";
    let Some((_, id)) = said.split_once(hint) else {
        panic!("no retry hint in {said:?}");
    };
    let id = id.trim();
    assert!(
        said.contains("the store did not answer within 1s"),
        "{said}"
    );
    for _ in 0..2 {
        server.ok(&["deposit", "hal", "5", "chores", "--request-id", id]);
    }
    assert_eq!(server.ok(&["balance", "hal"]), "6\n");
}

#[test]
fn the_server_stops_on_sigterm_and_exits_with_0() {
    let mut server = Server::start(&["--store", "memory"]);
    server.ok(&["deposit", "ida", "1"]);
    let sent = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("poll") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "kmm serve still runs 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_command_no_server_heard_says_it_was_not_applied() {
    // NATS answers "no responders" only when nothing listens: the deposit
    // reached no server, so no retry hint is due
    let output = Command::new(env!("CARGO_BIN_EXE_kmm_process"))
        .args(["--nats", &shared_url(), "--root", &fresh_root()])
        .args(["deposit", "ada", "5", "--request-id", "r1"])
        .output()
        .expect("run kmm");
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{said}");
    assert!(
        said.starts_with("error: no kmm server is answering on kmmtest_"),
        "{said}"
    );
    assert!(!said.contains("may have been applied"), "{said}");
}
