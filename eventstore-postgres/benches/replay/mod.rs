//! Full replays (`loads`): a load against a plain select of the same rows
//! in the same run. (`--bench memory -- replay` measures their peak
//! memory.)

use std::time::{Duration, Instant};

use eventstore_core::Repository;
use eventstore_postgres::PgEventStore;
use serde_json::Value;
use sqlx::PgPool;

use crate::account::{Account, append_history};
use crate::{PHASE, PLAIN_SCHEMA, PLAIN_SELECT_STREAM, STORE_SCHEMA, fresh, snapshot_now};

/// What one round of [`loads`] measures, in this order.
#[derive(Debug, Clone, Copy)]
enum Load {
    /// The repository, every event, in pages of
    /// [`DEFAULT_PAGE_SIZE`](eventstore_core::DEFAULT_PAGE_SIZE).
    Replay,
    /// The repository, every event, in one read.
    OneRead,
    /// The baseline: the rows selected with sqlx, each body decoded.
    Select,
}

const LOADS: [Load; 3] = [Load::Replay, Load::OneRead, Load::Select];

/// Loads of one `events`-event stream: from a snapshot at its last version
/// (the median of back-to-back loads, at most 50 or one phase), then
/// replayed in pages and in one read against a plain select of the same
/// rows. These three run in turn, round after round (at most 50 rounds, or
/// three phases), so that a machine whose load drifts weighs on all three
/// alike; each figure is the median of its rounds.
pub(crate) async fn loads(url: &str, events: u64) {
    let (store, plain) = fresh(url, 2).await;
    for id in ["snapshotted", "replayed"] {
        append_history(&store, id, events).await;
    }
    copy_to_plain(&store, "replayed").await;
    snapshot_now(&store, "snapshotted").await;
    let paged = Repository::new(store.clone());
    let one_read = Repository::new(store).page_size(usize::MAX);
    let mut snapshot = Vec::new();
    let start = Instant::now();
    while snapshot.len() < 50 && (snapshot.len() < 3 || start.elapsed() < PHASE) {
        let begin = Instant::now();
        assert_eq!(replay(&paged, "snapshotted").await, events);
        snapshot.push(begin.elapsed());
    }
    let mut times: [Vec<Duration>; LOADS.len()] = Default::default();
    let start = Instant::now();
    while times[0].len() < 50 && (times[0].len() < 3 || start.elapsed() < 3 * PHASE) {
        for (load, times) in LOADS.into_iter().zip(&mut times) {
            let begin = Instant::now();
            let version = match load {
                Load::Replay => replay(&paged, "replayed").await,
                Load::OneRead => replay(&one_read, "replayed").await,
                Load::Select => select(&plain, "replayed").await,
            };
            times.push(begin.elapsed());
            assert_eq!(version, events, "{load:?} read the whole stream");
        }
    }
    let [paged, one_read, select] = times.map(per_second);
    let label = |what: &str| format!("load {events}-event aggregate, {what}");
    rate_row(&label("with snapshot"), per_second(snapshot), select);
    rate_row(&label("full replay"), paged, select);
    rate_row(&label("full replay, one read"), one_read, select);
}

/// The median of `times`, as a rate per second.
fn per_second(mut times: Vec<Duration>) -> f64 {
    times.sort();
    1.0 / times[times.len() / 2].as_secs_f64()
}

/// A row of loads per second, with a decimal below 100 (a load of 100,000
/// events takes a good part of a second).
fn rate_row(workload: &str, store: f64, plain: f64) {
    let rate = |r: f64| {
        if r < 100.0 {
            format!("{r:.1} /s")
        } else {
            format!("{r:.0} /s")
        }
    };
    println!(
        "{:<52} {:>12} {:>12} {:>6.2}x",
        workload,
        rate(store),
        rate(plain),
        store / plain
    );
}

/// Copies the store's stream `id` into the plain schema's table.
async fn copy_to_plain(store: &PgEventStore, id: &str) {
    sqlx::query(&format!(
        "INSERT INTO {PLAIN_SCHEMA}.events \
         (id, aggregate_kind, aggregate_id, version, kind, body, metadata) \
         SELECT id, aggregate_kind, aggregate_id, version, kind, body, metadata \
         FROM {STORE_SCHEMA}.events WHERE aggregate_kind = 'Account' AND aggregate_id = $1 \
         ORDER BY version"
    ))
    .bind(id)
    .execute(store.pool())
    .await
    .expect("copy the stream to the plain table");
}

/// Loads the account `id`; its version.
async fn replay(repo: &Repository<PgEventStore>, id: &str) -> u64 {
    repo.load::<Account>(id).await.expect("load").version
}

/// The baseline: selects the rows of the stream `id` and decodes each
/// body; the last version.
async fn select(plain: &PgPool, id: &str) -> u64 {
    let rows = sqlx::query(PLAIN_SELECT_STREAM)
        .bind("Account")
        .bind(id)
        .fetch_all(plain)
        .await
        .expect("select");
    let mut version = 0_i64;
    for row in &rows {
        let _: Value = sqlx::Row::get(row, "body");
        version = sqlx::Row::get(row, "version");
    }
    u64::try_from(version).expect("a version")
}
