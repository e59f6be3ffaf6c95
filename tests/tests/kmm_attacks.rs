//! The kmm server and program under attack: hostile payloads sent straight
//! to its subjects, values too long to echo, retries racing each other on
//! JetStream, and a ledger longer than one page.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::{EventId, MemoryStore, SharedClock, SystemClock};
use eventstore_tests::kmm::InProcessServer;
use eventstore_tests::nats_server::{HOW_TO_PROVIDE_NATS, shared_url};
use sagas_examples::kmm::protocol::{
    Done, ERROR_KIND_HEADER, LedgerPage, LedgerReply, MoveMoney, service_subject,
};
use sagas_examples::kmm::server::{ServeOptions, serve};
use sagas_examples::kmm::{Amount, ClientError, KmmClient, RunningFrom};

fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

fn move_money(account: &str, cents: u64, description: &str, id: Option<&str>) -> MoveMoney {
    MoveMoney {
        account: account.to_owned(),
        amount: Amount(cents),
        description: description.to_owned(),
        request_id: id.map(str::to_owned),
    }
}

/// `kmm ledger` prints every entry of a ledger longer than the server's
/// page of 500 events: the program asks for the next page after
/// `more_after`, also when the page's last event is an entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_longer_than_a_page_is_printed_whole() {
    let server = InProcessServer::start(MemoryStore::new(), system_clock()).await;
    let client = server.client().await;
    for i in 0..501 {
        let _: Done = client
            .call("deposit", &move_money("ada", 1, &format!("d{i}"), None))
            .await
            .expect("a deposit");
    }
    let root = server.root.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_kmm_process"))
            .args(["--nats", &shared_url(), "--root", &root, "ledger", "ada"])
            .env("RUST_LOG", "error")
            .output()
            .expect("run kmm")
    })
    .await
    .expect("kmm ran");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 501, "the last lines: {:?}", lines.last());
    assert!(lines[500].ends_with("| d500"), "{}", lines[500]);
    server.stop().await;
}

/// A refusal that names a long value (a description far over 200
/// characters, made of characters the message escapes) still reaches the
/// client as a typed refusal, rather than a reply too large for NATS that
/// the client never gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_naming_a_huge_value_still_reaches_the_client() {
    let server = InProcessServer::start(MemoryStore::new(), system_clock()).await;
    let client = server.client().await;
    let _: Done = client
        .call("deposit", &move_money("ada", 100, "", None))
        .await
        .expect("a deposit");
    // 300,000 zero-width spaces: 900 kB as JSON, far more escaped
    let description = "\u{200b}".repeat(300_000);
    let started = Instant::now();
    let refused = client
        .call::<_, Done>("withdraw", &move_money("ada", 1, &description, None))
        .await;
    match refused {
        Err(ClientError::Refused { kind, message }) => {
            assert_eq!(kind, "bad_description");
            assert!(message.len() < 64 * 1024, "{} bytes", message.len());
        }
        other => panic!(
            "after {:?}: expected a bad_description refusal, got {other:?}",
            started.elapsed()
        ),
    }
    server.stop().await;
}

/// A value with a line break sent straight to an endpoint (a period,
/// which serde names as it is in its error) is refused as a bad request,
/// and the endpoint goes on answering: the error's message goes in a
/// header, which cannot hold a line break.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_break_in_a_request_is_refused_and_the_endpoint_goes_on() {
    let server = InProcessServer::start(MemoryStore::new(), system_clock()).await;
    let nats = async_nats::ConnectOptions::new()
        .request_timeout(Some(Duration::from_secs(8)))
        .connect(shared_url())
        .await
        .expect("NATS");
    let subject = service_subject(&server.root, "set-budget");
    let hostile = serde_json::json!({
        "account": "ada",
        "max": 1000,
        "period": "daily\r\nKmm-Error: none",
        "time_zone": "UTC",
    });
    let reply = nats
        .request(subject.clone(), hostile.to_string().into())
        .await
        .expect("a reply to the hostile request");
    let headers = reply.headers.expect("an error reply has headers");
    assert_eq!(
        headers
            .get(ERROR_KIND_HEADER)
            .map(|v| v.as_str().to_owned()),
        Some("bad_request".to_owned())
    );
    // the endpoint still answers
    let client = server.client().await;
    let _: Done = client
        .call("deposit", &move_money("ada", 100, "", None))
        .await
        .expect("a deposit");
    let fine = serde_json::json!({
        "account": "ada",
        "max": 1000,
        "period": "daily",
        "time_zone": "UTC",
    });
    let reply = nats
        .request(subject, fine.to_string().into())
        .await
        .expect("set-budget still answers");
    let done: Done = serde_json::from_slice(&reply.payload).expect("a Done reply");
    assert!(!done.already_applied);
    server.stop().await;
}

/// Requests retried at once under one request id on JetStream: one
/// applies, and every reply, the retries' too, tells the balance after
/// it (a retry that says "already applied" with the balance from before
/// would tell the parent the money is still there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_racing_on_jetstream_apply_once_and_tell_the_balance_after() {
    let store = eventstore_tests::nats::fresh_store().await;
    let server = InProcessServer::start(store, system_clock()).await;
    let client = server.client().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    for round in 0..5 {
        assert!(Instant::now() < deadline, "out of time at round {round}");
        let account = format!("kid-{round}");
        let _: Done = client
            .call("deposit", &move_money(&account, 10_000, "", None))
            .await
            .expect("a deposit");
        let id = format!("pay-{round}");
        let retries = (0..20).map(|_| {
            let client = client.clone();
            let request = move_money(&account, 3_000, "", Some(&id));
            async move { client.call::<_, Done>("withdraw", &request).await }
        });
        let replies = futures_util::future::join_all(retries).await;
        let mut applied = 0;
        for reply in replies {
            let done = reply.expect("a reply");
            applied += usize::from(!done.already_applied);
            assert_eq!(done.balance, Amount(7_000), "round {round}: {done:?}");
        }
        assert_eq!(applied, 1, "round {round}");
        let balance: sagas_examples::kmm::protocol::Balance = client
            .call(
                "balance",
                &sagas_examples::kmm::protocol::OfAccount {
                    account: account.clone(),
                    request_id: None,
                },
            )
            .await
            .expect("a balance");
        assert_eq!(balance.balance, Amount(7_000));
    }
    server.stop().await;
}

/// A server whose clock has run past the calendar's end (year 9999)
/// records nothing at a made-up time: a deposit is not written as made in
/// 1970.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_past_the_calendar_writes_nothing_at_a_made_up_time() {
    // 9999-12-31T23:59:59Z, jiff's last second
    let last_second: i64 = 253_402_300_799;
    let start = SystemTime::UNIX_EPOCH
        + Duration::from_secs(last_second.unsigned_abs())
        + Duration::from_secs(3600);
    let server =
        InProcessServer::start(MemoryStore::new(), Arc::new(RunningFrom::new(start))).await;
    let client = server.client().await;
    let deposited = client
        .call::<_, Done>("deposit", &move_money("ada", 100, "", None))
        .await;
    let ledger: Result<LedgerReply, _> = client
        .call(
            "ledger",
            &LedgerPage {
                account: "ada".to_owned(),
                after: 0,
            },
        )
        .await;
    if let Ok(ledger) = ledger {
        for entry in &ledger.entries {
            assert!(
                entry.at.as_second() >= last_second,
                "deposited as {deposited:?} at {}",
                entry.at
            );
        }
    }
    server.stop().await;
}

/// A ledger page asked after a version PostgreSQL cannot hold is a bad
/// request (400, naming the value), not a failure of the store (500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_page_after_a_version_beyond_bigint_is_a_bad_request() {
    let store = eventstore_tests::postgres::fresh_store().await;
    let server = InProcessServer::start(store, system_clock()).await;
    let client = server.client().await;
    let _: Done = client
        .call("deposit", &move_money("ada", 100, "", None))
        .await
        .expect("a deposit");
    let page = client
        .call::<_, LedgerReply>(
            "ledger",
            &LedgerPage {
                account: "ada".to_owned(),
                after: u64::MAX,
            },
        )
        .await;
    match page {
        Err(ClientError::Refused { kind, message }) => {
            assert_eq!(kind, "bad_request");
            assert!(message.contains(&u64::MAX.to_string()), "{message}");
        }
        other => panic!("expected a bad request, got {other:?}"),
    }
    server.stop().await;
}

/// Every deposit the server answers is published on the ledger's subject,
/// also one made while the server is starting, before the publisher first
/// looked at the store (it starts from the beginning of a store it never
/// ran on, not from its end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_made_while_the_server_starts_are_published() {
    use futures_util::StreamExt;

    let store = eventstore_tests::nats::fresh_store().await;
    let root = format!("kmmtest_{}", EventId::new());
    let nats = async_nats::connect(shared_url())
        .await
        .unwrap_or_else(|e| panic!("{e}; {HOW_TO_PROVIDE_NATS}"));
    let mut published = nats
        .subscribe(format!("{root}.streams.ledger.ada"))
        .await
        .expect("a subscription");
    nats.flush().await.expect("flushed");
    let client = KmmClient::connect(&shared_url(), &root)
        .await
        .expect("a client");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        root: root.clone(),
        store_timeout: Duration::from_secs(5),
        clock: system_clock(),
    };
    let server_nats = nats.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        serve(server_nats, store, options, || {}, shutdown)
            .await
            .map_err(|e| e.to_string())
    });
    // deposits as fast as they are answered, from before the server
    // listens, until 20 are done
    let mut done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while done.len() < 20 && Instant::now() < deadline {
        match client
            .call::<_, Done>("deposit", &move_money("ada", 1, "", None))
            .await
        {
            Ok(reply) => done.push(reply.balance.0),
            Err(ClientError::NotRunning { .. }) => tokio::task::yield_now().await,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(done.len(), 20, "20 deposits within 20 s");
    let mut versions = Vec::new();
    let seen_by = Instant::now() + Duration::from_secs(10);
    while versions.len() < 20 {
        let left = seen_by.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, published.next()).await {
            Ok(Some(message)) => {
                let entry: sagas_examples::kmm::protocol::LedgerEntry =
                    serde_json::from_slice(&message.payload).expect("an entry");
                versions.push(entry.version);
            }
            _ => break,
        }
    }
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions, (1..=20).collect::<Vec<u64>>());
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
}
