//! `cargo bench -p eventstore-postgres --bench deadlines`: saga deadlines on
//! PostgreSQL. With 100,000 pending deadlines, 1,000 sagas come due in one
//! burst: how late each fires (from its due time to its firing committed,
//! p50 and p99) and how long the burst takes; then, with nothing due for
//! an hour, what a runner costs the database while it waits (transactions
//! per second), against the same runner of a reactor without deadlines
//! measured in the same run. Every phase is bounded in time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::backend::Partition;
use eventstore_core::reactor::{HandlerError, Reactor, Runner, RunnerOptions};
use eventstore_core::saga::{DeadlineStore, DeadlinesAt};
use eventstore_core::{
    Aggregate, AggregateId, Deadline, Event, EventFilter, EventStore, NoInput, Options, Outcome,
    RecordedEvent, Repository, Saga, SagaReactor, Step, StepOutcome, SystemClock,
};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use serde::{Deserialize, Serialize};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PENDING: usize = 100_000;
const BURST: usize = 1_000;
/// How far ahead of now the burst is due: time for the runner to keep the
/// burst's deadlines first.
const BURST_AHEAD: Duration = Duration::from_secs(5);
const BURST_LIMIT: Duration = Duration::from_secs(120);
const IDLE: Duration = Duration::from_secs(10);
const PARTITIONS: u32 = 4;
/// How long PostgreSQL may take to report a backend's counts: it does once
/// the backend has been idle 10 s.
const STATS_SETTLE: Duration = Duration::from_secs(12);

/// A timer was armed, due at `due_micros`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Armed {
    due_micros: u64,
}

/// It fired at `at_micros`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Fired {
    at_micros: u64,
}

/// The events of [`Timer`].
#[derive(Event, Debug, Clone, PartialEq)]
pub enum TimerEvent {
    /// See [`Armed`].
    Armed(Armed),
    /// See [`Fired`].
    Fired(Fired),
}

/// A saga that waits for its one deadline.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Timer", event = TimerEvent)]
pub struct Timer {
    due_micros: Option<u64>,
}

impl TimerEventHandler for Timer {
    fn on_armed(&mut self, e: &Armed) {
        self.due_micros = Some(e.due_micros);
    }
    fn on_fired(&mut self, _: &Fired) {
        self.due_micros = None;
    }
}

fn at_micros(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

fn micros(time: SystemTime) -> u64 {
    Deadline::at("", time).due_micros()
}

impl Saga for Timer {
    type Input = NoInput;
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        Vec::new()
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<TimerEvent> {
        Vec::new()
    }
    fn deadlines(&self) -> Vec<Deadline> {
        self.due_micros
            .map(|due| Deadline::at("timer", at_micros(due)))
            .into_iter()
            .collect()
    }
    fn on_deadline(&self, _: &Deadline, now: SystemTime) -> Vec<TimerEvent> {
        vec![
            Fired {
                at_micros: micros(now),
            }
            .into(),
        ]
    }
}

/// Arming a timer is never refused.
#[derive(Debug, Serialize, Deserialize, thiserror::Error)]
#[error("never")]
enum NeverRefused {}

/// The baseline: a reactor of the same kind's events with no deadlines.
struct Quiet;

impl Reactor for Quiet {
    fn name(&self) -> &str {
        "quiet"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate::<Timer>()
    }
    async fn handle(&self, _: &RecordedEvent) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// A reactor that counts what the runner asks of it, shared with the
/// bench.
struct Counted<R> {
    inner: R,
    handled: AtomicU64,
    fired: AtomicU64,
}

/// The runner's handle on a [`Counted`] reactor.
struct Counting<R>(Arc<Counted<R>>);

impl<R: Reactor> Reactor for Counting<R> {
    fn name(&self) -> &str {
        self.0.inner.name()
    }
    fn filter(&self) -> EventFilter {
        self.0.inner.filter()
    }
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        self.0.handled.fetch_add(1, Ordering::SeqCst);
        self.0.inner.handle(event).await
    }
    async fn fire_due(
        &self,
        partition: Option<Partition>,
        now: SystemTime,
    ) -> Result<Option<SystemTime>, HandlerError> {
        self.0.fired.fetch_add(1, Ordering::SeqCst);
        self.0.inner.fire_due(partition, now).await
    }
    fn partition_taken(&self, partition: Option<Partition>) {
        self.0.inner.partition_taken(partition);
    }
}

fn main() {
    common::block_on(run());
}

async fn run() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    println!("PostgreSQL at {url}; 2 cores shared by client and server\n");
    let options = PgStoreOptions::default()
        .schema("bench_deadlines")
        .max_connections(8);
    let store = common::fresh_schema(&url, options).await;
    let started = Instant::now();
    keep_idle_deadlines(&store, PENDING - BURST).await;
    println!(
        "kept {} idle deadlines (due in an hour) in {:.1} s",
        PENDING - BURST,
        started.elapsed().as_secs_f64()
    );
    burst(&store).await;
    let (saga, quiet) = idle_cost(&store).await;
    println!(
        "idle, nothing due for an hour: the saga's runner {saga:.1} transactions/s, \
         a runner without deadlines {quiet:.1} ({:.2}x), over {} s each, {PARTITIONS} partitions",
        saga / quiet.max(0.1),
        IDLE.as_secs()
    );
    common::drop_schema(&store).await;
}

/// Keeps `count` deadlines due in an hour, for sagas that never fire here.
async fn keep_idle_deadlines(store: &PgEventStore, count: usize) {
    let due = SystemTime::now() + Duration::from_secs(3_600);
    let tasks: Vec<_> = (0..8)
        .map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (worker..count).step_by(8) {
                    let at = DeadlinesAt {
                        saga_kind: "Timer".to_owned(),
                        saga_id: AggregateId::new(format!("idle-{i}")).expect("id"),
                        version: 1,
                        deadlines: vec![Deadline::at("timer", due)],
                    };
                    store.sync_deadlines(at).await.expect("sync");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("keeper");
    }
}

/// A runner in a task of its own, until stopped.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<eventstore_core::Result<()>>,
}

impl Running {
    fn start<R: Reactor>(runner: Runner<PgEventStore, R>) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        Self { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("runner").expect("run");
    }
}

fn runner_options(owner: &str) -> RunnerOptions {
    RunnerOptions::default()
        .owner(owner)
        .partitions(PARTITIONS)
        .poll_interval(Duration::from_secs(1))
}

/// Arms 1,000 timers due together, with the saga's runner running, and
/// reports how late each fired.
async fn burst(store: &PgEventStore) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Timer, _>::new(repo.clone()).clock(Arc::new(SystemClock));
    let runner = Runner::new(store.clone(), saga).options(runner_options("burst"));
    let running = Running::start(runner);
    let due = micros(SystemTime::now() + BURST_AHEAD);
    let armers: Vec<_> = (0..8)
        .map(|worker| {
            let repo = repo.clone();
            tokio::spawn(async move {
                for i in (worker..BURST).step_by(8) {
                    let arm =
                        |_: &Timer| Ok::<_, NeverRefused>(vec![Armed { due_micros: due }.into()]);
                    repo.execute(
                        format!("burst-{i}").as_str(),
                        Options::default().expect_new(),
                        arm,
                    )
                    .await
                    .and_then(Outcome::into_result)
                    .expect("arm");
                }
            })
        })
        .collect();
    for armer in armers {
        armer.await.expect("armer");
    }
    let kept = Instant::now();
    let mut late: Vec<Duration> = Vec::with_capacity(BURST);
    for i in 0..BURST {
        let id = format!("burst-{i}");
        loop {
            let fired = store.load("Timer", &id, 1).await.expect("load");
            if let Some(event) = fired.first() {
                late.push(
                    event
                        .recorded_at
                        .duration_since(at_micros(due))
                        .unwrap_or_default(),
                );
                break;
            }
            assert!(
                kept.elapsed() < BURST_LIMIT,
                "{id} did not fire within {} s",
                BURST_LIMIT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    running.stop().await;
    late.sort_unstable();
    let pct = |p: usize| late[(late.len() * p / 100).min(late.len() - 1)];
    println!(
        "burst of {BURST} due together among {PENDING} pending: fired late by p50 {:.0} ms, \
         p99 {:.0} ms, the last {:.0} ms ({PARTITIONS} partitions, one runner)",
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
        late[late.len() - 1].as_secs_f64() * 1e3
    );
}

/// Transactions the database ended per second while a runner of `reactor`
/// waited [`IDLE`] with nothing to do.
async fn idle_rate<R: Reactor>(store: &PgEventStore, reactor: R, owner: &str) -> f64 {
    let counted = Arc::new(Counted {
        inner: reactor,
        handled: AtomicU64::new(0),
        fired: AtomicU64::new(0),
    });
    let runner =
        Runner::new(store.clone(), Counting(Arc::clone(&counted))).options(runner_options(owner));
    let watcher = runner.clone();
    let running = Running::start(runner);
    // it takes its partitions and catches up (the burst's firings) first
    let settling = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let status = watcher.status().await.expect("status");
        let idle = status
            .partitions
            .iter()
            .all(|p| p.lag_events == 0 && p.lease_holder.as_deref() == Some(owner));
        if idle {
            break;
        }
        assert!(
            settling.elapsed() < BURST_LIMIT,
            "the runner did not catch up"
        );
    }
    // PostgreSQL reports a backend's counts once it has been idle 10 s:
    // what came before must be in before the window opens
    tokio::time::sleep(STATS_SETTLE).await;
    let before = transactions(store).await;
    let tables = table_reads(store).await;
    let asked = (
        counted.handled.load(Ordering::SeqCst),
        counted.fired.load(Ordering::SeqCst),
    );
    let window = Instant::now();
    tokio::time::sleep(IDLE).await;
    let after = transactions(store).await;
    let window = window.elapsed();
    let read: Vec<String> = table_reads(store)
        .await
        .into_iter()
        .zip(tables)
        .filter(|((_, a), (_, b))| a > b)
        .map(|((name, a), (_, b))| format!("{name} {:.1}/s", (a - b) as f64 / window.as_secs_f64()))
        .collect();
    println!(
        "  {owner}: {} events handled, fire_due called {} times; scans of the store's tables: {}",
        counted.handled.load(Ordering::SeqCst) - asked.0,
        counted.fired.load(Ordering::SeqCst) - asked.1,
        if read.is_empty() {
            "none".to_owned()
        } else {
            read.join(", ")
        }
    );
    running.stop().await;
    // the two reads of the count are transactions too
    (after - before).saturating_sub(1) as f64 / window.as_secs_f64()
}

/// Both idle rates, the saga's first.
async fn idle_cost(store: &PgEventStore) -> (f64, f64) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Timer, _>::new(repo).clock(Arc::new(SystemClock));
    let saga = idle_rate(store, saga, "idle-saga").await;
    let quiet = idle_rate(store, Quiet, "idle-quiet").await;
    (saga, quiet)
}

/// Scans (sequential and by index) of each table of the bench's schema so
/// far, by table name.
async fn table_reads(store: &PgEventStore) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT relname::text, (seq_scan + coalesce(idx_scan, 0))::bigint \
         FROM pg_stat_user_tables WHERE schemaname = $1 ORDER BY relname",
    )
    .bind(store.schema())
    .fetch_all(store.pool())
    .await
    .expect("pg_stat_user_tables")
}

/// Transactions the database has ended so far (as its backends reported
/// them: within a second of going idle).
async fn transactions(store: &PgEventStore) -> u64 {
    let row: (i64,) = sqlx::query_as(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .fetch_one(store.pool())
    .await
    .expect("pg_stat_database");
    u64::try_from(row.0).unwrap_or(0)
}
