//! Issue 17 across processes: transfers above the approval limit wait, once
//! debited, 1 to 3 s for an approval while two `sagas worker` processes
//! (on the real clock) fire their deadlines; about half are approved or
//! rejected at random moments, many within a few hundred milliseconds of
//! their due time, racing the deadline; one worker is killed (SIGKILL)
//! mid-way and another started. From the stored events afterwards: every
//! transfer settled, the money adds up, each approval transfer took
//! exactly one decision (approved, rejected or timed out) and then exactly
//! its deposit or its refund, never both; every approval command was done
//! or refused with `NotAwaitingApproval`, and one refused because the
//! deadline had fired is matched by the timeout and a refund.
#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: 100_00 is 100.00"
)]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::{Aggregate, Event, EventStore, Options, Outcome, Repository};
use eventstore_postgres::PgEventStore;
use eventstore_tests::dice::Dice;
use eventstore_tests::postgres::{database_url, fresh_store_with};
use eventstore_tests::scenario::Scenario;
use sagas_examples::transfer::{
    ApprovalPolicy, Transfer, TransferError, TransferEvent, TransferStatus,
};

/// Accounts with money enough for every transfer, and two frozen ones.
const ACCOUNTS: usize = 20;
const OPENING: u64 = 100_000_00;
/// Transfers above the limit, and below it.
const APPROVALS: usize = 240;
const PLAIN: usize = 60;
/// Transfers of more than this wait for an approval.
const LIMIT: u64 = 1_000_00;
/// How long between two starts: the starts take about 6 s.
const START_EVERY: Duration = Duration::from_millis(20);
/// When, after the first start, a worker is killed and another started.
const KILL_AT: Duration = Duration::from_secs(3);
const WORKERS: usize = 2;
/// The workers' lease: a killed worker's partitions are taken over after it.
const LEASE: Duration = Duration::from_millis(1_000);
/// A decision sent this close to its due time (either side) races it.
const RACE: Duration = Duration::from_millis(150);
/// What the run must have met, or it proves too little.
const MIN_REFUSED_AFTER_TIMEOUT: usize = 10;
const MIN_DONE_NEAR_DUE: usize = 10;
const MIN_TIMEOUTS: usize = 60;
/// The whole run, and any single wait in it.
const RUN_LIMIT: Duration = Duration::from_secs(50);

/// A `sagas worker` process on `schema`.
fn worker(url: &str, schema: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sagas_process"))
        .args([
            "worker",
            "--schema",
            schema,
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

/// When a decision is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Right after the start, whatever the transfer's state.
    Early,
    /// While it waits, well before its due time.
    Waiting,
    /// Within [`RACE`] of its due time, either side.
    Racing,
}

/// What an approver did to one transfer.
#[derive(Debug)]
struct Decision {
    tx: String,
    approve: bool,
    moment: Moment,
    /// When it was sent and when its answer came, on the system clock.
    sent: SystemTime,
    answered: SystemTime,
    /// Done, or refused as not awaiting approval in this status.
    refused: Option<TransferStatus>,
}

/// Approves or rejects `tx` at `moment`; for [`Moment::Waiting`] and
/// [`Moment::Racing`], once it waits for the approval (polled, bounded).
async fn decide(
    repo: Repository<PgEventStore>,
    tx: String,
    approve: bool,
    moment: Moment,
    seed: u64,
) -> Decision {
    let mut dice = Dice::new(seed);
    if moment != Moment::Early {
        let polling = Instant::now();
        let due = loop {
            assert!(
                polling.elapsed() < Duration::from_secs(20),
                "{tx} did not come to wait for an approval within 20 s"
            );
            let t = repo.load::<Transfer>(&tx).await.expect("load").state;
            if let Some(due) = t.approval_due() {
                break due;
            }
            assert!(
                matches!(t.status, TransferStatus::Started | TransferStatus::New),
                "{tx} went to {} without waiting for an approval",
                t.status
            );
            tokio::time::sleep(Duration::from_millis(40 + dice.roll(30))).await;
        };
        let at = match moment {
            Moment::Racing => {
                let offset = Duration::from_millis(dice.roll(2 * RACE.as_millis() as u64));
                due - RACE + offset
            }
            _ => {
                let room = due
                    .duration_since(SystemTime::now())
                    .unwrap_or_default()
                    .saturating_sub(RACE * 2);
                SystemTime::now() + Duration::from_millis(dice.roll(room.as_millis() as u64))
            }
        };
        if let Ok(wait) = at.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
    }
    let sent = SystemTime::now();
    let outcome = if approve {
        repo.execute(&tx, Options::default(), Transfer::approve)
            .await
    } else {
        repo.execute(&tx, Options::default(), |t: &Transfer| t.reject("test"))
            .await
    };
    let answered = SystemTime::now();
    let refused = match outcome.expect("an approval command runs") {
        Outcome::Done(_) => None,
        Outcome::Rejected(TransferError::NotAwaitingApproval { status }) => Some(status),
        other => panic!("{tx}: approve {approve}: neither done nor a typed refusal: {other:?}"),
    };
    Decision {
        tx,
        approve,
        moment,
        sent,
        answered,
        refused,
    }
}

/// The events of transfer `tx`, with when each was recorded.
async fn transfer_events(
    repo: &Repository<PgEventStore>,
    tx: &str,
) -> Vec<(TransferEvent, SystemTime)> {
    repo.store()
        .load(Transfer::KIND, tx, 0)
        .await
        .expect("load the stream")
        .into_iter()
        .map(|e| (e.decode::<TransferEvent>().expect("decode"), e.recorded_at))
        .collect()
}

/// What the run met, for the checks and the report.
#[derive(Debug, Default)]
struct Tally {
    approved: usize,
    rejected: usize,
    timed_out: usize,
    /// Decisions refused because the deadline had fired first.
    refused_after_timeout: usize,
    /// Decisions sent before the transfer waited (refused, or done).
    early_refused: usize,
    /// Decisions done with less than [`RACE`] to go, or after the due time
    /// (the deadline not fired yet).
    done_near_due: usize,
    done_after_due: usize,
    /// How late the deadlines fired: recorded time of the timeout less its
    /// due time.
    late: Vec<Duration>,
}

/// Checks one approval transfer's stream against what was decided on it,
/// counting into `tally`.
///
/// # Panics
/// When it does not add up, naming the transfer.
fn check_approval(
    tx: &str,
    events: &[(TransferEvent, SystemTime)],
    decision: Option<&Decision>,
    tally: &mut Tally,
) {
    use TransferEvent as E;
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.kind()).collect();
    let [
        (E::TransferStarted(_), _),
        (E::TransferDebited(_), _),
        (E::ApprovalRequested(requested), _),
        (decided, decided_at),
        (ended, _),
    ] = events
    else {
        panic!("{tx}: {kinds:?}, not one decision and its ending");
    };
    let due = SystemTime::UNIX_EPOCH + Duration::from_micros(requested.due_micros);
    match (decided, ended) {
        (E::TransferApproved(_), E::TransferCompleted(_)) => tally.approved += 1,
        (E::TransferRejected(_), E::TransferRefunded(_)) => tally.rejected += 1,
        (E::ApprovalTimedOut(_), E::TransferRefunded(_)) => {
            tally.timed_out += 1;
            let late = decided_at.duration_since(due).unwrap_or_else(|early| {
                panic!(
                    "{tx}: the deadline fired {:?} before its due time",
                    early.duration()
                )
            });
            tally.late.push(late);
        }
        _ => panic!("{tx}: {kinds:?}: a decision with the wrong ending"),
    }
    let timed_out = matches!(decided, E::ApprovalTimedOut(_));
    let Some(d) = decision else {
        assert!(timed_out, "{tx}: nobody decided, yet {kinds:?}");
        return;
    };
    match d.refused {
        None => {
            let expected = if d.approve {
                matches!(decided, E::TransferApproved(_))
            } else {
                matches!(decided, E::TransferRejected(_))
            };
            assert!(expected, "{tx}: {d:?} was done, yet {kinds:?}");
            if d.sent + RACE >= due {
                tally.done_near_due += 1;
            }
            if d.sent >= due {
                tally.done_after_due += 1;
            }
        }
        Some(TransferStatus::Started | TransferStatus::Debited) if d.moment == Moment::Early => {
            tally.early_refused += 1;
            assert!(timed_out, "{tx}: {d:?} was refused, yet {kinds:?}");
        }
        Some(
            TransferStatus::Declined { timed_out: true }
            | TransferStatus::Failed { refunded: true },
        ) => {
            // refused because the deadline had fired: the timeout and a
            // refund are recorded, and the refusal came after the due time
            assert!(timed_out, "{tx}: {d:?} was refused, yet {kinds:?}");
            assert!(
                d.answered >= due,
                "{tx}: refused as timed out before its due time: {d:?}, due {due:?}"
            );
            tally.refused_after_timeout += 1;
        }
        Some(status) => panic!("{tx}: {d:?} refused in {status}, yet {kinds:?}"),
    }
}

/// The transfers: `APPROVALS` above the limit (1 to 3 s to wait), then
/// `PLAIN` below it, some from or to a frozen account, interleaved.
fn scenario() -> (Scenario, BTreeMap<String, Duration>) {
    let mut accounts: Vec<(String, u64)> = (0..ACCOUNTS)
        .map(|a| (format!("acc-{a}"), OPENING))
        .collect();
    let frozen = vec!["frozen-from".to_owned(), "frozen-to".to_owned()];
    accounts.extend(frozen.iter().map(|id| (id.clone(), OPENING)));
    let mut dice = Dice::new(0x17_DEAD_11AE);
    let mut timeouts = BTreeMap::new();
    let mut transfers = Vec::new();
    for t in 0..APPROVALS + PLAIN {
        let from = format!("acc-{}", t % ACCOUNTS);
        let to = format!("acc-{}", (t * 7 + 1) % ACCOUNTS);
        let to = if to == from {
            format!("acc-{}", (t + 1) % ACCOUNTS)
        } else {
            to
        };
        let tx = format!("tx-{t}");
        if t % 5 == 4 {
            // below the limit: every third from or to a frozen account
            let (from, to) = match t % 3 {
                0 => ("frozen-from".to_owned(), to),
                1 => (from, "frozen-to".to_owned()),
                _ => (from, to),
            };
            transfers.push((tx, from, to, 10_00 + dice.roll(500_00)));
        } else {
            timeouts.insert(tx.clone(), Duration::from_secs(dice.between(1, 3)));
            transfers.push((tx, from, to, LIMIT + 1 + dice.roll(2_000_00)));
        }
    }
    assert_eq!(timeouts.len(), APPROVALS);
    (
        Scenario {
            accounts,
            frozen,
            transfers,
        },
        timeouts,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_racing_their_deadlines_settle_each_transfer_once_across_a_crash() {
    let url = database_url();
    let store = fresh_store_with(16).await;
    let schema = store.schema().to_owned();
    let repo = Repository::new(store).max_attempts(100);
    let (scenario, timeouts) = scenario();
    scenario.open_accounts(&repo).await.expect("accounts");

    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&url, &schema)).collect();
    let started = Instant::now();
    let mut dice = Dice::new(0x2545_F491_4F6C_DD1D);
    let mut deciders = Vec::new();
    let mut killed = false;
    for (tx, from, to, amount) in &scenario.transfers {
        if !killed && started.elapsed() >= KILL_AT {
            workers[0].kill().expect("SIGKILL a worker");
            let _ = workers[0].wait();
            workers[0] = worker(&url, &schema);
            killed = true;
        }
        let policy = ApprovalPolicy {
            limit: LIMIT,
            timeout: timeouts.get(tx).copied().unwrap_or(Duration::from_secs(1)),
        };
        let start = |t: &Transfer| t.start_with(from, to, *amount, &policy);
        let outcome = repo
            .execute(tx, Options::idempotent("start").expect_new(), start)
            .await
            .expect("a start runs");
        assert!(
            matches!(outcome, Outcome::Done(_)),
            "start {tx}: {outcome:?}"
        );
        // about half of the approval transfers are decided, a third of
        // those rejected; most at or near their due time
        if timeouts.contains_key(tx) && dice.one_in(2) {
            let moment = match dice.roll(20) {
                0..=1 => Moment::Early,
                2..=8 => Moment::Waiting,
                _ => Moment::Racing,
            };
            let approve = !dice.one_in(3);
            let seed = dice.roll(u64::MAX);
            deciders.push(tokio::spawn(decide(
                repo.clone(),
                tx.clone(),
                approve,
                moment,
                seed,
            )));
        }
        tokio::time::sleep(START_EVERY).await;
    }
    assert!(killed, "the starts ended before {KILL_AT:?}: none killed");
    let starts = started.elapsed();
    let mut decisions = BTreeMap::new();
    for decider in deciders {
        let d = decider.await.expect("a decider");
        decisions.insert(d.tx.clone(), d);
    }
    let settled = scenario
        .wait_settled(&repo, RUN_LIMIT.saturating_sub(started.elapsed()))
        .await;
    let run = started.elapsed();
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    if let Err(open) = settled {
        let mut shown = Vec::new();
        for (tx, ..) in &scenario.transfers {
            let events = transfer_events(&repo, tx).await;
            let ended = events.last().is_some_and(|(e, _)| {
                TransferStatus::after(e.kind()).is_some_and(TransferStatus::is_settled)
            });
            if !ended && shown.len() < 5 {
                let kinds: Vec<&str> = events.iter().map(|(e, _)| e.kind()).collect();
                shown.push(format!("{tx}: {kinds:?}"));
            }
        }
        panic!("{open}; among them:\n{}", shown.join("\n"));
    }

    let [completed, refused, refunded] = scenario.check(&repo).await.expect("the books add up");
    let mut tally = Tally::default();
    for tx in timeouts.keys() {
        let events = transfer_events(&repo, tx).await;
        check_approval(tx, &events, decisions.get(tx), &mut tally);
    }
    let kept: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{schema}\".deadlines"))
        .fetch_one(repo.store().pool())
        .await
        .expect("count the kept deadlines");
    assert_eq!(kept, 0, "every deadline fired or was cancelled, none kept");

    tally.late.sort_unstable();
    let late = |q: usize| tally.late[(tally.late.len() - 1) * q / 100].as_millis();
    println!(
        "{APPROVALS} approval transfers ({} decided) and {PLAIN} others, a worker killed at \
         {KILL_AT:?}: {} approved, {} rejected, {} timed out; {} decisions refused after the \
         timeout, {} early ones refused, {} done within {RACE:?} of the due time ({} after it); \
         deadlines late p50 {} ms, p99 {} ms, max {} ms; all: {completed} completed, {refused} \
         refused, {refunded} refunded; starts {:.1} s, settled {:.1} s",
        decisions.len(),
        tally.approved,
        tally.rejected,
        tally.timed_out,
        tally.refused_after_timeout,
        tally.early_refused,
        tally.done_near_due,
        tally.done_after_due,
        late(50),
        late(99),
        late(100),
        starts.as_secs_f64(),
        run.as_secs_f64(),
    );
    assert!(
        tally.refused_after_timeout >= MIN_REFUSED_AFTER_TIMEOUT
            && tally.done_near_due >= MIN_DONE_NEAR_DUE
            && tally.timed_out >= MIN_TIMEOUTS
            && tally.approved > 0
            && tally.rejected > 0,
        "the run met too few races: {tally:?}"
    );
    assert!(run < RUN_LIMIT, "the run took {run:?}");
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(repo.store().pool())
        .await
        .expect("drop the test schema");
}
