//! `cargo bench -p eventstore-postgres --bench import`: importing 100,000
//! events (1,000 streams of 100) from JSON lines with
//! `PgEventStore::import`, against a bare `COPY` of the same rows, ready
//! encoded, into a table of the same columns and indexes, in rounds that
//! alternate which runs first. The bare `COPY` runs in both of COPY's
//! formats, which shows which one the server takes faster. Every round
//! is bounded: it stops early after a few minutes.

mod common;

use std::time::{Duration, Instant, UNIX_EPOCH};

use eventstore_core::EventId;
use eventstore_core::backend::stream_hash;
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use sqlx::Connection;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const STREAMS: u64 = 1_000;
const PER_STREAM: u64 = 100;
const EVENTS: u64 = STREAMS * PER_STREAM;
const ROUNDS: u32 = 7;
/// The bare COPY sends its rows in pieces of this size.
const SEND_BYTES: usize = 64 << 10;
/// The whole run stops starting rounds after this.
const LIMIT: Duration = Duration::from_secs(300);
const STORE_SCHEMA: &str = "es_bench_import";
const PLAIN_SCHEMA: &str = "es_bench_copy";
const COLUMNS: &str =
    "(id, aggregate_kind, aggregate_id, version, kind, body, metadata, created_at, stream_hash)";
/// 2024-01-01T00:00:00Z
const FIRST_SECOND: u64 = 1_704_067_200;
const POSTGRES_EPOCH_SECONDS: u64 = 946_684_800;

fn main() {
    common::block_on(run());
}

/// One event of the workload: stream `s`, version `v`.
struct Event {
    stream: String,
    version: u64,
    kind: &'static str,
    body: String,
    second: u64,
}

fn events() -> impl Iterator<Item = Event> {
    (0..STREAMS).flat_map(|s| {
        (1..=PER_STREAM).map(move |version| {
            let (kind, body) = if version == 1 {
                (
                    "Opened",
                    r#"{"owner":"Ada","initial_balance":100}"#.to_owned(),
                )
            } else {
                (
                    "MoneyDeposited",
                    format!(r#"{{"amount":{version},"transaction":"t-{s}-{version}"}}"#),
                )
            };
            Event {
                stream: format!("acc-{s}"),
                version,
                kind,
                body,
                second: FIRST_SECOND + s * PER_STREAM + version,
            }
        })
    })
}

/// The workload as the import reads it.
fn json_lines() -> Vec<u8> {
    let mut lines = Vec::new();
    for e in events() {
        let time = format_time(e.second);
        let line = format!(
            r#"{{"aggregate_kind":"Account","aggregate_id":"{}","kind":"{}","version":{},"body":{},"time":"{time}"}}"#,
            e.stream, e.kind, e.version, e.body
        );
        lines.extend_from_slice(line.as_bytes());
        lines.push(b'\n');
    }
    lines
}

/// `second` (since the Unix epoch, in 2024) as RFC 3339.
fn format_time(second: u64) -> String {
    let in_year = second - FIRST_SECOND;
    let (day, rest) = (in_year / 86_400, in_year % 86_400);
    // 2024 is a leap year: months of 31, 29, 31, 30...
    let months = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut month, mut day_of_month) = (0, day);
    while day_of_month >= months[month] {
        day_of_month -= months[month];
        month += 1;
    }
    format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        month + 1,
        day_of_month + 1,
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The same rows, ready for a bare COPY in the binary format.
fn binary_rows() -> Vec<u8> {
    let mut b = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
    let field = |b: &mut Vec<u8>, bytes: &[u8]| {
        b.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        b.extend_from_slice(bytes);
    };
    for e in events() {
        b.extend_from_slice(&9_i16.to_be_bytes());
        let id = event_id(e.second);
        field(&mut b, id.as_bytes());
        field(&mut b, b"Account");
        field(&mut b, e.stream.as_bytes());
        field(&mut b, &(e.version as i64).to_be_bytes());
        field(&mut b, e.kind.as_bytes());
        field(&mut b, &[&[1][..], e.body.as_bytes()].concat());
        field(&mut b, b"\x01{}");
        let micros = (e.second - POSTGRES_EPOCH_SECONDS) as i64 * 1_000_000;
        field(&mut b, &micros.to_be_bytes());
        field(
            &mut b,
            &i64::from_ne_bytes(stream_hash(&e.stream).to_ne_bytes()).to_be_bytes(),
        );
    }
    b.extend_from_slice(&(-1_i16).to_be_bytes());
    b
}

/// The same rows, ready for a bare COPY in the text format.
fn text_rows() -> Vec<u8> {
    let mut rows = String::new();
    for e in events() {
        let body = e.body.replace('\\', "\\\\");
        rows.push_str(&format!(
            "{}\tAccount\t{}\t{}\t{}\t{body}\t{{}}\t{}\t{}\n",
            event_id(e.second),
            e.stream,
            e.version,
            e.kind,
            format_time(e.second),
            i64::from_ne_bytes(stream_hash(&e.stream).to_ne_bytes())
        ));
    }
    rows.into_bytes()
}

fn event_id(second: u64) -> String {
    EventId::at(UNIX_EPOCH + Duration::from_secs(second))
        .expect("a 2024 time")
        .to_string()
}

async fn schema(url: &str, name: &str) -> PgEventStore {
    common::fresh_schema(
        url,
        PgStoreOptions::default().schema(name).max_connections(2),
    )
    .await
}

async fn truncate(store: &PgEventStore) {
    sqlx::query(&format!("TRUNCATE {}.events", store.schema()))
        .execute(store.pool())
        .await
        .expect("truncate");
}

async fn count(store: &PgEventStore) -> u64 {
    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}.events", store.schema()))
        .fetch_one(store.pool())
        .await
        .expect("count");
    n as u64
}

/// Imports the JSON lines into an empty store. Events per second.
async fn import(store: &PgEventStore, lines: &[u8]) -> f64 {
    truncate(store).await;
    let started = Instant::now();
    let report = store.import(lines).await.expect("import");
    let per_second = report.events as f64 / started.elapsed().as_secs_f64();
    assert_eq!((report.events, count(store).await), (EVENTS, EVENTS));
    per_second
}

/// A bare COPY of `rows` in `format` into an empty table, in one
/// transaction. Events per second.
async fn bare_copy(plain: &PgEventStore, rows: &[u8], format: &str) -> f64 {
    truncate(plain).await;
    let started = Instant::now();
    let mut connection = plain.pool().acquire().await.expect("connection");
    let mut tx = connection.begin().await.expect("begin");
    let statement = format!("COPY {PLAIN_SCHEMA}.events {COLUMNS} FROM STDIN (FORMAT {format})");
    let mut copy = tx.copy_in_raw(&statement).await.expect("copy");
    // in pieces, as psql's \copy sends them, so that the server inserts
    // while the rest arrives (one message would arrive whole first)
    for piece in rows.chunks(SEND_BYTES) {
        copy.send(piece).await.expect("send");
    }
    copy.finish().await.expect("finish");
    tx.commit().await.expect("commit");
    let per_second = EVENTS as f64 / started.elapsed().as_secs_f64();
    assert_eq!(count(plain).await, EVENTS);
    per_second
}

async fn run() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let store = schema(&url, STORE_SCHEMA).await;
    let plain = schema(&url, PLAIN_SCHEMA).await;
    let lines = json_lines();
    let (binary, text) = (binary_rows(), text_rows());
    println!(
        "PostgreSQL at {url}; {EVENTS} events ({STREAMS} streams of {PER_STREAM}), {:.1} MB of JSON lines; \
         events/s, each into an empty table\n",
        lines.len() as f64 / 1e6
    );
    println!(
        "{:<9} {:>12} {:>16} {:>14} {:>16} {:>14}",
        "round", "import", "bare COPY binary", "import/binary", "bare COPY text", "binary/text"
    );
    let started = Instant::now();
    let mut ratios = Vec::new();
    for round in 1..=ROUNDS {
        if started.elapsed() > LIMIT {
            println!("stopped after {LIMIT:?}");
            break;
        }
        let (imported, copied_binary, copied_text) = if round % 2 == 1 {
            let i = import(&store, &lines).await;
            (
                i,
                bare_copy(&plain, &binary, "binary").await,
                bare_copy(&plain, &text, "text").await,
            )
        } else {
            let b = bare_copy(&plain, &binary, "binary").await;
            let t = bare_copy(&plain, &text, "text").await;
            (import(&store, &lines).await, b, t)
        };
        ratios.push(imported / copied_binary);
        println!(
            "{:<9} {:>12.0} {:>16.0} {:>13.2}x {:>16.0} {:>13.2}x",
            round,
            imported,
            copied_binary,
            imported / copied_binary,
            copied_text,
            copied_binary / copied_text
        );
    }
    for schema in [&store, &plain] {
        common::drop_schema(schema).await;
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!(
            "\nimport / bare binary COPY, median of {} rounds: {median:.2}x",
            ratios.len()
        );
    }
}
