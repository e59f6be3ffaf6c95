//! A deterministic, seeded simulation of a saga under the reactor
//! runtime's faults (issue 16, item 5).
//!
//! Each schedule draws, from its seed alone, a small world (2 to 4
//! accounts, 1 to 3 transfers of 10 among them, 2 or 3 runners) and an
//! interleaving, runs the saga through it on a [`SimStore`], then checks
//! the books from the stored events. The same seed gives the same
//! schedule and the same trace: there is no wall clock, no thread and no
//! other randomness (the repository retries at once, [`Backoff::NONE`]).
//!
//! # What is modelled
//!
//! - **Yield points.** Every call to the store first yields to the
//!   scheduler, which polls one task at a time, drawn at random: each step
//!   makes exactly one store call, and the task then runs on to its next
//!   call. Tasks are deliveries (one runner handing one event to its own
//!   reactor, built by the `saga` closure given to [`simulate`]) and
//!   actions of the world.
//! - **At-least-once delivery.** The runners read the events their
//!   reactor's filter wants, in log order, and share one checkpoint and
//!   one lease. The holder, when idle, delivers the event at the
//!   checkpoint and moves the checkpoint on when its handler returns `Ok`.
//!   A handler's error delivers the event again.
//! - **Overlapping runners.** A delivery may stall for up to
//!   [`Config::max_stall`] steps; while the holder is stalled its lease may
//!   expire, and an idle runner takes it over and delivers the same event
//!   again, then the later ones. The stalled runner resumes later and
//!   finishes its delivery, which moves nothing. [`Config::overlap`] off
//!   moves the lease only from an idle holder: no two deliveries overlap.
//! - **Crashes** at every yield point: the delivery's future is dropped
//!   before its next store call, and the event is delivered again.
//! - **Failing calls**: a store call fails before it reaches the store, or
//!   runs and its reply is lost (a commit whose acknowledgement never
//!   came); the handler's error delivers the event again. A finished
//!   delivery may also fail to save the checkpoint: delivered twice.
//! - **The world moves meanwhile**: money arrives on accounts (deposits
//!   with transaction ids of their own, counted when they take effect), and
//!   accounts are opened late (transfers may name them before).
//!
//! After [`Config::fault_steps`] steps the faults stop: stalled tasks
//! resume, and the schedule runs (at most [`Config::healing_steps`] more
//! steps) until every task has ended and every event was delivered by a
//! healthy runner. Then the [checks](Violation): money is conserved (the
//! accounts hold what they were opened with plus what arrived); every
//! transfer is completed or failed; and the account events of each
//! transfer say exactly what its final state says (completed: one
//! withdrawal and one deposit; failed: nothing; failed and refunded: one
//! withdrawal and one refund).
//!
//! # What is not
//!
//! One partition (every event in log order); no parking after many
//! attempts (an event is delivered again until it passes); no snapshots,
//! no forget, no tracker holdback (an event is visible once appended); a
//! store call is atomic and never concurrent with another, so a race
//! inside one PostgreSQL statement (such as an `unless_moved` check that
//! takes no lock) is reached only through the interleavings of whole
//! calls; a stale runner's checkpoint write is ignored (the runtime fences
//! it with the lease).
//!
//! # Replaying a seed
//!
//! A failing schedule prints its seed, the checks it failed and its trace
//! (step, runner, what it did). `SIM_SEED=<n>` runs that seed alone and
//! `SIM_SCHEDULES=<n>` sets how many seeds a test runs (see [`seeds`]):
//!
//! ```text
//! SIM_SEED=1234 cargo test -p eventstore-tests --test saga_simulation -- --nocapture
//! ```
//!
//! [`Backoff::NONE`]: eventstore_core::Backoff::NONE

mod checks;
mod control;
mod executor;
mod schedule;
mod store;
mod world;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use eventstore_core::reactor::Reactor;
use eventstore_core::{Backoff, ManualClock, MemoryStore, Repository, SharedClock};

pub use checks::Violation;
pub use store::{Refusals, SimStore};

use crate::dice::Dice;
use control::Control;
use schedule::Schedule;
use world::Plan;

/// How schedules run: the same for every seed of a test.
///
/// ```
/// use eventstore_tests::simulation::{Config, Refusals};
/// let config = Config::default().overlap(false).refusals(Refusals::Forgotten);
/// assert!(!config.overlaps());
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    overlap: bool,
    approvals: bool,
    refusals: Refusals,
    fault_steps: u64,
    healing_steps: u64,
    max_stall: u64,
}

impl Default for Config {
    /// Overlapping runners, refusals kept, faults for 60 steps, stalls of
    /// up to 12 steps, settled within 2,000 more.
    fn default() -> Self {
        Self {
            overlap: true,
            approvals: false,
            refusals: Refusals::Kept,
            fault_steps: 60,
            healing_steps: 2_000,
            max_stall: 12,
        }
    }
}

impl Config {
    /// Whether a stalled holder's lease may expire, so that two runners
    /// deliver at once; off, the lease moves only from an idle holder.
    #[must_use]
    pub fn overlap(mut self, overlap: bool) -> Self {
        self.overlap = overlap;
        self
    }

    /// Whether some transfers wait for an approval, approvers race their
    /// deadlines and runners fire what is due (see the module `world`).
    /// Off by default, so that the seeds of the other tests keep their
    /// schedules.
    #[must_use]
    pub fn approvals(mut self, approvals: bool) -> Self {
        self.approvals = approvals;
        self
    }

    /// Whether deliveries may overlap.
    #[must_use]
    pub fn overlaps(&self) -> bool {
        self.overlap
    }

    /// What the store does with recorded refusals (see [`Refusals`]).
    #[must_use]
    pub fn refusals(mut self, refusals: Refusals) -> Self {
        self.refusals = refusals;
        self
    }

    /// How many steps faults are injected for (at least 1); the world's
    /// actions happen within them.
    #[must_use]
    pub fn fault_steps(mut self, steps: u64) -> Self {
        self.fault_steps = steps.max(1);
        self
    }

    /// How many more steps a schedule may take to settle once the faults
    /// stop, before it fails with [`Violation::NoProgress`].
    #[must_use]
    pub fn healing_steps(mut self, steps: u64) -> Self {
        self.healing_steps = steps;
        self
    }

    /// The longest stall of a delivery, in steps (at least 1).
    #[must_use]
    pub fn max_stall(mut self, steps: u64) -> Self {
        self.max_stall = steps.max(1);
        self
    }
}

/// What one schedule did and which checks it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Its seed.
    pub seed: u64,
    /// One line per step and event: step, runner (`--`: the world), what.
    pub trace: Vec<String>,
    /// The checks it failed; none when it passed.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether every check passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether the accounts hold more money than came in.
    #[must_use]
    pub fn created_money(&self) -> bool {
        self.violations
            .iter()
            .any(|v| matches!(v, Violation::MoneyCreated { .. }))
    }

    /// Whether the accounts hold less money than came in.
    #[must_use]
    pub fn destroyed_money(&self) -> bool {
        self.violations
            .iter()
            .any(|v| matches!(v, Violation::MoneyDestroyed { .. }))
    }
}

/// The seed, the failed checks, how to replay, then the trace.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}: ", self.seed)?;
        if self.passed() {
            writeln!(f, "every check passed")?;
        }
        for violation in &self.violations {
            writeln!(f, "{violation}")?;
        }
        writeln!(f, "replay with SIM_SEED={}; the interleaving:", self.seed)?;
        for line in &self.trace {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// Runs the schedule of `seed`, with the saga that `saga` builds over a
/// repository of the simulated store and the simulation's clock (once per
/// runner), and checks it.
///
/// ```
/// use eventstore_tests::simulation::{Config, simulate};
/// use sagas_examples::saga::TransferSaga;
/// let saga = |repo, clock| TransferSaga::new(repo).clock(clock);
/// let report = simulate(7, &Config::default().overlap(false), saga);
/// assert!(report.passed(), "{report}");
/// assert_eq!(report, simulate(7, &Config::default().overlap(false), saga));
/// ```
///
/// # Panics
/// When a command of the world's setup (opening the first accounts,
/// starting the transfers) is refused, which a drawn world never is.
pub fn simulate<R: Reactor>(
    seed: u64,
    config: &Config,
    saga: impl Fn(Repository<SimStore>, SharedClock) -> R,
) -> Report {
    let mut rng = Dice::new(seed);
    let plan = Plan::draw(&mut rng, config.fault_steps, config.approvals);
    let store = SimStore::new(MemoryStore::new(), Control::default(), config.refusals);
    let repo = Repository::new(store).retry_backoff(Backoff::NONE);
    let clock = ManualClock::default();
    let shared: SharedClock = Arc::new(clock.clone());
    let reactors: Vec<R> = (0..plan.runners)
        .map(|_| saga(repo.clone(), Arc::clone(&shared)))
        .collect();
    let mut schedule = Schedule::new(rng, config, repo, &reactors, plan, clock);
    let settled = schedule.run();
    let mut violations = schedule.check();
    if !settled {
        violations.push(Violation::NoProgress {
            steps: config.fault_steps + config.healing_steps,
        });
    }
    Report {
        seed,
        trace: std::mem::take(&mut schedule.trace),
        violations,
    }
}

/// A setting in the environment that is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?} is not a number (a count or a seed, such as 10000)")]
pub struct BadSetting {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
}

/// The seeds a test runs, from the variables `var` looks up: `SIM_SEED`
/// alone when it is set, else `0..SIM_SCHEDULES`, else `0..count`.
///
/// ```
/// use eventstore_tests::simulation::seeds;
/// let env = |name: &str| (name == "SIM_SCHEDULES").then(|| "50".to_owned());
/// assert_eq!(seeds(env, 10_000)?, 0..50);
/// let env = |name: &str| (name == "SIM_SEED").then(|| "1234".to_owned());
/// assert_eq!(seeds(env, 10_000)?, 1234..1235);
/// assert_eq!(seeds(|_| None, 10_000)?, 0..10_000);
/// # Ok::<(), eventstore_tests::simulation::BadSetting>(())
/// ```
///
/// # Errors
/// [`BadSetting`] naming the variable and its value.
pub fn seeds(var: impl Fn(&str) -> Option<String>, count: u64) -> Result<Range<u64>, BadSetting> {
    let number = |name: &'static str| {
        var(name)
            .map(|value| {
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| BadSetting { name, value })
            })
            .transpose()
    };
    if let Some(seed) = number("SIM_SEED")? {
        return Ok(seed..seed.saturating_add(1));
    }
    Ok(0..number("SIM_SCHEDULES")?.unwrap_or(count))
}
