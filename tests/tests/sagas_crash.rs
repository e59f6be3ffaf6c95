//! The crash test: transfers among accounts (some overdrawing, some to
//! frozen accounts) while `sagas worker` processes run and are killed with
//! SIGKILL at random moments. After the work drains, the books must add up:
//! every transfer settled, no money made or lost, each transfer's
//! withdrawal, deposit and refund recorded exactly as its outcome says,
//! once.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventstore_core::{EventId, Repository};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use eventstore_tests::dice::Dice;
use eventstore_tests::postgres::database_url;
use sagas_examples::scenario::Scenario;

const ACCOUNTS: usize = 50;
const TRANSFERS: usize = 1_000;
const WORKERS: usize = 2;
const KILLS: usize = 5;
const LIMIT: Duration = Duration::from_secs(180);

/// A `sagas worker` process on `schema`, with 1 s leases.
fn worker(url: &str, schema: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sagas_process"))
        .args([
            "worker",
            "--schema",
            schema,
            "--partitions",
            "4",
            "--lease-ttl-ms",
            "1000",
        ])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a sagas worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_add_up_when_workers_are_killed_at_random() {
    let url = database_url();
    let schema = format!("crash_{}", EventId::new());
    let options = PgStoreOptions::default().schema(&schema).max_connections(8);
    let store = PgEventStore::connect(&url, options).await.expect("connect");
    store.migrate().await.expect("migrate");
    let repo = Repository::new(store.clone()).max_attempts(100);
    let scenario = Scenario::new(ACCOUNTS, TRANSFERS);
    scenario.open_accounts(&repo).await.expect("accounts");

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
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(store.pool())
        .await
        .expect("drop the test schema");
}
