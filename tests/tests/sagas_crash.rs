//! The crash tests: transfers among accounts (some overdrawing, some to
//! frozen accounts) while `sagas worker` processes run and are killed with
//! SIGKILL at random moments, or paused with SIGSTOP past their lease
//! (another worker takes their partitions over) and resumed with SIGCONT
//! while money keeps arriving on the accounts. After the work drains, the
//! books must add up: every transfer settled, no money made or lost, each
//! transfer's withdrawal, deposit and refund recorded exactly as its
//! outcome says, once.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventstore_core::{EventId, Options, Outcome, Repository};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use eventstore_tests::dice::Dice;
use eventstore_tests::postgres::database_url;
use eventstore_tests::scenario::Scenario;
use sagas_examples::account::Account;

const ACCOUNTS: usize = 50;
const TRANSFERS: usize = 1_000;
const WORKERS: usize = 2;
const KILLS: usize = 5;
/// How many times a worker is paused past its lease.
const PAUSES: usize = 10;
/// The workers' lease, as `worker` starts them.
const LEASE: Duration = Duration::from_millis(1_000);
/// How long the running worker may take to hold every partition once the
/// paused one's lease ran out ("another takes over within seconds").
const TAKEOVER: Duration = Duration::from_secs(10);
/// The partitions `worker` starts the saga with.
const PARTITIONS: i64 = 4;
const LIMIT: Duration = Duration::from_secs(180);

/// A `sagas worker` process on `schema`, with leases of [`LEASE`].
fn worker(url: &str, schema: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sagas_process"))
        .args([
            "worker",
            "--schema",
            schema,
            "--partitions",
            &PARTITIONS.to_string(),
            "--lease-ttl-ms",
            &LEASE.as_millis().to_string(),
        ])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a sagas worker")
}

/// A fresh schema named after `prefix`, its store's repository, and the
/// scenario's accounts opened in it.
async fn set_up(prefix: &str) -> (String, String, Repository<PgEventStore>, Scenario) {
    let url = database_url();
    let schema = format!("{prefix}_{}", EventId::new());
    let options = PgStoreOptions::default().schema(&schema).max_connections(8);
    let store = PgEventStore::connect(&url, options).await.expect("connect");
    store.migrate().await.expect("migrate");
    let repo = Repository::new(store).max_attempts(100);
    let scenario = Scenario::new(ACCOUNTS, TRANSFERS);
    scenario.open_accounts(&repo).await.expect("accounts");
    (url, schema, repo, scenario)
}

async fn drop_schema(repo: &Repository<PgEventStore>, schema: &str) {
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(repo.store().pool())
        .await
        .expect("drop the test schema");
}

/// Whether one owner holds a running lease on every partition of the
/// transfer saga.
async fn one_owner_holds_every_partition(repo: &Repository<PgEventStore>, schema: &str) -> bool {
    let (owners, partitions): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(DISTINCT owner), count(*) FROM \"{schema}\".leases \
         WHERE reactor = 'transfer-saga' AND expires_at > clock_timestamp()"
    ))
    .fetch_one(repo.store().pool())
    .await
    .expect("read the leases");
    owners == 1 && partitions == PARTITIONS
}

/// Sends `signal` (`STOP` or `CONT`) to `child`.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {} failed", child.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_add_up_when_workers_are_killed_at_random() {
    let (url, schema, repo, scenario) = set_up("crash").await;

    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&url, &schema)).collect();
    let starter = tokio::spawn({
        let (repo, scenario) = (repo.clone(), scenario.clone());
        async move { scenario.start_transfers(&repo).await }
    });
    let mut dice = Dice::new(0x2545_F491_4F6C_DD1D);
    let started = Instant::now();
    let mut kills = 0;
    while kills < KILLS {
        assert!(
            started.elapsed() < LIMIT,
            "only {kills} kills within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200 + dice.roll(600))).await;
        let victim = usize::try_from(dice.roll(WORKERS as u64)).expect("index");
        workers[victim].kill().expect("SIGKILL a worker");
        let _ = workers[victim].wait();
        workers[victim] = worker(&url, &schema);
        kills += 1;
    }
    starter
        .await
        .expect("starter")
        .expect("every transfer started");
    let settled = scenario
        .wait_settled(&repo, LIMIT.saturating_sub(started.elapsed()))
        .await;
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    settled.expect("every transfer settled");
    let [completed, refused, refunded] = scenario.check(&repo).await.expect("the books add up");
    println!(
        "{TRANSFERS} transfers, {KILLS} workers killed: {completed} completed, {refused} refused, \
         {refunded} refunded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop_schema(&repo, &schema).await;
}

/// Issue 16, item 6: a worker paused (SIGSTOP) until the other has taken
/// every partition over (checked in the lease table) and up to a second
/// more, then resumed (SIGCONT) to
/// finish what it was doing as a stale runner, [`PAUSES`] times over
/// [`TRANSFERS`] transfers, while deposits of their own keep arriving on
/// the accounts. The books must add up with what arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_add_up_when_workers_stall_past_their_lease_while_money_arrives() {
    let (url, schema, repo, scenario) = set_up("stall").await;
    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&url, &schema)).collect();
    let starter = tokio::spawn({
        let (repo, scenario) = (repo.clone(), scenario.clone());
        async move { scenario.start_transfers(&repo).await }
    });
    let (arrived, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let arrivals = tokio::spawn({
        let (repo, scenario) = (repo.clone(), scenario.clone());
        let (arrived, stop) = (arrived.clone(), stop.clone());
        async move {
            let mut dice = Dice::new(0x9E37_79B9_7F4A_7C15);
            let mut count = 0_u64;
            // bounded: at most one deposit every 20 ms until told to stop
            while !stop.load(Ordering::Relaxed) && count < 10_000 {
                let index = usize::try_from(dice.roll(ACCOUNTS as u64)).expect("index");
                let account = &scenario.accounts[index].0;
                let key = format!("arrival-{count}");
                let amount = 1_00 + dice.roll(5) * 1_00;
                let outcome = repo
                    .execute(account, Options::idempotent(&key), |a: &Account| {
                        a.deposit(amount, &key)
                    })
                    .await
                    .expect("a deposit runs");
                if matches!(outcome, Outcome::Done(_)) {
                    arrived.fetch_add(amount, Ordering::Relaxed);
                }
                count += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            count
        }
    });
    let mut dice = Dice::new(0x2545_F491_4F6C_DD1D);
    let started = Instant::now();
    for pause in 0..PAUSES {
        assert!(
            started.elapsed() < LIMIT,
            "only {pause} pauses within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200 + dice.roll(400))).await;
        let victim = &workers[usize::try_from(dice.roll(WORKERS as u64)).expect("index")];
        signal(victim, "STOP");
        // past the paused worker's last renewal, only the other can hold
        // a running lease: wait (bounded) until it holds every partition
        tokio::time::sleep(LEASE).await;
        let stopped = Instant::now();
        while !one_owner_holds_every_partition(&repo, &schema).await {
            assert!(
                stopped.elapsed() < TAKEOVER,
                "pause {pause}: the running worker did not take every partition over within \
                 {TAKEOVER:?} after the paused one's lease ran out"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(dice.roll(1_000))).await;
        signal(victim, "CONT");
    }
    starter
        .await
        .expect("starter")
        .expect("every transfer started");
    stop.store(true, Ordering::Relaxed);
    let deposits = arrivals.await.expect("arrivals");
    let settled = scenario
        .wait_settled(&repo, LIMIT.saturating_sub(started.elapsed()))
        .await;
    for mut w in workers.drain(..) {
        let _ = w.kill();
        let _ = w.wait();
    }
    settled.expect("every transfer settled");
    let arrived = arrived.load(Ordering::Relaxed);
    assert!(
        arrived > 0,
        "money arrived during the run ({deposits} deposits tried)"
    );
    let [completed, refused, refunded] = scenario
        .check_with_arrivals(&repo, arrived)
        .await
        .expect("the books add up");
    println!(
        "{TRANSFERS} transfers, {PAUSES} workers paused past their lease, {deposits} deposits \
         ({arrived} arrived): {completed} completed, {refused} refused, {refunded} refunded in \
         {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop_schema(&repo, &schema).await;
}
