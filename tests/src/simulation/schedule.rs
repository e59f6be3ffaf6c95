//! The model of the reactor runtime, stepped by a seeded scheduler.
//!
//! Runners share one checkpoint (an index into the events their reactor
//! wants, in log order) and one lease. The holder of the lease, when idle,
//! delivers the event at the checkpoint; when its delivery ends well it
//! moves the checkpoint on. A runner whose delivery is stalled loses the
//! lease to an idle one, which delivers the same event again and the ones
//! after; the stalled one resumes later and finishes, moving nothing.
//!
//! The simulation's clock moves one second a step. With approvals, an idle
//! runner, holder or not (a stale one too), now and then fires what is due
//! on that clock ([`Reactor::fire_due`]); such a task stalls, crashes and
//! meets failing calls like a delivery.

use std::time::Duration;

use eventstore_core::reactor::Reactor;
use eventstore_core::{
    Aggregate, Checkpoint, Clock, DeadlineStore, EventFilter, ManualClock, MemoryStore,
    RecordedEvent, Repository, Tracker,
};
use sagas_examples::transfer::Transfer;

use super::Config;
use super::checks::{self, Violation};
use super::control::{Control, Verdict};
use super::executor::{TaskFuture, TaskOutput, now, poll_once};
use super::store::SimStore;
use super::world::Plan;
use crate::dice::Dice;

/// A stall starts on a step once in this many.
const STALL_ODDS: u64 = 6;
/// A stalled holder loses its lease on a step once in this many.
const EXPIRY_ODDS: u64 = 2;
/// The lease moves from an idle holder on a step once in this many.
const HANDOVER_ODDS: u64 = 30;
/// A delivery crashes on a step once in this many.
const CRASH_ODDS: u64 = 40;
/// A store call fails before the store once in this many.
const FAIL_ODDS: u64 = 25;
/// A store call's reply is lost once in this many.
const LOSE_ODDS: u64 = 40;
/// A finished delivery fails to save the checkpoint once in this many.
const UNSAVED_ODDS: u64 = 15;
/// With approvals, an idle runner fires what is due on a step once in
/// this many.
const FIRE_ODDS: u64 = 4;

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// A runner delivers the event at an index of the log it reads.
    Delivery { runner: usize, index: usize },
    /// A runner fires what is due.
    Fire { runner: usize },
    /// Something happens in the world.
    Action,
}

/// A task and where it stands.
struct Task<'a> {
    work: Work,
    /// Who runs it, for the trace: `R1`, or `--` for the world.
    who: String,
    /// What it does, for the trace.
    label: String,
    future: TaskFuture<'a>,
    /// The store call it stopped before.
    waiting_at: Option<String>,
    /// How many more steps it is stalled.
    stalled: u64,
}

/// One schedule being run.
pub(crate) struct Schedule<'a, R> {
    rng: Dice,
    config: &'a Config,
    control: Control,
    store: MemoryStore,
    repo: Repository<SimStore>,
    /// One reactor per runner.
    reactors: &'a [R],
    plan: Plan,
    /// The money that came into the world so far.
    came_in: u64,
    /// The compact trace: step, who, what.
    pub(crate) trace: Vec<String>,
    filter: EventFilter,
    /// The events the runners read, in log order, and where reading ends.
    log: Vec<RecordedEvent>,
    read_to: Checkpoint,
    tasks: Vec<Task<'a>>,
    /// Whether each runner is delivering.
    busy: Vec<bool>,
    holder: usize,
    checkpoint: usize,
    step: u64,
    /// The clock of the sagas and of the firing: a second a step.
    clock: ManualClock,
}

impl<'a, R: Reactor> Schedule<'a, R> {
    /// A schedule of `plan`, with one reactor per runner over `repo`;
    /// makes the plan's setup on the store underneath.
    pub(crate) fn new(
        rng: Dice,
        config: &'a Config,
        repo: Repository<SimStore>,
        reactors: &'a [R],
        plan: Plan,
        clock: ManualClock,
    ) -> Self {
        let store = repo.store().inner().clone();
        let came_in = plan.set_up(&store);
        Self {
            filter: reactors[0].filter(),
            busy: vec![false; reactors.len()],
            control: repo.store().control().clone(),
            store,
            rng,
            config,
            repo,
            reactors,
            plan,
            came_in,
            trace: Vec::new(),
            log: Vec::new(),
            read_to: Checkpoint::BEGINNING,
            tasks: Vec::new(),
            holder: 0,
            checkpoint: 0,
            step: 0,
            clock,
        }
    }

    /// Steps until every task has ended and every event was delivered;
    /// `false` when the steps ran out first.
    pub(crate) fn run(&mut self) -> bool {
        let last = self.config.fault_steps + self.config.healing_steps;
        while self.step < last {
            let faulty = self.step < self.config.fault_steps;
            if self.step == self.config.fault_steps {
                self.stop_faults();
            }
            self.start_due_actions();
            self.deliver();
            if self.config.approvals {
                self.fire();
            }
            if self.tasks.is_empty() && self.plan.actions.is_empty() && !self.deadline_pending() {
                return true;
            }
            if faulty {
                self.inject_faults();
            }
            self.poll_one(faulty);
            self.tick();
            self.step += 1;
        }
        false
    }

    /// The checks of [`checks::check`] on the store as it is.
    pub(crate) fn check(&self) -> Vec<Violation> {
        checks::check(&self.store, &self.plan.transfers, self.came_in)
    }

    fn note(&mut self, who: &str, what: impl AsRef<str>) {
        let line = format!("{:>4} {who:<3}{}", self.step, what.as_ref());
        self.trace.push(line);
    }

    fn stop_faults(&mut self) {
        for task in &mut self.tasks {
            task.stalled = 0;
        }
        self.note("--", "faults stop: stalled runners resume");
    }

    fn start_due_actions(&mut self) {
        while self
            .plan
            .actions
            .front()
            .is_some_and(|(at, _)| *at <= self.step)
        {
            let Some((_, action)) = self.plan.actions.pop_front() else {
                return;
            };
            let future = action.clone().task(self.repo.clone());
            self.spawn(Work::Action, "--", action.to_string(), future);
        }
    }

    /// Reads the events appended since the last read, then lets the
    /// holder deliver, while it is idle and events wait.
    fn deliver(&mut self) {
        let page = now(self.store.read_page(self.read_to, &self.filter, usize::MAX))
            .expect("the memory store reads");
        self.read_to = page.end;
        self.log.extend(page.events);
        while !self.busy[self.holder] && self.checkpoint < self.log.len() {
            let (runner, index) = (self.holder, self.checkpoint);
            let event = self.log[index].clone();
            let label = format!("#{index} {} {}", event.aggregate_id, event.kind);
            let reactor = &self.reactors[runner];
            let future: TaskFuture<'a> = Box::pin(async move {
                reactor
                    .handle(&event)
                    .await
                    .map(|()| 0)
                    .map_err(|e| e.to_string())
            });
            self.busy[runner] = true;
            self.spawn(
                Work::Delivery { runner, index },
                &runner_name(runner),
                label,
                future,
            );
        }
    }

    /// Whether a transfer's deadline is still kept: it will be due.
    fn deadline_pending(&self) -> bool {
        now(self.store.next_deadline(Transfer::KIND, None))
            .expect("the memory store reads")
            .is_some()
    }

    /// Now and then, an idle runner fires what is due on the clock.
    fn fire(&mut self) {
        let idle: Vec<usize> = (0..self.busy.len()).filter(|&r| !self.busy[r]).collect();
        if idle.is_empty() || !self.rng.one_in(FIRE_ODDS) {
            return;
        }
        let runner = idle[self.rng.index(idle.len())];
        let reactor = &self.reactors[runner];
        let at = self.clock.now();
        let future: TaskFuture<'a> = Box::pin(async move {
            reactor
                .fire_due(None, at)
                .await
                .map(|_| 0)
                .map_err(|e| e.to_string())
        });
        self.busy[runner] = true;
        let label = "fires what is due".to_owned();
        self.spawn(Work::Fire { runner }, &runner_name(runner), label, future);
    }

    /// Adds a task and runs it to its first store call (it makes none
    /// before that). A task that ends at once shows only how it ended.
    fn spawn(&mut self, work: Work, who: &str, label: String, future: TaskFuture<'a>) {
        let note = format!("starts {label}");
        self.tasks.push(Task {
            work,
            who: who.to_owned(),
            label,
            future,
            waiting_at: None,
            stalled: 0,
        });
        let t = self.tasks.len() - 1;
        let faulty = self.step < self.config.fault_steps;
        if self.poll(t, Verdict::Proceed, faulty) {
            self.note(who, note);
        }
    }

    fn inject_faults(&mut self) {
        let running: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| self.tasks[t].work != Work::Action && self.tasks[t].stalled == 0)
            .collect();
        if !running.is_empty() && self.rng.one_in(STALL_ODDS) {
            let t = running[self.rng.index(running.len())];
            let steps = self.rng.between(1, self.config.max_stall);
            let task = &mut self.tasks[t];
            task.stalled = steps;
            let plural = if steps == 1 { "" } else { "s" };
            let line = format!("stalls for {steps} step{plural} in {}", task.label);
            let who = task.who.clone();
            self.note(&who, line);
        }
        self.move_lease();
        let deliveries: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| self.tasks[t].work != Work::Action)
            .collect();
        if !deliveries.is_empty() && self.rng.one_in(CRASH_ODDS) {
            let t = deliveries[self.rng.index(deliveries.len())];
            let task = self.tasks.remove(t);
            if let Work::Delivery { runner, .. } | Work::Fire { runner } = task.work {
                self.busy[runner] = false;
            }
            let at = task.waiting_at.as_deref().unwrap_or("its end");
            self.note(&task.who, format!("crashes in {}, before {at}", task.label));
        }
    }

    /// Hands the lease to an idle runner: when the holder's delivery is
    /// stalled (its lease expired; only when deliveries may overlap), or
    /// now and then when the holder is idle.
    fn move_lease(&mut self) {
        let holder = self.holder;
        let stalled = self.tasks.iter().any(|t| {
            t.stalled > 0 && matches!(t.work, Work::Delivery { runner, .. } if runner == holder)
        });
        let moves = if self.busy[holder] {
            stalled && self.config.overlap && self.rng.one_in(EXPIRY_ODDS)
        } else {
            self.rng.one_in(HANDOVER_ODDS)
        };
        let idle: Vec<usize> = (0..self.busy.len())
            .filter(|&r| r != holder && !self.busy[r])
            .collect();
        if moves && !idle.is_empty() {
            self.holder = idle[self.rng.index(idle.len())];
            let line = format!("takes the lease from {}", runner_name(holder));
            self.note(&runner_name(self.holder), line);
        }
    }

    /// Polls one task that is not stalled, drawn at random.
    fn poll_one(&mut self, faulty: bool) {
        let ready: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| self.tasks[t].stalled == 0)
            .collect();
        if ready.is_empty() {
            return;
        }
        let t = ready[self.rng.index(ready.len())];
        let verdict = if !faulty || self.tasks[t].work == Work::Action {
            Verdict::Proceed
        } else if self.rng.one_in(FAIL_ODDS) {
            Verdict::Fail
        } else if self.rng.one_in(LOSE_ODDS) {
            Verdict::LoseReply
        } else {
            Verdict::Proceed
        };
        self.poll(t, verdict, faulty);
    }

    /// Polls task `t` with `verdict` for its store call, and ends it if
    /// it is done; returns whether it is still running.
    fn poll(&mut self, t: usize, verdict: Verdict, faulty: bool) -> bool {
        self.control.set_verdict(verdict);
        let polled = poll_once(&mut self.tasks[t].future);
        let (waiting_at, made) = self.control.take_poll();
        let (who, label) = (self.tasks[t].who.clone(), self.tasks[t].label.clone());
        for call in made {
            self.note(&who, format!("{label}: {call}"));
        }
        match polled {
            std::task::Poll::Pending => {
                self.tasks[t].waiting_at = waiting_at;
                true
            }
            std::task::Poll::Ready(output) => {
                let task = self.tasks.remove(t);
                self.end(&task, output, faulty);
                false
            }
        }
    }

    fn end(&mut self, task: &Task<'a>, output: TaskOutput, faulty: bool) {
        let (who, label) = (&task.who, &task.label);
        if let Work::Fire { runner } = task.work {
            self.busy[runner] = false;
            let line = match output {
                Ok(_) => format!("{label}: done"),
                Err(error) => format!("{label}: failed ({error})"),
            };
            self.note(who, line);
            return;
        }
        let Work::Delivery { runner, index } = task.work else {
            let line = match output {
                Ok(money) => {
                    self.came_in += money;
                    format!("{label}: done")
                }
                Err(error) => format!("{label}: {error}"),
            };
            self.note(who, line);
            return;
        };
        self.busy[runner] = false;
        let line = match output {
            Err(error) => format!("{label} failed ({error}): delivered again"),
            Ok(_) if runner != self.holder || index != self.checkpoint => {
                format!(
                    "{label} done, stale: {} holds the lease",
                    runner_name(self.holder)
                )
            }
            Ok(_) if faulty && self.rng.one_in(UNSAVED_ODDS) => {
                format!("{label} done, checkpoint not saved: delivered again")
            }
            Ok(_) => {
                self.checkpoint += 1;
                format!("{label} done")
            }
        };
        self.note(who, line);
    }

    /// One step passes for the stalled tasks, and a second on the clock.
    fn tick(&mut self) {
        self.clock.advance(Duration::from_secs(1));
        let mut resumed = Vec::new();
        for task in &mut self.tasks {
            if task.stalled == 1 {
                resumed.push((task.who.clone(), format!("resumes {}", task.label)));
            }
            task.stalled = task.stalled.saturating_sub(1);
        }
        for (who, line) in resumed {
            self.note(&who, line);
        }
    }
}

/// `R1`, `R2`: runners as the trace names them.
fn runner_name(runner: usize) -> String {
    format!("R{}", runner + 1)
}
