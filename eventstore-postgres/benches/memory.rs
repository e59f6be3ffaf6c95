//! `cargo bench -p eventstore-postgres --bench memory`: the peak memory
//! (resident set, `VmHWM`) of imports of 100,000 and 1,000,000 events
//! through a pipe, of a reactor catching up on 100,000 and on 1,000,000
//! events, and of replays (`Repository::load`) of a 10,000- and
//! a 100,000-event stream. Each measurement runs in a child process of its
//! own (this program, started again with `--phase`), which resets its peak
//! after connecting, so that it shows the phase alone. Every phase is
//! bounded in time.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventstore_core::reactor::{HandlerError, Reactor, Runner, RunnerOptions};
use eventstore_core::{Aggregate, Event, EventFilter, RecordedEvent, Repository};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const LOG_SCHEMA: &str = "es_bench_memory";
const REPLAY_SCHEMA: &str = "es_bench_memory_replay";
/// Where the smaller import goes (the larger one fills the log).
const IMPORT_SCHEMA: &str = "es_bench_memory_import";
/// The events of the smaller import measured.
const IMPORTED: u64 = 100_000;
/// The events of the log the reactors catch up on.
const LOG_EVENTS: u64 = 1_000_000;
/// Streams of the log.
const LOG_STREAMS: u64 = 1_000;
/// The catch-ups measured, in events.
const CATCH_UPS: [u64; 2] = [100_000, 1_000_000];
/// The replays measured, in events of one stream.
const REPLAYS: [u64; 2] = [10_000, 100_000];
/// The longest any phase may take.
const PHASE_LIMIT: Duration = Duration::from_secs(300);

/// A tick of a counter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
struct Ticked {
    n: u64,
    note: String,
}

/// What happens to a counter.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
enum CounterEvent {
    Ticked(Ticked),
}

/// The aggregate that the replays load: it sums its ticks.
#[derive(Aggregate, Serialize, Deserialize, Clone, Debug, Default)]
#[aggregate(kind = "Counter", event = CounterEvent)]
struct Counter {
    sum: u64,
}

impl CounterEventHandler for Counter {
    fn on_ticked(&mut self, e: &Ticked) {
        self.sum += e.n;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    match args.iter().position(|a| a == "--phase") {
        Some(at) => {
            let (phase, events) = (&args[at + 1], args[at + 2].parse().expect("a count"));
            common::block_on(child(&url, phase, events));
        }
        None => common::block_on(parent(&url)),
    }
}

async fn parent(url: &str) {
    let only = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    println!("PostgreSQL at {url}; peak resident memory of each phase, in a process of its own\n");
    if only.as_deref().is_none_or(|f| "catch-up".contains(f)) {
        let store = fresh(url, LOG_SCHEMA).await;
        let scratch = fresh(url, IMPORT_SCHEMA).await;
        header();
        run_child(
            &format!("import {IMPORTED} events through a pipe"),
            "import",
            IMPORTED,
        );
        common::drop_schema(&scratch).await;
        run_child(
            &format!("import {LOG_EVENTS} events through a pipe (the log)"),
            "fill",
            LOG_EVENTS,
        );
        vacuum(&store).await;
        for events in CATCH_UPS {
            let label = format!("a no-op reactor catches up on {events} events");
            run_child(&label, "catch-up", events);
        }
        common::drop_schema(&store).await;
    }
    if only.as_deref().is_none_or(|f| "replay".contains(f)) {
        let store = fresh(url, REPLAY_SCHEMA).await;
        for events in REPLAYS {
            import(&store, "Counter", &format!("replay-{events}-"), 1, events).await;
        }
        vacuum(&store).await;
        println!();
        header();
        for events in REPLAYS {
            let label = format!("Repository::load of a {events}-event stream");
            run_child(&label, "replay", events);
        }
        common::drop_schema(&store).await;
    }
}

fn header() {
    println!(
        "{:<52} {:>12} {:>14} {:>12} {:>9}",
        "phase", "RSS before", "peak RSS", "growth", "seconds"
    );
}

/// Runs this program again for `phase` and prints what it measured.
fn run_child(label: &str, phase: &str, events: u64) {
    let output = Command::new(std::env::current_exe().expect("this program"))
        .args(["--phase", phase, &events.to_string()])
        .output()
        .expect("run the phase");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{label}: {printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |key: &str| -> f64 {
        printed
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{label}: no {key} in {printed:?}"))
    };
    let (before, peak) = (value("rss_kib"), value("peak_kib"));
    println!(
        "{label:<52} {:>9.1} MiB {:>10.1} MiB {:>8.1} MiB {:>9.1}",
        before / 1024.0,
        peak / 1024.0,
        (peak - before) / 1024.0,
        value("seconds")
    );
}

/// One phase, in this (child) process: prints `rss_kib=`, `peak_kib=`
/// and `seconds=`.
async fn child(url: &str, phase: &str, events: u64) {
    let schema = match phase {
        "replay" => REPLAY_SCHEMA,
        "import" => IMPORT_SCHEMA,
        _ => LOG_SCHEMA,
    };
    let store = PgEventStore::connect(
        url,
        PgStoreOptions::default().schema(schema).max_connections(4),
    )
    .await
    .expect("connect");
    let before = status_kib("VmRSS");
    reset_peak();
    let started = Instant::now();
    match phase {
        "import" | "fill" => import(&store, "Bench", "stream-", LOG_STREAMS, events).await,
        "catch-up" => catch_up(&store, events).await,
        "replay" => {
            let repo = Repository::new(store);
            let loaded = repo
                .load::<Counter>(format!("replay-{events}-0").as_str())
                .await
                .expect("load");
            assert_eq!(loaded.version, events, "the whole stream replayed");
        }
        other => panic!("no phase {other}"),
    }
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        started.elapsed() < PHASE_LIMIT,
        "{phase} took {seconds:.0} s"
    );
    println!(
        "rss_kib={before} peak_kib={} seconds={seconds:.2}",
        status_kib("VmHWM")
    );
}

/// Counts what it is given, and does nothing else.
struct NoOp {
    name: String,
    handled: Arc<AtomicU64>,
}

impl Reactor for NoOp {
    fn name(&self) -> &str {
        &self.name
    }
    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }
    async fn handle(&self, _: &RecordedEvent) -> Result<(), HandlerError> {
        self.handled.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Runs a new no-op reactor from the first event until it has handled
/// `events`, at most for [`PHASE_LIMIT`].
async fn catch_up(store: &PgEventStore, events: u64) {
    let handled = Arc::new(AtomicU64::new(0));
    // a reactor of its own, new, so that it starts at the first event
    let reactor = NoOp {
        name: format!("memory-{events}"),
        handled: Arc::clone(&handled),
    };
    let runner = Runner::new(store.clone(), reactor).options(
        RunnerOptions::default()
            .batch_size(1_000)
            .poll_interval(Duration::from_millis(50)),
    );
    let started = Instant::now();
    let counted = Arc::clone(&handled);
    runner
        .run(async move {
            while counted.load(Ordering::Relaxed) < events && started.elapsed() < PHASE_LIMIT {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the runner runs");
    assert!(
        handled.load(Ordering::Relaxed) >= events,
        "caught up on {events} events within {PHASE_LIMIT:?}"
    );
}

/// A number of kB from `/proc/self/status` (`VmRSS`, `VmHWM`).
fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
}

/// Sets the peak resident set (`VmHWM`) to the current one.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5")
        .expect("reset the peak through /proc/self/clear_refs");
}

async fn fresh(url: &str, schema: &str) -> PgEventStore {
    common::fresh_schema(
        url,
        PgStoreOptions::default().schema(schema).max_connections(4),
    )
    .await
}

/// What autovacuum would do after a bulk load, done before measuring.
async fn vacuum(store: &PgEventStore) {
    sqlx::query(&format!("VACUUM ANALYZE {}.events", store.schema()))
        .execute(store.pool())
        .await
        .expect("vacuum");
}

/// Imports `events` events of `kind` over `streams` streams (`prefix`
/// and a number from 0), written as JSON lines into a pipe as the import reads
/// them: neither side holds the whole input.
async fn import(store: &PgEventStore, kind: &str, prefix: &str, streams: u64, events: u64) {
    let (mut writer, reader) = tokio::io::duplex(1 << 16);
    let (kind, prefix) = (kind.to_owned(), prefix.to_owned());
    let writing = tokio::spawn(async move {
        let mut lines = Vec::with_capacity(1 << 16);
        for i in 0..events {
            let (stream, version) = (i % streams, i / streams + 1);
            let second = 1_704_067_200 + i / 1_000;
            let (day, rest) = (second / 86_400 - 19_723, second % 86_400);
            lines.extend_from_slice(
                format!(
                    r#"{{"aggregate_kind":"{kind}","aggregate_id":"{prefix}{stream}","kind":"Ticked","version":{version},"body":{{"n":{i},"note":"a body of a realistic size"}},"time":"2024-01-{:02}T{:02}:{:02}:{:02}Z"}}"#,
                    day + 1,
                    rest / 3_600,
                    rest % 3_600 / 60,
                    rest % 60
                )
                .as_bytes(),
            );
            lines.push(b'\n');
            if lines.len() > 60_000 {
                writer.write_all(&lines).await.expect("write a line");
                lines.clear();
            }
        }
        writer.write_all(&lines).await.expect("write a line");
    });
    let report = store
        .import(tokio::io::BufReader::new(reader))
        .await
        .expect("import");
    writing.await.expect("the writer");
    assert_eq!(report.events, events);
}
