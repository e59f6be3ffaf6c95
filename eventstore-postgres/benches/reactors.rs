//! `cargo bench -p eventstore-postgres --bench reactors`: the reactor
//! runtime on PostgreSQL. Delivery throughput to a no-op reactor over 1M
//! events against a plain keyset SELECT scan of the same rows, and the
//! latency from append to handler under a steady append load, with
//! LISTEN/NOTIFY against the 1 s safety-margin mode. Every phase is bounded
//! in time.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::reactor::{HandlerError, Reactor, Runner, RunnerOptions};
use eventstore_core::{EventFilter, EventId, EventStore, RecordedEvent, Tracker};
use eventstore_postgres::{PgEventStore, PgStoreOptions, ReadMode};
use serde_json::Value;
use sqlx::Row;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const EVENTS: u64 = 1_000_000;
const PER_TRANSACTION: u64 = 1_000;
const DELIVERY_LIMIT: Duration = Duration::from_secs(300);
/// Rounds of (plain scan, runner); the best of each is compared.
const ROUNDS: u32 = 3;
const APPENDS_PER_SECOND: u64 = 200;
const LOAD: Duration = Duration::from_secs(5);
/// Writers appending single events in the NOTIFY phase, each to its own
/// aggregate.
const NOTIFY_WRITERS: u64 = 16;

fn main() {
    common::block_on(run());
}

async fn run() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let only = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    println!("PostgreSQL at {url}; 2 cores shared by client and server\n");
    if only.as_deref().is_none_or(|f| "delivery".contains(f)) {
        delivery(&url).await;
    }
    if only.as_deref().is_none_or(|f| "latency".contains(f)) {
        latency(&url, ReadMode::Transactions, "commit order + NOTIFY").await;
        latency(
            &url,
            ReadMode::SafetyMargin(Duration::from_secs(1)),
            "safety margin 1 s",
        )
        .await;
    }
    if only.as_deref().is_none_or(|f| "notify".contains(f)) {
        notify_cost(&url).await;
    }
}

async fn fresh(url: &str, schema: &str, mode: ReadMode) -> PgEventStore {
    let options = PgStoreOptions::default()
        .schema(schema)
        .max_connections(8)
        .read_mode(mode);
    common::fresh_schema(url, options).await
}

/// Counts what it is given and, when timing, notes how late each event
/// arrived (the delivery phase does not time: its reactor is a no-op).
struct Probe {
    name: String,
    handled: AtomicU64,
    timing: bool,
    delays: Mutex<Vec<Duration>>,
}

impl Reactor for Probe {
    fn name(&self) -> &str {
        &self.name
    }
    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate_kind("Bench")
    }
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        self.handled.fetch_add(1, Ordering::Relaxed);
        if !self.timing {
            return Ok(());
        }
        if let Ok(delay) = SystemTime::now().duration_since(event.recorded_at) {
            self.delays.lock().expect("delays").push(delay);
        }
        Ok(())
    }
}

fn probe(name: &str, timing: bool) -> Arc<Probe> {
    Arc::new(Probe {
        name: name.to_owned(),
        handled: AtomicU64::new(0),
        timing,
        delays: Mutex::new(Vec::new()),
    })
}

/// Lets an `Arc<Probe>` be the reactor while the bench keeps a handle.
struct Shared(Arc<Probe>);

impl Reactor for Shared {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn filter(&self) -> EventFilter {
        self.0.filter()
    }
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        self.0.handle(event).await
    }
}

async fn seed(store: &PgEventStore) {
    let id = EventId::new().to_string();
    let insert = format!(
        "INSERT INTO {}.events (id, aggregate_kind, aggregate_id, version, kind, body) \
         SELECT $1, 'Bench', 'agg-' || (i % 1000), i / 1000 + 1, 'Tick', \
                jsonb_build_object('n', i, 'note', 'a body of a realistic size') \
         FROM generate_series($2::bigint, $3::bigint) AS i",
        store.schema()
    );
    let started = Instant::now();
    for chunk in 0..EVENTS / PER_TRANSACTION {
        let first = chunk * PER_TRANSACTION;
        sqlx::query(&insert)
            .bind(&id)
            .bind(first as i64)
            .bind((first + PER_TRANSACTION - 1) as i64)
            .execute(store.pool())
            .await
            .expect("seed");
    }
    // what autovacuum would do after a bulk load, done now so that it does
    // not run during the measurements; without statistics the planner takes
    // the 1M fresh rows for a few thousand and reads with a bitmap scan
    sqlx::query(&format!("VACUUM ANALYZE {}.events", store.schema()))
        .execute(store.pool())
        .await
        .expect("analyze");
    println!(
        "seeded {EVENTS} events in {} transactions in {:.1} s",
        EVENTS / PER_TRANSACTION,
        started.elapsed().as_secs_f64()
    );
}

/// An event as the plain scan reads it: id, position, tx, aggregate kind
/// and id, version, kind, body, metadata.
type PlainEvent = (String, i64, i64, String, String, i64, String, Value, Value);

async fn delivery(url: &str) {
    let store = fresh(url, "es_bench_reactors", ReadMode::Transactions).await;
    seed(&store).await;
    println!(
        "{:<44} {:>12} {:>12} {:>7}",
        "workload", "runner", "plain scan", "ratio"
    );
    let (mut best_runner, mut best_plain) = (0.0_f64, 0.0_f64);
    for round in 1..=ROUNDS {
        let plain = plain_scan(&store).await;
        let runner = deliver(&store, &format!("probe-{round}")).await;
        println!(
            "{:<44} {:>12} {:>12} {:>6.2}x",
            format!("  round {round}"),
            format!("{runner:.0} ev/s"),
            format!("{plain:.0} ev/s"),
            runner / plain
        );
        best_runner = best_runner.max(runner);
        best_plain = best_plain.max(plain);
    }
    println!(
        "{:<44} {:>12} {:>12} {:>6.2}x",
        format!("deliver {EVENTS} events to a no-op reactor"),
        format!("{best_runner:.0} ev/s"),
        format!("{best_plain:.0} ev/s"),
        best_runner / best_plain
    );
}

/// Reads every event with a keyset SELECT scan, in pages of 1,000, into
/// owned values as any consumer of events must. Events per second.
async fn plain_scan(store: &PgEventStore) -> f64 {
    let scan = format!(
        "SELECT id, position, tx::text::bigint AS tx, aggregate_kind, aggregate_id, version, kind, body, metadata, \
                created_at FROM {}.events WHERE position > $1 ORDER BY position LIMIT 1000",
        store.schema()
    );
    let started = Instant::now();
    let (mut last, mut scanned) = (0_i64, 0_u64);
    while started.elapsed() < DELIVERY_LIMIT {
        let rows = sqlx::query(&scan)
            .bind(last)
            .fetch_all(store.pool())
            .await
            .expect("scan");
        let Some(row) = rows.last() else { break };
        last = row.get("position");
        for row in &rows {
            let event: PlainEvent = (
                row.get("id"),
                row.get("position"),
                row.get("tx"),
                row.get("aggregate_kind"),
                row.get("aggregate_id"),
                row.get("version"),
                row.get("kind"),
                row.get("body"),
                row.get("metadata"),
            );
            std::hint::black_box(event);
        }
        scanned += rows.len() as u64;
    }
    assert_eq!(scanned, EVENTS, "the scan read every event");
    scanned as f64 / started.elapsed().as_secs_f64()
}

/// Delivers every event to a no-op reactor named `name` (new, so it starts
/// from the beginning). Events per second.
async fn deliver(store: &PgEventStore, name: &str) -> f64 {
    let probe = probe(name, false);
    let runner = Runner::new(store.clone(), Shared(Arc::clone(&probe))).options(
        RunnerOptions::default()
            .batch_size(1_000)
            .poll_interval(Duration::from_millis(50)),
    );
    let started = Instant::now();
    let counted = Arc::clone(&probe);
    runner
        .run(async move {
            while counted.handled.load(Ordering::Relaxed) < EVENTS
                && started.elapsed() < DELIVERY_LIMIT
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the runner runs");
    let delivered = probe.handled.load(Ordering::Relaxed);
    assert_eq!(
        delivered, EVENTS,
        "every event delivered within {DELIVERY_LIMIT:?}"
    );
    delivered as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn latency(url: &str, mode: ReadMode, label: &str) {
    let store = fresh(url, "es_bench_latency", mode).await;
    let probe = probe("latency", true);
    let runner = Runner::new(store.clone(), Shared(Arc::clone(&probe)))
        .options(RunnerOptions::default().poll_interval(Duration::from_millis(100)));
    let appender = store.clone();
    let appended = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&appended);
    let started = Instant::now();
    let drained = Arc::clone(&probe);
    runner
        .run(async move {
            let interval = Duration::from_micros(1_000_000 / APPENDS_PER_SECOND);
            let mut ticker = tokio::time::interval(interval);
            let mut version = 0;
            while started.elapsed() < LOAD {
                ticker.tick().await;
                let event = NewEvent {
                    kind: "Tick".into(),
                    schema_version: 1,
                    body: serde_json::json!({ "n": version })
                        .try_into()
                        .expect("a JSON object"),
                };
                appender
                    .append(
                        AppendRequest::new("Bench", "steady".parse().unwrap(), version)
                            .event(event),
                    )
                    .await
                    .expect("append");
                version += 1;
                count.store(version, Ordering::Relaxed);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while drained.handled.load(Ordering::Relaxed) < version && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the runner runs");
    let mut delays = probe.delays.lock().expect("delays").clone();
    delays.sort();
    if delays.is_empty() {
        println!("{label}: no event delivered");
        return;
    }
    println!(
        "append-to-handler latency, {label:<22} {} events at {APPENDS_PER_SECOND}/s: p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms",
        appended.load(Ordering::Relaxed),
        percentile(&delays, 0.50).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays[delays.len() - 1].as_secs_f64() * 1e3,
    );
}

/// Single-event appends of [`NOTIFY_WRITERS`] writers for [`LOAD`], with no
/// tracker listening and with one, alternating for [`ROUNDS`] rounds: the
/// cost of the wake-ups that every append sends (one NOTIFY per 5 ms at
/// most, on the store's own notifying connection) and of a listener
/// receiving them.
async fn notify_cost(url: &str) {
    let store = fresh(url, "es_bench_notify", ReadMode::Transactions).await;
    println!(
        "\n{:<48} {:>14} {:>14} {:>7}",
        "workload", "listened", "no listener", "ratio"
    );
    let mut next = 0;
    for round in 1..=ROUNDS {
        let quiet = appends_per_second(&store, &mut next).await;
        let wakeups = store.wakeups();
        let listened = appends_per_second(&store, &mut next).await;
        drop(wakeups);
        println!(
            "  round {round}, {NOTIFY_WRITERS} writers, single-event appends {:>10.0} ev/s {:>10.0} ev/s {:>6.2}x",
            listened,
            quiet,
            listened / quiet
        );
    }
}

/// Events per second that [`NOTIFY_WRITERS`] writers append for [`LOAD`],
/// each to a new aggregate numbered from `next`.
async fn appends_per_second(store: &PgEventStore, next: &mut u64) -> f64 {
    let started = Instant::now();
    let writers: Vec<_> = (0..NOTIFY_WRITERS)
        .map(|w| {
            let store = store.clone();
            let id: eventstore_core::AggregateId =
                format!("writer-{}", *next + w).parse().expect("an id");
            tokio::spawn(async move {
                let mut version = 0;
                while started.elapsed() < LOAD {
                    let event = NewEvent {
                        kind: "Tick".into(),
                        schema_version: 1,
                        body: serde_json::json!({ "n": version })
                            .try_into()
                            .expect("a JSON object"),
                    };
                    store
                        .append(AppendRequest::new("Bench", id.clone(), version).event(event))
                        .await
                        .expect("append");
                    version += 1;
                }
                version
            })
        })
        .collect();
    *next += NOTIFY_WRITERS;
    let mut appended = 0;
    for writer in writers {
        appended += writer.await.expect("writer");
    }
    appended as f64 / started.elapsed().as_secs_f64()
}
