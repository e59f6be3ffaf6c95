//! `cargo bench -p eventstore-postgres --bench schema`: what event schema
//! evolution costs reads (issue 18), on the MemoryStore (CPU alone) and
//! on PostgreSQL, in rounds that alternate which variant runs first.
//!
//! - `current`: a 10,000-event stream of current-version rows, loaded
//!   (`Repository::load`) and delivered (tracker pages routed to a
//!   reactor) by a family without upcasters (`plain`) and by the same
//!   family with an upcaster chain for another kind (`chained`): current
//!   rows should cost nothing extra, a ratio of 1 within noise.
//! - `upcast`: a 10,000-event stream written at version 1 against one
//!   written at version 2, loaded by a family with a typed upcaster
//!   (`typed`) and one with a raw upcaster (`raw`); and one JSON pass
//!   (`json`: `serde_json::from_str` of the 10,000 bodies) that the extra
//!   cost per row is counted in.
//!
//! Words after `--` select: a group, a store (`memory`, `postgres`), a
//! comparison (`load`, `delivery`, `typed`, `raw`, `json`) or one variant
//! (`plain`, `chained`, `v1`, `v2`), which then runs alone, for
//! instruction counts: `valgrind --tool=callgrind
//! --toggle-collect='*measured_run*' <bench binary> current memory load
//! plain` counts the instructions of its runs only: `ROUNDS` and one to
//! warm up. `ROUNDS` (51 unless set) is the number of rounds.

mod common;
mod ledger;
mod rounds;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventstore_core::backend::AppendRequest;
use eventstore_core::reactor::{HandlerError, React, route};
use eventstore_core::{
    Checkpoint, Event, EventBody, EventFilter, EventStore, MemoryStore, RecordedEvent, Repository,
    Tracker,
};
use eventstore_postgres::PgStoreOptions;

use ledger::{
    CURRENT, ChainedEvent, ChainedEventReactor, ChainedLedger, Entry, PlainEvent,
    PlainEventReactor, PlainLedger, Tallied, Tally, V1, V2, VersionedBook, VersionedRawBook,
};
use rounds::Series;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const SCHEMA: &str = "es_bench_schema";
/// The events of each stream.
const EVENTS: u64 = 10_000;
/// Events appended per request when seeding.
const SEED_BATCH: u64 = 500;
/// Events per tracker page in delivery: the runner's default batch size.
const DELIVERY_PAGE: usize = 100;
/// The whole run stops starting rounds after this.
const LIMIT: Duration = Duration::from_secs(240);

/// A family of the bench, as `Repository::load` folds it.
#[derive(Debug, Clone, Copy)]
enum Family {
    /// [`PlainLedger`]: no upcasters.
    Plain,
    /// [`ChainedLedger`]: an upcaster chain for `Opened`.
    Chained,
    /// [`VersionedBook`]: `Entry` v1 through a typed upcaster.
    Typed,
    /// [`VersionedRawBook`]: `Entry` v1 through a raw upcaster.
    Raw,
}

/// What one variant does, once.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// `Repository::load` of a stream with a family.
    Load(Family, &'static str),
    /// The current stream read in tracker pages, each event routed to a
    /// reactor of the family (`Plain` or `Chained`).
    Deliver(Family),
    /// `serde_json::from_str::<Entry>` of the current stream's bodies.
    JsonPass,
}

/// Variants measured in the same rounds; the first is the baseline.
struct Comparison {
    /// The words that select it.
    tags: &'static [&'static str],
    /// What the table calls it.
    label: &'static str,
    /// Its variants: name and work.
    variants: &'static [(&'static str, Work)],
}

/// Every comparison, in the order they run on each store, whose name
/// selects them all too. The first, the JSON pass alone, is what the
/// upcast comparisons count their extra cost in.
const COMPARISONS: [Comparison; 5] = [
    Comparison {
        tags: &["upcast", "json"],
        label: "one JSON pass (from_str::<Entry>)",
        variants: &[("json", Work::JsonPass)],
    },
    Comparison {
        tags: &["current", "load"],
        label: "load, current rows",
        variants: &[
            ("plain", Work::Load(Family::Plain, CURRENT)),
            ("chained", Work::Load(Family::Chained, CURRENT)),
        ],
    },
    Comparison {
        tags: &["current", "delivery"],
        label: "delivery, current rows",
        variants: &[
            ("plain", Work::Deliver(Family::Plain)),
            ("chained", Work::Deliver(Family::Chained)),
        ],
    },
    Comparison {
        tags: &["upcast", "typed"],
        label: "load, typed upcaster",
        variants: &[
            ("v2", Work::Load(Family::Typed, V2)),
            ("v1", Work::Load(Family::Typed, V1)),
        ],
    },
    Comparison {
        tags: &["upcast", "raw"],
        label: "load, raw upcaster",
        variants: &[
            ("v2", Work::Load(Family::Raw, V2)),
            ("v1", Work::Load(Family::Raw, V1)),
        ],
    },
];

/// The words given after `--`, each of which a run must match.
struct Selection(Vec<String>);

impl Selection {
    /// The words of the command line, each checked to select something.
    fn from_args() -> Self {
        let words: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        let known = |word: &str| {
            ["memory", "postgres"].contains(&word)
                || COMPARISONS.iter().any(|c| {
                    c.tags.contains(&word) || c.variants.iter().any(|(name, _)| *name == word)
                })
        };
        if let Some(unknown) = words.iter().find(|w| !known(w)) {
            panic!(
                "{unknown:?} selects nothing: use groups (current, upcast), stores (memory, \
                 postgres), comparisons (load, delivery, typed, raw, json) or variants (plain, \
                 chained, v1, v2)"
            );
        }
        Self(words)
    }

    /// The variants of `comparison` to run on `store`: all of them, the
    /// one named, or none when a word matches nothing of it.
    fn variants(&self, comparison: &Comparison, store: &str) -> Vec<(&'static str, Work)> {
        let tagged = |word: &str| comparison.tags.contains(&word) || word == store;
        let named = |word: &str| comparison.variants.iter().any(|(name, _)| *name == word);
        let applies = self.0.iter().all(|w| tagged(w) || named(w));
        if !applies {
            return Vec::new();
        }
        comparison
            .variants
            .iter()
            .filter(|(name, _)| {
                let alone = self.0.iter().any(|w| named(w) && !tagged(w));
                !alone || self.0.iter().any(|w| w == name)
            })
            .copied()
            .collect()
    }
}

/// Runs the bench on a runtime like every bench's.
fn main() {
    common::block_on(run());
}

/// Checks the families, then runs the comparisons selected, on the
/// MemoryStore and then on PostgreSQL.
async fn run() {
    ledger::check_families();
    let selection = Selection::from_args();
    let rounds = rounds::rounds();
    let selected = |store: &str| {
        COMPARISONS
            .iter()
            .any(|c| !selection.variants(c, store).is_empty())
    };
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    println!(
        "streams of {EVENTS} events; delivery in tracker pages of {DELIVERY_PAGE}; \
         PostgreSQL at {url}, 2 cores shared by client and server"
    );
    rounds::header(rounds);
    let started = Instant::now();
    if selected("memory") {
        let bench = Bench::seeded(MemoryStore::new(), "memory").await;
        bench.compare_all(&selection, rounds, started).await;
    }
    if selected("postgres") {
        let options = PgStoreOptions::default().schema(SCHEMA).max_connections(2);
        let store = common::fresh_schema(&url, options).await;
        let bench = Bench::seeded(store.clone(), "postgres").await;
        // what autovacuum would do after the seeding, and the writes it made
        // flushed, so that neither runs during the rounds
        for statement in [
            format!("VACUUM ANALYZE {SCHEMA}.events"),
            "CHECKPOINT".into(),
        ] {
            sqlx::query(&statement)
                .execute(store.pool())
                .await
                .expect(&statement);
        }
        bench.compare_all(&selection, rounds, started).await;
        common::drop_schema(&store).await;
    }
    println!("\n{:.0} s in all", started.elapsed().as_secs_f64());
}

/// A store holding the bench's three streams, and what it reads them with.
struct Bench<S: EventStore> {
    /// Loads from the store, which it holds.
    repo: Repository<S>,
    /// `memory` or `postgres`.
    name: &'static str,
    /// The bodies of the current stream, for the JSON pass.
    bodies: Vec<EventBody>,
    /// What every stream folds into.
    expected: Tally,
}

impl<S: EventStore + Tracker + Clone> Bench<S> {
    /// Writes the streams [`CURRENT`], [`V1`] and [`V2`] to `store`.
    async fn seeded(store: S, name: &'static str) -> Self {
        for stream in [CURRENT, V1, V2] {
            let mut version = 0;
            while version < EVENTS {
                let kind = ledger::aggregate_kind(stream);
                let id = stream.parse().expect("an id");
                let mut request = AppendRequest::new(kind, id, version);
                request.events = (version..(version + SEED_BATCH).min(EVENTS))
                    .map(|n| ledger::row(stream, n))
                    .collect();
                version += request.events.len() as u64;
                store.append(request).await.expect("seed");
            }
        }
        Self {
            repo: Repository::new(store),
            name,
            bodies: (0..EVENTS).map(|n| ledger::row(CURRENT, n).body).collect(),
            expected: Tally::of(EVENTS),
        }
    }

    /// Runs every comparison selected on this store, each for `rounds`
    /// rounds unless the run has taken [`LIMIT`] already. The upcast
    /// comparisons count their extra cost in JSON passes measured on this
    /// store's turn, before them.
    async fn compare_all(&self, selection: &Selection, rounds: usize, started: Instant) {
        println!("\n{}", self.name);
        let mut json_pass = None;
        for comparison in &COMPARISONS {
            let variants = selection.variants(comparison, self.name);
            let upcast = comparison.tags.contains(&"upcast");
            if upcast && variants.len() == 2 && json_pass.is_none() {
                // the JSON pass was not selected: the upcast rows need it
                let json = COMPARISONS[0].variants;
                let series = self.rounds(json, rounds, started).await;
                rounds::alone(COMPARISONS[0].label, json[0].0, &series[0]);
                json_pass = Some(series[0].median());
            }
            if variants.is_empty() {
                continue;
            }
            let series = self.rounds(&variants, rounds, started).await;
            match (&variants[..], &series[..]) {
                ([(base_name, _), (name, _)], [base, other]) => {
                    rounds::comparison(comparison.label, (base_name, base), (name, other));
                    if let (Some(pass), true) = (json_pass, upcast) {
                        rounds::json_passes(base, other, pass);
                    }
                }
                ([(name, work)], [alone]) => {
                    if let Work::JsonPass = work {
                        json_pass = Some(alone.median());
                    }
                    rounds::alone(comparison.label, name, alone);
                }
                _ => unreachable!("a comparison has one or two variants"),
            }
        }
    }

    /// Each variant once to warm up, then `rounds` rounds of each, the
    /// first variant first in odd rounds, last in even ones.
    async fn rounds(
        &self,
        variants: &[(&'static str, Work)],
        rounds: usize,
        started: Instant,
    ) -> Vec<Series> {
        for (_, work) in variants {
            self.measured_run(*work).await;
        }
        let mut series = vec![Series::default(); variants.len()];
        for round in 0..rounds {
            if round > 2 && started.elapsed() > LIMIT {
                println!("(stopped after {round} rounds: the run took {LIMIT:?})");
                break;
            }
            let mut order: Vec<usize> = (0..variants.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for at in order {
                let time = self.measured_run(variants[at].1).await;
                series[at].push_time(time, EVENTS);
            }
        }
        series
    }

    /// Does `work` once and checks what it read; how long it took. The
    /// one function that callgrind counts (`--toggle-collect`).
    #[inline(never)]
    async fn measured_run(&self, work: Work) -> Duration {
        let begin = Instant::now();
        let tally = match work {
            Work::Load(Family::Plain, stream) => self.load::<PlainLedger>(stream).await,
            Work::Load(Family::Chained, stream) => self.load::<ChainedLedger>(stream).await,
            Work::Load(Family::Typed, stream) => self.load::<VersionedBook>(stream).await,
            Work::Load(Family::Raw, stream) => self.load::<VersionedRawBook>(stream).await,
            Work::Deliver(Family::Chained) => self.deliver::<ChainedEvent>().await,
            Work::Deliver(_) => self.deliver::<PlainEvent>().await,
            Work::JsonPass => self.json_pass(),
        };
        let time = begin.elapsed();
        assert_eq!(tally, self.expected, "{work:?} read every entry");
        time
    }

    /// Loads `stream` as `A`; what it folded.
    async fn load<A: Tallied>(&self, stream: &str) -> Tally {
        let loaded = self.repo.load::<A>(stream).await.expect("load");
        assert_eq!(loaded.version, EVENTS, "{stream} loaded whole");
        loaded.state.tally()
    }

    /// Reads the current stream as a tracker does, in pages, and routes
    /// each event as family `E`; what the reactor was given.
    async fn deliver<E: Event + React<Sink>>(&self) -> Tally {
        let filter = EventFilter::all().aggregate_kind(ledger::aggregate_kind(CURRENT));
        let sink = Sink::default();
        let (mut after, mut delivered) = (Checkpoint::BEGINNING, 0);
        while delivered < EVENTS {
            let page = self
                .repo
                .store()
                .read_page(after, &filter, DELIVERY_PAGE)
                .await
                .expect("read a page");
            assert!(!page.events.is_empty(), "{delivered} events delivered only");
            for event in &page.events {
                route::<E, _>(&sink, event).await.expect("route");
            }
            delivered += page.events.len() as u64;
            after = page.end;
        }
        sink.tally()
    }

    /// Decodes each body of the current stream into its payload, once.
    fn json_pass(&self) -> Tally {
        let mut tally = Tally::default();
        for body in &self.bodies {
            let entry: Entry = serde_json::from_str(body.as_str()).expect("an entry");
            tally.entries += 1;
            tally.cents += entry.amount_cents;
            tally.memo_bytes += entry.memo.len() as u64;
        }
        tally
    }
}

/// A reactor that tallies the entries it is given.
#[derive(Default)]
struct Sink {
    /// Entries given.
    entries: AtomicU64,
    /// Their amounts, in cents.
    cents: AtomicU64,
    /// The bytes of their memos.
    memo_bytes: AtomicU64,
}

impl Sink {
    /// Counts `entry`.
    fn add(&self, entry: &Entry) {
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.cents.fetch_add(entry.amount_cents, Ordering::Relaxed);
        self.memo_bytes
            .fetch_add(entry.memo.len() as u64, Ordering::Relaxed);
    }

    /// What it was given.
    fn tally(&self) -> Tally {
        Tally {
            entries: self.entries.load(Ordering::Relaxed),
            cents: self.cents.load(Ordering::Relaxed),
            memo_bytes: self.memo_bytes.load(Ordering::Relaxed),
        }
    }
}

impl PlainEventReactor for Sink {
    async fn on_entry(&self, e: &Entry, _: &RecordedEvent) -> Result<(), HandlerError> {
        self.add(e);
        Ok(())
    }
}

impl ChainedEventReactor for Sink {
    async fn on_entry(&self, e: &Entry, _: &RecordedEvent) -> Result<(), HandlerError> {
        self.add(e);
        Ok(())
    }
}
