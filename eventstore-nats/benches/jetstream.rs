//! `cargo bench -p eventstore-nats --bench jetstream`: the JetStream store
//! against bare `async-nats` on the same server, in the same run: appends
//! against publishing bare messages with the expected-last-subject-sequence
//! header, loads of 1,000-event aggregates against an ordered consumer on
//! the aggregate's subject, and tracker delivery against an ordered
//! consumer over the whole stream. NATS at `NATS_URL` (default
//! `nats://127.0.0.1:4222`, `scripts/ensure-nats` starts it). Every phase is
//! bounded in time; the whole run takes about two minutes. `-- appends`,
//! `loads` or `delivery` runs one group.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull::OrderedConfig};
use bytes::Bytes;
use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::{Checkpoint, EventFilter, EventStore, Tracker};
use eventstore_nats::{NatsOptions, NatsStore, Storage};
use futures_util::StreamExt as _;

/// How long each throughput phase measures, after a short warm-up; each
/// side runs `ROUNDS` phases, alternating which goes first.
const PHASE: Duration = Duration::from_secs(2);
const WARM_UP: Duration = Duration::from_millis(300);
const ROUNDS: usize = 2;
const DEFAULT_URL: &str = "nats://127.0.0.1:4222";
const STORE_STREAM: &str = "ES_BENCH_STORE";
const PLAIN_STREAM: &str = "ES_BENCH_PLAIN";
/// Events per aggregate in the load group.
const LOADED: u64 = 1_000;
/// Loads measured per side and round.
const LOADS: usize = 20;
/// Events the delivery group reads.
const DELIVERED: u64 = 20_000;

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(run());
}

async fn run() {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let client = async_nats::connect(&url).await.unwrap_or_else(|e| {
        panic!("cannot reach NATS at {url} ({e}); set NATS_URL or run scripts/ensure-nats")
    });
    let js = jetstream::new(client.clone());
    println!(
        "NATS {} at {url} (file storage, one replica), {} cores",
        client.server_info().version,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "each throughput figure: {ROUNDS} x {} s after {} ms warm-up, sides alternating; ratio = store / bare async-nats\n",
        PHASE.as_secs(),
        WARM_UP.as_millis()
    );
    println!(
        "{:<46} {:>12} {:>12} {:>7}",
        "workload", "store", "bare", "ratio"
    );
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |group: &str| only.as_deref().is_none_or(|f| group.contains(f));
    if wants("appends") {
        for batch in [1, 10] {
            for writers in [1, 4, 16] {
                appends(&url, &js, writers, batch).await;
            }
        }
    }
    if wants("loads") {
        loads(&url, &js).await;
    }
    if wants("delivery") {
        delivery(&url, &js).await;
    }
    delete_streams(&js).await;
}

/// A store on a fresh file stream of its own.
async fn fresh_store(url: &str, js: &jetstream::Context) -> NatsStore {
    delete_streams(js).await;
    NatsStore::connect(
        NatsOptions::new(url)
            .stream(STORE_STREAM)
            .prefix("bench")
            .storage(Storage::File),
    )
    .await
    .expect("connect the store")
}

/// A fresh file stream for the bare side, over `plain.>`.
async fn fresh_plain(js: &jetstream::Context) -> jetstream::stream::Stream {
    let _ = js.delete_stream(PLAIN_STREAM).await;
    js.create_stream(jetstream::stream::Config {
        name: PLAIN_STREAM.into(),
        subjects: vec!["plain.>".into()],
        storage: jetstream::stream::StorageType::File,
        allow_direct: true,
        ..Default::default()
    })
    .await
    .expect("create the bare stream")
}

/// Deletes the bench's streams and the store's buckets.
async fn delete_streams(js: &jetstream::Context) {
    let mut names = js.stream_names();
    let mut ours = Vec::new();
    while let Some(Ok(name)) = names.next().await {
        if name.contains(STORE_STREAM) || name == PLAIN_STREAM {
            ours.push(name);
        }
    }
    for name in ours {
        let _ = js.delete_stream(&name).await;
    }
}

/// A deposit's body, as the sample's account writes it.
fn body(n: u64) -> serde_json::Value {
    serde_json::json!({ "amount": 100 + n, "transaction": format!("tx-{n}") })
}

fn new_event(n: u64) -> NewEvent {
    NewEvent::new("MoneyDeposited", &body(n)).expect("event")
}

/// What a bare publisher sends for a commit of `batch` events: the bodies,
/// as one JSON array.
fn plain_payload(n: u64, batch: u64) -> Bytes {
    let bodies: Vec<_> = (0..batch).map(|i| body(n + i)).collect();
    Bytes::from(serde_json::to_vec(&bodies).expect("json"))
}

async fn appends(url: &str, js: &jetstream::Context, writers: usize, batch: u64) {
    let store = fresh_store(url, js).await;
    fresh_plain(js).await;
    let mut store_rate = 0.0;
    let mut plain_rate = 0.0;
    for round in 0..ROUNDS {
        let run_store = || {
            let store = store.clone();
            throughput(writers, move |writer, n| {
                let store = store.clone();
                async move {
                    let id = format!("r{round}w{writer}").parse().expect("id");
                    let mut request = AppendRequest::new("Account", id, n * batch);
                    request.events = (0..batch).map(|i| new_event(n * batch + i)).collect();
                    store.append(request).await.expect("append");
                }
            })
        };
        let heads: Arc<Vec<std::sync::Mutex<u64>>> =
            Arc::new((0..writers).map(|_| std::sync::Mutex::new(0)).collect());
        let run_plain = || {
            let js = js.clone();
            let heads = heads.clone();
            throughput(writers, move |writer, n| {
                let js = js.clone();
                let heads = heads.clone();
                async move {
                    let last = *heads[writer].lock().expect("lock");
                    let subject = format!("plain.Account.r{round}w{writer}");
                    let message = PublishMessage::build()
                        .payload(plain_payload(n, batch))
                        .expected_last_subject_sequence(last);
                    let ack = js
                        .send_publish(subject, message)
                        .await
                        .expect("publish")
                        .await
                        .expect("ack");
                    *heads[writer].lock().expect("lock") = ack.sequence;
                }
            })
        };
        // each round writes to new aggregates and subjects
        if round % 2 == 0 {
            store_rate += run_store().await;
            plain_rate += run_plain().await;
        } else {
            plain_rate += run_plain().await;
            store_rate += run_store().await;
        }
    }
    let events = batch as f64;
    row(
        &format!("appends, {writers} writers, {batch}-event commits"),
        "events/s",
        store_rate * events / ROUNDS as f64,
        plain_rate * events / ROUNDS as f64,
    );
    if writers == 1 {
        let (store, plain) = (
            stored_bytes(js, STORE_STREAM).await,
            stored_bytes(js, PLAIN_STREAM).await,
        );
        row(
            &format!("  stored bytes per {batch}-event commit"),
            "bytes",
            store,
            plain,
        );
    }
}

/// The bytes the server keeps per message of the stream `name` (subject,
/// headers, body and its own record).
async fn stored_bytes(js: &jetstream::Context, name: &str) -> f64 {
    let mut stream = js.get_stream(name).await.expect("the stream");
    let state = &stream.info().await.expect("stream info").state;
    state.bytes as f64 / state.messages.max(1) as f64
}

/// Commits per second over one phase: `writers` tasks each calling `op`
/// with its index and its own count of commits so far.
async fn throughput<F, Fut>(writers: usize, op: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let counts: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..writers).map(|_| 0.into()).collect());
    let started = Instant::now();
    let measure_from = started + WARM_UP;
    let until = measure_from + PHASE;
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let op = op.clone();
        let counts = counts.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            let mut measured = 0u64;
            while Instant::now() < until {
                op(writer, done).await;
                done += 1;
                if Instant::now() >= measure_from {
                    measured += 1;
                }
            }
            counts[writer].store(measured, std::sync::atomic::Ordering::Relaxed);
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let total: u64 = counts
        .iter()
        .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    total as f64 / PHASE.as_secs_f64()
}

async fn loads(url: &str, js: &jetstream::Context) {
    let store = fresh_store(url, js).await;
    let plain = fresh_plain(js).await;
    // one aggregate per load, so that no load reads what another cached
    let aggregates = LOADS * ROUNDS;
    for a in 0..aggregates {
        let id = format!("load-{a}");
        for version in 0..LOADED {
            let request = AppendRequest::new("Account", id.parse().expect("id"), version)
                .event(new_event(version));
            store.append(request).await.expect("seed the store");
            js.publish(format!("plain.Account.{id}"), plain_payload(version, 1))
                .await
                .expect("publish")
                .await
                .expect("ack");
        }
    }
    // a fresh handle: no cache of where the streams are
    let reader = NatsStore::connect(
        NatsOptions::new(url)
            .stream(STORE_STREAM)
            .prefix("bench")
            .storage(Storage::File),
    )
    .await
    .expect("connect the reader");
    let mut store_time = Duration::ZERO;
    let mut plain_time = Duration::ZERO;
    for a in 0..aggregates {
        let id = format!("load-{a}");
        let store_load = async {
            let started = Instant::now();
            let page = reader
                .load_page("Account", &id, 0, usize::MAX)
                .await
                .expect("load");
            assert_eq!(page.len() as u64, LOADED, "the store loads every event");
            started.elapsed()
        };
        let plain_load = async {
            let started = Instant::now();
            let read = read_ordered(&plain, &format!("plain.Account.{id}"), LOADED).await;
            assert_eq!(read, LOADED, "the consumer reads every message");
            started.elapsed()
        };
        if a % 2 == 0 {
            store_time += store_load.await;
            plain_time += plain_load.await;
        } else {
            plain_time += plain_load.await;
            store_time += store_load.await;
        }
    }
    let per_second = |time: Duration| aggregates as f64 / time.as_secs_f64();
    row(
        &format!("loads of {LOADED}-event aggregates"),
        "loads/s",
        per_second(store_time),
        per_second(plain_time),
    );
}

/// Reads `expected` messages of `filter` from the start with an ordered
/// consumer, within ten seconds; returns how many it read.
async fn read_ordered(stream: &jetstream::stream::Stream, filter: &str, expected: u64) -> u64 {
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: filter.to_owned(),
            deliver_policy: DeliverPolicy::All,
            ..OrderedConfig::default()
        })
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut read = 0;
    while read < expected {
        match tokio::time::timeout_at(deadline, messages.next()).await {
            Ok(Some(Ok(message))) => {
                std::hint::black_box(&message.payload);
                read += 1;
            }
            _ => break,
        }
    }
    read
}

async fn delivery(url: &str, js: &jetstream::Context) {
    let store = fresh_store(url, js).await;
    let plain = fresh_plain(js).await;
    let writers = 16u64;
    let per_writer = DELIVERED / writers;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let js = js.clone();
        tasks.push(tokio::spawn(async move {
            for version in 0..per_writer {
                let request =
                    AppendRequest::new("Account", format!("d-{w}").parse().expect("id"), version)
                        .event(new_event(version));
                store.append(request).await.expect("seed the store");
                js.publish(format!("plain.Account.d-{w}"), plain_payload(version, 1))
                    .await
                    .expect("publish")
                    .await
                    .expect("ack");
            }
        }));
    }
    for task in tasks {
        task.await.expect("seed");
    }
    let mut store_time = Duration::ZERO;
    let mut plain_time = Duration::ZERO;
    for round in 0..ROUNDS {
        let store_read = async {
            let started = Instant::now();
            let filter = EventFilter::all();
            let mut after = Checkpoint::BEGINNING;
            let mut read = 0u64;
            let deadline = Instant::now() + Duration::from_secs(60);
            while read < DELIVERED && Instant::now() < deadline {
                let page = store.read_page(after, &filter, 1_000).await.expect("read");
                read += page.events.len() as u64;
                after = page.end;
                if !page.more && page.events.is_empty() {
                    break;
                }
            }
            assert_eq!(read, DELIVERED, "the tracker delivers every event");
            started.elapsed()
        };
        let plain_read = async {
            let started = Instant::now();
            let read = read_ordered(&plain, "plain.>", DELIVERED).await;
            assert_eq!(read, DELIVERED, "the consumer reads every message");
            started.elapsed()
        };
        if round % 2 == 0 {
            store_time += store_read.await;
            plain_time += plain_read.await;
        } else {
            plain_time += plain_read.await;
            store_time += store_read.await;
        }
    }
    let per_second = |time: Duration| (DELIVERED * ROUNDS as u64) as f64 / time.as_secs_f64();
    row(
        &format!("tracker delivery of {DELIVERED} events"),
        "events/s",
        per_second(store_time),
        per_second(plain_time),
    );
}

fn row(workload: &str, unit: &str, store: f64, plain: f64) {
    println!(
        "{workload:<46} {:>12} {:>12} {:>6.2}x   ({unit})",
        format!("{store:.0}"),
        format!("{plain:.0}"),
        store / plain
    );
}
