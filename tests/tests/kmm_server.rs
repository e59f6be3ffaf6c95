//! The kmm server in this process, on real NATS, with its clock injected:
//! budgets turn at the boundaries of the budget's calendar (here a day
//! the clocks go forward) without sleeping, and concurrent withdrawals
//! against real stores never take a period over its budget.

#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in cents are written units_cents: 100_00 is 100.00"
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventstore_core::reactor::ReactorStore;
use eventstore_core::{EventStore, ManualClock, MemoryStore, Tracker};
use eventstore_tests::kmm::InProcessServer;
use sagas_examples::kmm::protocol::{Balance, Done, MoveMoney, OfAccount, SetBudget};
use sagas_examples::kmm::{Amount, ClientError, KmmClient, Period, PeriodSummary};

/// A server in process on `store` with `clock`, and a client of it.
async fn start<S>(store: S, clock: Arc<ManualClock>) -> (InProcessServer, KmmClient)
where
    S: EventStore + ReactorStore + Tracker + Clone + Send + Sync + 'static,
{
    let server = InProcessServer::start(store, clock).await;
    let client = server.client().await;
    (server, client)
}

fn at(text: &str) -> SystemTime {
    let at: jiff::Timestamp = text.parse().expect("a timestamp");
    SystemTime::try_from(at).expect("a system time")
}

async fn withdraw(client: &KmmClient, account: &str, cents: u64) -> Result<Done, ClientError> {
    let request = MoveMoney {
        account: account.to_owned(),
        amount: Amount(cents),
        description: String::new(),
        request_id: None,
    };
    client.call("withdraw", &request).await
}

/// Deposits 100 in `account` and sets a budget of 10 per `period` in
/// `zone`.
async fn with_100_and_a_budget_of_10(
    client: &KmmClient,
    account: &str,
    period: Period,
    zone: &str,
) {
    let deposit = MoveMoney {
        account: account.to_owned(),
        amount: Amount(100_00),
        description: String::new(),
        request_id: None,
    };
    let _: Done = client.call("deposit", &deposit).await.expect("deposit");
    let budget = SetBudget {
        account: account.to_owned(),
        max: Amount(10_00),
        period,
        time_zone: zone.to_owned(),
        request_id: None,
    };
    let _: Done = client
        .call("set-budget", &budget)
        .await
        .expect("set a budget");
}

#[track_caller]
fn over_budget(result: Result<Done, ClientError>) {
    match result {
        Err(ClientError::Refused { kind, .. }) if kind == "over_budget" => {}
        other => panic!("expected an over-budget refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_servers_clock_moves_across_a_day_the_clocks_go_forward_without_sleeping() {
    // Berlin, 2026-03-29: 02:00 becomes 03:00, so the day is 23 hours,
    // from 23:00 UTC on the 28th to 22:00 UTC on the 29th
    let clock = Arc::new(ManualClock::starting_at(at("2026-03-28T22:59:00Z")));
    let (_server, client) = start(MemoryStore::new(), Arc::clone(&clock)).await;
    let client = &client;
    with_100_and_a_budget_of_10(client, "eve", Period::Daily, "Europe/Berlin").await;

    withdraw(client, "eve", 6_00)
        .await
        .expect("23:59 in Berlin");
    clock.advance(Duration::from_secs(30));
    over_budget(withdraw(client, "eve", 5_00).await);
    clock.advance(Duration::from_secs(30)); // midnight in Berlin
    withdraw(client, "eve", 5_00).await.expect("a new day");
    withdraw(client, "eve", 5_00).await.expect("the day's 10");
    clock.set(at("2026-03-29T21:59:59Z")); // 23:59:59 in Berlin, summer time
    over_budget(withdraw(client, "eve", 1).await);
    clock.advance(Duration::from_secs(1));
    withdraw(client, "eve", 1)
        .await
        .expect("the next day, 23 hours on");

    let account = OfAccount {
        account: "eve".into(),
        request_id: None,
    };
    let summary: Option<PeriodSummary> = client
        .call("last-budget-period", &account)
        .await
        .expect("last budget period");
    assert_eq!(
        summary,
        Some(PeriodSummary {
            period_start: "2026-03-30T00:00:00+02:00[Europe/Berlin]".into(),
            period_end: "2026-03-31T00:00:00+02:00[Europe/Berlin]".into(),
            withdrawals: 1,
            total_withdrawn: Amount(1),
        })
    );
    let balance: Balance = client.call("balance", &account).await.expect("balance");
    assert_eq!(balance.balance, Amount(100_00 - 6_00 - 10_00 - 1));
}

/// 24 withdrawals of 1 at once, against a budget of 10: exactly 10 pass.
async fn concurrent_withdrawals_stay_within_the_budget<S>(store: S)
where
    S: EventStore + ReactorStore + Tracker + Clone + Send + Sync + 'static,
{
    let clock = Arc::new(ManualClock::starting_at(at("2026-11-29T10:00:00Z")));
    let (_server, client) = start(store, clock).await;
    let client = &client;
    with_100_and_a_budget_of_10(client, "fay", Period::Weekly, "UTC").await;
    let attempts =
        futures_util::future::join_all((0..24).map(|_| withdraw(client, "fay", 1_00))).await;
    let mut passed = 0;
    for attempt in attempts {
        match attempt {
            Ok(_) => passed += 1,
            Err(refused) => over_budget(Err(refused)),
        }
    }
    assert_eq!(passed, 10);
    let account = OfAccount {
        account: "fay".into(),
        request_id: None,
    };
    let balance: Balance = client.call("balance", &account).await.expect("balance");
    assert_eq!(balance.balance, Amount(90_00));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_withdrawals_stay_within_the_budget_on_jetstream() {
    concurrent_withdrawals_stay_within_the_budget(eventstore_tests::nats::fresh_store().await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_withdrawals_stay_within_the_budget_on_postgres() {
    concurrent_withdrawals_stay_within_the_budget(eventstore_tests::postgres::fresh_store().await)
        .await;
}

/// Locks the events table of a PostgreSQL store from another session.
struct Locker {
    pool: sqlx::PgPool,
    schema: String,
}

impl Locker {
    /// Takes the lock, which every read of the events then waits for until
    /// the transaction ends.
    async fn lock_events(&self) -> sqlx::Transaction<'static, sqlx::Postgres> {
        let mut blocker = self.pool.begin().await.expect("begin");
        sqlx::query(&format!(
            "LOCK TABLE \"{}\".events IN ACCESS EXCLUSIVE MODE",
            self.schema
        ))
        .execute(&mut *blocker)
        .await
        .expect("lock the events");
        blocker
    }
}

/// A server in process on a fresh PostgreSQL store that waits at most
/// `store_timeout` for it, a client, and a way to lock its events.
async fn on_postgres_with_store_timeout(
    store_timeout: Duration,
) -> (InProcessServer, KmmClient, Locker) {
    let store = eventstore_tests::postgres::fresh_store().await;
    let locker = Locker {
        pool: store.pool().clone(),
        schema: store.schema().to_owned(),
    };
    let clock = Arc::new(ManualClock::starting_at(at("2026-11-29T10:00:00Z")));
    let server = InProcessServer::start_with(store, clock, store_timeout).await;
    let client = server.client().await;
    (server, client, locker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_does_not_answer_is_reported_by_the_server_before_the_client_times_out() {
    let (_server, client, locker) = on_postgres_with_store_timeout(Duration::from_secs(1)).await;
    let client = &client;
    let account = OfAccount {
        account: "gus".into(),
        request_id: None,
    };
    let deposit = MoveMoney {
        account: "gus".into(),
        amount: Amount(3_00),
        description: String::new(),
        request_id: None,
    };
    let _: Done = client.call("deposit", &deposit).await.expect("deposit");
    // another session holds the events table: every read of it waits
    let blocker = locker.lock_events().await;
    let stuck = client.call::<_, Balance>("balance", &account).await;
    match stuck {
        Err(ClientError::ServerFailed { code: 503, message }) => {
            assert_eq!(message, "the store did not answer within 1s");
        }
        other => panic!("expected the server's 503, got {other:?}"),
    }
    blocker.rollback().await.expect("release the lock");
    let balance: Balance = client.call("balance", &account).await.expect("balance");
    assert_eq!(balance.balance, Amount(3_00));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_behind_a_stuck_store_are_answered_before_the_clients_timeout_or_turned_away()
 {
    let (_server, client, locker) = on_postgres_with_store_timeout(Duration::from_secs(2)).await;
    let client = &client;
    let account = OfAccount {
        account: "ivy".into(),
        request_id: None,
    };
    let blocker = locker.lock_events().await;
    // more requests than the server handles at once, many times over, and
    // more than it holds: each must hear a 503 within the store timeout of
    // its arrival (or at once, when the server holds 1024 already), not wait
    // in line until the client gives up after 10 s
    let replies = futures_util::future::join_all(
        (0..1_100).map(|_| client.call::<_, Balance>("balance", &account)),
    )
    .await;
    blocker.rollback().await.expect("release the lock");
    let (mut stuck, mut busy, mut other) = (0, 0, Vec::new());
    for reply in replies {
        match reply {
            Err(ClientError::ServerFailed { code: 503, message })
                if message == "the store did not answer within 2s" =>
            {
                stuck += 1;
            }
            Err(ClientError::ServerFailed { code: 503, message })
                if message.starts_with("the server is busy: 1024 requests wait") =>
            {
                busy += 1;
            }
            other_reply => other.push(other_reply),
        }
    }
    assert!(
        other.is_empty(),
        "{} other replies: {:?}",
        other.len(),
        &other[..other.len().min(3)]
    );
    assert!(
        stuck >= 400 && busy >= 1,
        "{stuck} waited for the store, {busy} were turned away"
    );
}
