//! `cargo bench -p eventstore-postgres`: the store against plain sqlx
//! statements on the same table shape, in the same run, on the PostgreSQL
//! named by `DATABASE_URL` (default: the local server). Every phase is
//! bounded in time; the whole run takes about four minutes.

mod account;
mod common;
mod replay;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventstore_core::backend::{AppendRequest, JsonText, NewEvent, Snapshot};
use eventstore_core::{
    Backoff, DEFAULT_MAX_ATTEMPTS, Error, EventId, EventStore, Options, Outcome, Repository,
};
use eventstore_postgres::{PgEventStore, PgStoreOptions};
use serde_json::Value;
use sqlx::PgPool;

use account::{Account, AccountEvent, Opened, Refused, deposit_event as deposit, opened_event};

/// How long each throughput phase measures, after a short warm-up.
const PHASE: Duration = Duration::from_secs(3);
const WARM_UP: Duration = Duration::from_millis(300);
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const STORE_SCHEMA: &str = "es_bench_store";
const PLAIN_SCHEMA: &str = "es_bench_plain";

const PLAIN_INSERT: &str = "INSERT INTO es_bench_plain.events \
    (id, aggregate_kind, aggregate_id, version, kind, body, metadata) \
    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)";
const PLAIN_BATCH: &str = "INSERT INTO es_bench_plain.events \
    (id, aggregate_kind, aggregate_id, version, kind, body, metadata) \
    SELECT e.id, $1, $2, $3 + e.n, e.kind, e.body::jsonb, $7::jsonb \
    FROM unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e (id, kind, body, n)";
const PLAIN_SELECT_STREAM: &str = "SELECT id, position, version, kind, body, metadata \
    FROM es_bench_plain.events WHERE aggregate_kind = $1 AND aggregate_id = $2 ORDER BY version";
const PLAIN_MAX_VERSION: &str = "SELECT coalesce(max(version), 0) FROM es_bench_plain.events \
    WHERE aggregate_kind = $1 AND aggregate_id = $2";

fn main() {
    common::block_on(run());
}

async fn run() {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let probe = PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url} ({e}); set DATABASE_URL or run scripts/ensure-postgres"));
    let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&probe)
        .await
        .expect("show");
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&probe)
        .await
        .expect("show");
    println!(
        "PostgreSQL {version} at {url}, synchronous_commit={sync}, {} cores",
        num_cpus()
    );
    println!(
        "each throughput figure: {} s after {} ms warm-up; ratio = store / plain sqlx\n",
        PHASE.as_secs(),
        WARM_UP.as_millis()
    );
    println!(
        "{:<52} {:>12} {:>12} {:>7}",
        "workload", "store", "plain sqlx", "ratio"
    );

    let only = filter();
    if only.is_none_or(|f| "appends".contains(f)) {
        for writers in [1, 4, 16] {
            single_event_appends(&url, writers, Keys::None).await;
        }
        for writers in [1, 4, 16] {
            single_event_appends(&url, writers, Keys::EachOwn).await;
        }
    }
    if only.is_none_or(|f| "batches".contains(f)) {
        batch_appends(&url, 4, 10).await;
    }
    if only.is_none_or(|f| "execute".contains(f)) {
        warm_executes(&url, 4).await;
    }
    if only.is_none_or(|f| "unanalyzed".contains(f)) {
        for writers in [1, 4] {
            unanalyzed_executes(&url, writers).await;
        }
    }
    if only.is_none_or(|f| "contention".contains(f)) {
        contention(&url, 16).await;
    }
    if only.is_none_or(|f| "loads".contains(f)) {
        for events in [1_000, 10_000, 100_000] {
            replay::loads(&url, events).await;
        }
    }
}

/// The workload named on the command line (`appends`, `batches`,
/// `execute`, `unanalyzed`, `contention`, `loads`), if any: `cargo bench
/// -p eventstore-postgres -- appends`.
fn filter() -> Option<&'static str> {
    let arg = std::env::args().skip(1).find(|a| !a.starts_with("--"))?;
    Some(Box::leak(arg.into_boxed_str()))
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Fresh schemas for the store and the baseline, with the same tables.
async fn fresh(url: &str, connections: u32) -> (PgEventStore, PgPool) {
    let store = schema(url, STORE_SCHEMA, connections).await;
    let plain = schema(url, PLAIN_SCHEMA, connections).await;
    (store, plain.pool().clone())
}

async fn schema(url: &str, name: &str, connections: u32) -> PgEventStore {
    common::fresh_schema(
        url,
        PgStoreOptions::default()
            .schema(name)
            .max_connections(connections),
    )
    .await
}

fn row(workload: &str, unit: &str, store: f64, plain: f64) {
    println!(
        "{:<52} {:>12} {:>12} {:>6.2}x",
        workload,
        format!("{store:.0} {unit}"),
        format!("{plain:.0} {unit}"),
        store / plain
    );
}

/// Runs `op(tag, writer, iteration)` from `writers` tasks for the phase and
/// returns operations per second. `tag` differs between warm-up and
/// measurement so that each run writes to streams of its own.
async fn throughput<F, Fut>(writers: usize, op: F) -> f64
where
    F: Fn(&'static str, usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let mut per_second = 0.0;
    for (tag, phase) in [("warm", WARM_UP), ("run", PHASE)] {
        let start = Instant::now();
        let deadline = start + phase;
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let op = Arc::clone(&op);
                tokio::spawn(async move {
                    let mut i = 0;
                    while Instant::now() < deadline {
                        op(tag, w, i).await;
                        i += 1;
                    }
                    i
                })
            })
            .collect();
        let mut ops = 0;
        for task in tasks {
            ops += task.await.expect("writer");
        }
        per_second = ops as f64 / start.elapsed().as_secs_f64();
    }
    per_second
}

async fn plain_insert(
    pool: &PgPool,
    id: &str,
    version: u64,
    event: &NewEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(PLAIN_INSERT)
        .bind(EventId::new().to_string())
        .bind("Account")
        .bind(id)
        .bind(version as i64)
        .bind(&event.kind)
        .bind(event.body.as_str())
        .bind("{}")
        .execute(pool)
        .await
        .map(drop)
}

/// Whether the appends of a workload carry idempotency keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// None.
    None,
    /// Each append a key of its own: what a keyed command costs the store
    /// (the plain inserts it is compared with have none).
    EachOwn,
}

async fn single_event_appends(url: &str, writers: usize, keys: Keys) {
    let (store, plain) = fresh(url, writers as u32).await;
    let ours = throughput(writers, move |tag, w, i| {
        let store = store.clone();
        async move {
            let mut request =
                AppendRequest::new("Account", format!("{tag}-{w}").parse().unwrap(), i)
                    .event(deposit(i));
            if keys == Keys::EachOwn {
                request = request.idempotency_key(format!("k-{i}"));
            }
            store.append(request).await.expect("append");
        }
    })
    .await;
    let pool = plain.clone();
    let autocommit = throughput(writers, move |tag, w, i| {
        let pool = pool.clone();
        async move {
            plain_insert(&pool, &format!("{tag}-{w}"), i + 1, &deposit(i))
                .await
                .expect("insert");
        }
    })
    .await;
    let pool = plain;
    let transaction = throughput(writers, move |tag, w, i| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.expect("begin");
            sqlx::query(PLAIN_INSERT)
                .bind(EventId::new().to_string())
                .bind("Account")
                .bind(format!("{tag}-tx-{w}"))
                .bind((i + 1) as i64)
                .bind("MoneyDeposited")
                .bind(deposit(i).body.as_str())
                .bind("{}")
                .execute(&mut *tx)
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
        }
    })
    .await;
    let keyed = if keys == Keys::EachOwn {
        " with a key"
    } else {
        ""
    };
    let label = format!("single-event appends{keyed}, {writers} writer(s)");
    row(&label, "ev/s", ours, autocommit);
    row(
        &format!("  vs BEGIN/INSERT/COMMIT, {writers} writer(s)"),
        "ev/s",
        ours,
        transaction,
    );
}

async fn batch_appends(url: &str, writers: usize, batch: u64) {
    let (store, plain) = fresh(url, writers as u32).await;
    let ours = throughput(writers, move |tag, w, i| {
        let store = store.clone();
        async move {
            let mut request =
                AppendRequest::new("Account", format!("{tag}-{w}").parse().unwrap(), i * batch);
            request.events = (0..batch).map(|k| deposit(i * batch + k)).collect();
            store.append(request).await.expect("append");
        }
    })
    .await;
    let base = throughput(writers, move |tag, w, i| {
        let pool = plain.clone();
        async move {
            let events: Vec<NewEvent> = (0..batch).map(|k| deposit(i * batch + k)).collect();
            sqlx::query(PLAIN_BATCH)
                .bind("Account")
                .bind(format!("{tag}-{w}"))
                .bind((i * batch) as i64)
                .bind(
                    events
                        .iter()
                        .map(|_| EventId::new().to_string())
                        .collect::<Vec<_>>(),
                )
                .bind(events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>())
                .bind(events.iter().map(|e| e.body.as_str()).collect::<Vec<_>>())
                .bind("{}")
                .execute(&pool)
                .await
                .expect("insert batch");
        }
    })
    .await;
    let label = format!("{batch}-event batches, {writers} writers");
    row(&label, "ev/s", ours * batch as f64, base * batch as f64);
}

/// Opens `count` accounts of `events` events each, through the store, in
/// `store`'s schema and the plain one.
async fn seed(store: &PgEventStore, plain: &PgPool, ids: &[String], events: u64) {
    for id in ids {
        let mut version = 0;
        let mut batch = vec![opened_event()];
        while version < events {
            batch.extend((batch.len() as u64..500).map(deposit));
            batch.truncate((events - version) as usize);
            let mut request = AppendRequest::new("Account", id.parse().unwrap(), version);
            request.events.clone_from(&batch);
            store.append(request).await.expect("seed store");
            let mut plain_version = version;
            for event in &batch {
                plain_version += 1;
                plain_insert(plain, id, plain_version, event)
                    .await
                    .expect("seed plain");
            }
            version += batch.len() as u64;
            batch.clear();
        }
    }
}

async fn snapshot_now(store: &PgEventStore, id: &str) {
    let loaded = Repository::new(store.clone())
        .load::<Account>(id)
        .await
        .expect("load");
    let snapshot = Snapshot {
        aggregate_kind: "Account".into(),
        aggregate_id: id.parse().unwrap(),
        version: loaded.version,
        forgets: 0,
        schema_version: 1,
        state: JsonText::encode(&loaded.state).expect("state"),
    };
    store.save_snapshot(snapshot).await.expect("save snapshot");
}

async fn warm_executes(url: &str, writers: usize) {
    const PER_WRITER: usize = 16;
    let (store, plain) = fresh(url, writers as u32).await;
    let ids: Vec<String> = (0..writers * PER_WRITER)
        .map(|n| format!("acc-{n}"))
        .collect();
    seed(&store, &plain, &ids, 100).await;
    for id in &ids {
        snapshot_now(&store, id).await;
    }
    let repo = Arc::new(Repository::new(store).snapshot_every(100));
    let ours = throughput(writers, move |_, w, i| {
        let repo = Arc::clone(&repo);
        async move {
            let id = format!("acc-{}", w * PER_WRITER + (i as usize % PER_WRITER));
            repo.execute(&id, Options::default(), |a: &Account| a.deposit(1, "bench"))
                .await
                .and_then(Outcome::into_result)
                .expect("execute");
        }
    })
    .await;
    let pool = plain.clone();
    let select_all = throughput(writers, move |_, w, i| {
        let pool = pool.clone();
        async move {
            let id = format!("acc-{}", w * PER_WRITER + (i as usize % PER_WRITER));
            let rows = sqlx::query(PLAIN_SELECT_STREAM)
                .bind("Account")
                .bind(&id)
                .fetch_all(&pool)
                .await
                .expect("select");
            let mut version = 0_i64;
            for row in &rows {
                let _: Value = sqlx::Row::get(row, "body");
                version = sqlx::Row::get(row, "version");
            }
            plain_insert(&pool, &id, version as u64 + 1, &deposit(i))
                .await
                .expect("insert");
        }
    })
    .await;
    let pool = plain;
    let select_max = throughput(writers, move |_, w, i| {
        let pool = pool.clone();
        async move {
            let id = format!("acc-{}", w * PER_WRITER + (i as usize % PER_WRITER));
            let version: i64 = sqlx::query_scalar(PLAIN_MAX_VERSION)
                .bind("Account")
                .bind(&id)
                .fetch_one(&pool)
                .await
                .expect("max");
            plain_insert(&pool, &id, version as u64 + 1, &deposit(i))
                .await
                .expect("insert");
        }
    })
    .await;
    row(
        &format!("execute on 100-event aggregates, {writers} writers"),
        "cmd/s",
        ours,
        select_all,
    );
    row(
        "  vs select max(version) then insert",
        "cmd/s",
        ours,
        select_max,
    );
}

/// `writers` tasks run deposits on one aggregate for the phase: with the
/// default options, without a backoff (the baseline, the ratio's
/// denominator) and as before issue 15 (no backoff, 10 attempts),
/// alternating, two rounds. Prints commands done per second, conflicts
/// retried (attempts beyond the first, of every command), the most attempts
/// a command took, and the commands that gave up.
async fn contention(url: &str, writers: usize) {
    let (store, _) = fresh(url, writers as u32).await;
    println!("(contention: the baseline is no backoff, with the same max attempts)");
    let configs = [
        ("no backoff", Backoff::NONE, DEFAULT_MAX_ATTEMPTS),
        ("default options", Backoff::default(), DEFAULT_MAX_ATTEMPTS),
        ("no backoff, 10 attempts", Backoff::NONE, 10),
    ];
    for round in 1..=2 {
        let mut baseline = None;
        for (n, (name, backoff, max_attempts)) in configs.into_iter().enumerate() {
            let id = format!("hot-{round}-{n}");
            let mut open = AppendRequest::new("Account", id.parse().unwrap(), 0);
            open.events.push(opened_event());
            store.append(open).await.expect("open");
            let repo = Arc::new(
                Repository::new(store.clone())
                    .snapshot_every(100)
                    .retry_backoff(backoff)
                    .max_attempts(max_attempts),
            );
            let start = Instant::now();
            let deadline = start + PHASE;
            let tasks: Vec<_> = (0..writers)
                .map(|_| {
                    let (repo, id) = (Arc::clone(&repo), id.clone());
                    tokio::spawn(async move {
                        let mut race = Race::default();
                        while Instant::now() < deadline {
                            let deposit = |a: &Account| a.deposit(1, "bench");
                            match repo.execute(&id, Options::default(), deposit).await {
                                Ok(Outcome::Done(c)) => race.count(c.attempts, false),
                                Err(Error::Conflict { attempts, .. }) => race.count(attempts, true),
                                other => panic!("execute: {other:?}"),
                            }
                        }
                        race
                    })
                })
                .collect();
            let mut race = Race::default();
            for task in tasks {
                race.add(&task.await.expect("writer"));
            }
            let per_second = race.done as f64 / start.elapsed().as_secs_f64();
            let base = *baseline.get_or_insert(per_second);
            println!(
                "{:<52} {:>12} {:>12} {:>6.2}x  {} retried, most attempts {}, {} of {} gave up",
                format!("{writers} writers on one aggregate, {name}"),
                format!("{per_second:.0} cmd/s"),
                format!("{base:.0} cmd/s"),
                per_second / base,
                race.retried,
                race.most_attempts,
                race.gave_up,
                race.done + race.gave_up,
            );
        }
    }
}

/// What the writers of [`contention`] saw.
#[derive(Default)]
struct Race {
    done: u64,
    gave_up: u64,
    retried: u64,
    most_attempts: u32,
}

impl Race {
    fn count(&mut self, attempts: u32, gave_up: bool) {
        if gave_up {
            self.gave_up += 1;
        } else {
            self.done += 1;
        }
        self.retried += u64::from(attempts - 1);
        self.most_attempts = self.most_attempts.max(attempts);
    }

    fn add(&mut self, other: &Self) {
        self.done += other.done;
        self.gave_up += other.gave_up;
        self.retried += other.retried;
        self.most_attempts = self.most_attempts.max(other.most_attempts);
    }
}

/// Commands on new aggregates on tables that were never analyzed (as in a
/// new deployment, autovacuum off on them so that it cannot analyze them
/// during the phase), against the same after `ANALYZE`: the ratio is what
/// the missing statistics cost (tests/tests/postgres_plans.rs checks the
/// plans).
async fn unanalyzed_executes(url: &str, writers: usize) {
    let store = schema(url, STORE_SCHEMA, writers as u32).await;
    for table in ["events", "snapshots"] {
        sqlx::query(&format!(
            "ALTER TABLE {STORE_SCHEMA}.{table} SET (autovacuum_enabled = off)"
        ))
        .execute(store.pool())
        .await
        .expect("autovacuum off");
    }
    let pool = store.pool().clone();
    let repo = Arc::new(Repository::new(store));
    let mut per_second = Vec::new();
    for stage in ["unanalyzed", "analyzed"] {
        if stage == "analyzed" {
            sqlx::query(&format!(
                "ANALYZE {STORE_SCHEMA}.events, {STORE_SCHEMA}.snapshots"
            ))
            .execute(&pool)
            .await
            .expect("analyze");
        }
        let repo = Arc::clone(&repo);
        per_second.push(
            throughput(writers, move |tag, w, i| {
                let repo = Arc::clone(&repo);
                async move {
                    let id = format!("{stage}-{tag}-{w}-{i}");
                    repo.execute(&id, Options::default(), |_: &Account| {
                        Ok::<_, Refused>(vec![AccountEvent::Opened(Opened {
                            owner: None,
                            initial_balance: 1,
                        })])
                    })
                    .await
                    .and_then(Outcome::into_result)
                    .expect("execute");
                }
            })
            .await,
        );
    }
    row(
        &format!("execute on new aggregates, unanalyzed, {writers} writers"),
        "cmd/s",
        per_second[0],
        per_second[1],
    );
    println!("  (baseline: the same commands after ANALYZE)");
}
