//! One cell of the comparison: one system, one case, one writer count, on
//! fresh tables. Every loop is bounded in time and in count.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Result;
use crate::case::Case;
use crate::systems::{Attempts, Kind, Setup, System};

/// The most commands one writer runs in one timed phase, whatever the time.
const MAX_COMMANDS: u64 = 10_000_000;
/// The most batches of case b in one cell.
const MAX_BATCHES: u32 = 100_000;
/// Commands each writer runs before the timing starts, on new aggregates of
/// their own: they open the pool's connections and prepare the statements.
const WARM_UP_COMMANDS: u64 = 5;
/// How many tasks prepare the aggregates of cases b and c at once.
const PREPARING_TASKS: usize = 4;

/// What to measure in a cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// The case.
    pub(crate) case: Case,
    /// Concurrent writers.
    pub(crate) writers: usize,
    /// Timed seconds.
    pub(crate) timed: Duration,
    /// Case b: prepared aggregates per writer, each used once per batch.
    pub(crate) per_writer: u64,
}

/// What the writers of a cell did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Tally {
    /// Commands committed.
    pub(crate) done: u64,
    /// Attempts beyond the first, of every command (lost races).
    pub(crate) retried: u64,
    /// Commands given up after too many lost races.
    pub(crate) gave_up: u64,
    /// Timed seconds.
    pub(crate) secs: f64,
    /// Case b: timed batches between resets.
    pub(crate) batches: u32,
}

impl Tally {
    /// Committed commands per timed second.
    pub(crate) fn per_second(&self) -> f64 {
        if self.secs > 0.0 {
            self.done as f64 / self.secs
        } else {
            0.0
        }
    }

    fn add(&mut self, other: &Tally) {
        self.done += other.done;
        self.retried += other.retried;
        self.gave_up += other.gave_up;
        self.secs += other.secs;
    }
}

/// Which aggregate a writer's command runs on.
type Ids = Arc<dyn Fn(usize, u64) -> String + Send + Sync>;

/// Opens `kind` on fresh tables, prepares what `plan.case` needs, warms up,
/// and measures; the system's pool is closed afterwards.
pub(crate) async fn cell(setup: &Setup, kind: Kind, plan: Plan) -> Result<Tally> {
    let system = Arc::new(System::open(kind, setup, plan.case).await?);
    let measured = measure(setup, &system, plan).await;
    system.close().await;
    measured
}

async fn measure(setup: &Setup, system: &Arc<System>, plan: Plan) -> Result<Tally> {
    let writers = plan.writers;
    let prepared: Vec<String> = match plan.case {
        Case::New => Vec::new(),
        Case::Hundred => (0..writers)
            .flat_map(|w| (0..plan.per_writer).map(move |k| hundred(w, k)))
            .collect(),
        Case::Growing => (0..writers).map(growing).collect(),
    };
    prepare(system, prepared).await?;
    let warm_up: Ids = Arc::new(|w, i| format!("warm-{w}-{i}"));
    phase(
        system,
        writers,
        Instant::now() + Duration::from_secs(60),
        WARM_UP_COMMANDS,
        &warm_up,
    )
    .await?;
    system.ready(setup).await?;
    match plan.case {
        Case::New => {
            let ids: Ids = Arc::new(|w, i| format!("new-{w}-{i}"));
            phase(
                system,
                writers,
                Instant::now() + plan.timed,
                MAX_COMMANDS,
                &ids,
            )
            .await
        }
        Case::Growing => {
            let ids: Ids = Arc::new(|w, _| growing(w));
            phase(
                system,
                writers,
                Instant::now() + plan.timed,
                MAX_COMMANDS,
                &ids,
            )
            .await
        }
        Case::Hundred => batches(setup, system, plan).await,
    }
}

fn hundred(writer: usize, k: u64) -> String {
    format!("hundred-{writer}-{k}")
}

fn growing(writer: usize) -> String {
    format!("growing-{writer}")
}

/// Case b: each writer runs one command on each of its prepared aggregates
/// (a batch), then, untimed, every aggregate is taken back to 100 events
/// and the table vacuumed; until the timed batches add up to the time.
async fn batches(setup: &Setup, system: &Arc<System>, plan: Plan) -> Result<Tally> {
    let ids: Ids = Arc::new(hundred);
    let mut total = Tally::default();
    let timed = plan.timed.as_secs_f64();
    while total.secs < timed && total.batches < MAX_BATCHES {
        let left = Duration::from_secs_f64(timed - total.secs);
        let batch = phase(
            system,
            plan.writers,
            Instant::now() + left,
            plan.per_writer,
            &ids,
        )
        .await?;
        total.add(&batch);
        total.batches += 1;
        system.reset(setup).await?;
    }
    Ok(total)
}

/// Creates the prepared aggregates, a few at a time.
async fn prepare(system: &Arc<System>, ids: Vec<String>) -> Result<()> {
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..PREPARING_TASKS.min(ids.len()))
        .map(|_| {
            let (system, ids, next) = (Arc::clone(system), Arc::clone(&ids), Arc::clone(&next));
            tokio::spawn(async move {
                while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
                    system.prepare(id).await?;
                }
                Ok::<_, crate::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// `writers` tasks run commands until `deadline`, or until each has run
/// `limit`; the time is from the start until the last writer stops.
async fn phase(
    system: &Arc<System>,
    writers: usize,
    deadline: Instant,
    limit: u64,
    ids: &Ids,
) -> Result<Tally> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (system, ids) = (Arc::clone(system), Arc::clone(ids));
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut seq = 0;
                while seq < limit && Instant::now() < deadline {
                    match system.command(&ids(w, seq), seq).await? {
                        Attempts::Done(attempts) => {
                            tally.done += 1;
                            tally.retried += u64::from(attempts - 1);
                        }
                        Attempts::GaveUp(attempts) => {
                            tally.gave_up += 1;
                            tally.retried += u64::from(attempts - 1);
                        }
                    }
                    seq += 1;
                }
                Ok::<_, crate::Error>(tally)
            })
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        total.add(&task.await??);
    }
    total.secs = start.elapsed().as_secs_f64();
    Ok(total)
}
