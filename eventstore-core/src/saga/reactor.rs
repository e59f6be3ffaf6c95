//! [`SagaReactor`]: the reactor that runs a [`Saga`]'s steps.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::Saga;
use super::at_rest::AtRest;
use super::input::SagaInput;
use super::next_due::{NextDue, partition_key};
use super::outcome::StepOutcome;
use super::step::{Step, step_key};
use crate::clock::{SharedClock, SystemClock};
use crate::deadlines::{DeadlineStore, DeadlineSummary};
use crate::envelope::{Metadata, RecordedEvent};
use crate::id::AggregateId;
use crate::partition::Partition;
use crate::reactor::{HandlerError, Reactor};
use crate::repository::{Loaded, Options, Outcome, Repository};
use crate::store::EventStore;
use crate::stream_at::StreamAt;
use crate::tracker::EventFilter;
use std::time::SystemTime;

/// The domain error of the commands that record on a saga's stream, which
/// never refuse (serde, as [`Repository::execute`] requires of a domain
/// error; there is no value to record).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) enum NeverRefused {}

/// How many rounds (load the saga, run its wanted steps, record their
/// outcomes) one event's reconcile runs before it gives up with
/// [`SagaError::TooManyRounds`].
pub const MAX_ROUNDS: usize = 64;

/// Why a saga could not be reconciled: a bug in the saga, reported as the
/// handler's error (the event is retried, then parked) rather than looped
/// on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SagaError {
    /// The saga still wants a step after that step's outcome was handed to
    /// its `on_outcome`, which did not move it past the step (it recorded
    /// nothing, or events that leave the step wanted).
    #[error(
        "saga {kind} {id:?}: the outcome of step {step:?} ({outcome}) did not move it past the step"
    )]
    StillWanted {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The step.
        step: String,
        /// What the step did.
        outcome: String,
    },
    /// Two wanted steps of one saga have the same name.
    #[error("saga {kind} {id:?} wants two steps named {step:?}")]
    DuplicateStep {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The name.
        step: String,
    },
    /// The saga lists a deadline that no store can keep (see
    /// [`Deadline::problem`](super::Deadline::problem)).
    #[error("saga {kind} {id:?} lists the deadline {deadline:?}, which cannot be kept: {problem}")]
    UnkeepableDeadline {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The deadline's name.
        deadline: String,
        /// Why not.
        problem: String,
    },
    /// The saga lists two deadlines with one name.
    #[error("saga {kind} {id:?} lists two deadlines named {deadline:?}")]
    DuplicateDeadline {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The name.
        deadline: String,
    },
    /// A due deadline's `on_deadline` returned no event while the saga
    /// lists it: it stays pending, and firing it is tried again later.
    #[error(
        "saga {kind} {id:?}: the deadline {deadline:?} is due, but on_deadline records nothing for it"
    )]
    DeadlineStillListed {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The deadline's name.
        deadline: String,
    },
    /// A due deadline fired before (its key was used) and the saga lists
    /// it again, or still: it would never fire again. `on_deadline` must
    /// record events that stop listing it, and a deadline listed anew
    /// needs another due time (another key). It stays pending.
    #[error(
        "saga {kind} {id:?}: the deadline {deadline:?} fired before, and the saga lists it again with the same due time"
    )]
    DeadlineFiredBefore {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The deadline's name.
        deadline: String,
    },
    /// The saga still wanted steps after [`MAX_ROUNDS`] rounds.
    #[error("saga {kind} {id:?} still wants steps {steps:?} after {MAX_ROUNDS} rounds")]
    TooManyRounds {
        /// The saga's aggregate kind.
        kind: &'static str,
        /// The saga's id.
        id: String,
        /// The names of the steps it still wants.
        steps: Vec<String>,
    },
}

/// Called with the saga's id, its state once the outcome was recorded, the
/// step's name and outcome, each time this reactor records an outcome.
type Observer<G> = Arc<dyn Fn(&AggregateId, &G, &str, &StepOutcome) + Send + Sync>;

/// The [`Reactor`] that runs the saga `G` over the store `S`.
///
/// Its filter is `G`'s aggregate kind and its [`Input`](Saga::Input)'s
/// events. Each event of a saga's stream (or an input event, once recorded
/// on the saga's stream) reconciles that saga: load it; run every step it
/// wants, each with the key `<saga kind>/<saga id>/<step>` and only while
/// the saga's stream is at the version that asked for it; record what
/// [`on_outcome`](Saga::on_outcome) makes of each outcome on the saga's
/// stream under the same key (a step that the outcomes recorded before it
/// made unwanted is not taken); again until it wants no step. Any delivery
/// of any event of a saga continues where the last one stopped, and two
/// reconciles of one saga run the same keyed commands and record under
/// the same keys. See [the module](crate::saga) for an example.
///
/// A reconcile decides each outcome on the saga as it holds it, and reads
/// the saga again only when another writer moved it; the delivery of a
/// saga's first event does not read the saga at all (its state is that
/// event applied to the default). Once a reconcile
/// leaves a saga at rest (wanting no step), the deliveries of the events
/// it recorded on the way, up to that version, are not reconciled again by
/// this reactor or its clones: the saga wants nothing there, and each
/// later event of its stream is delivered after them.
pub struct SagaReactor<G, S> {
    name: String,
    pub(super) repo: Repository<S>,
    observer: Option<Observer<G>>,
    at_rest: AtRest,
    pub(super) next_due: NextDue,
    clock: SharedClock,
    saga: PhantomData<fn() -> G>,
}

impl<G: Saga, S: EventStore> SagaReactor<G, S> {
    /// The reactor of `G` over `repo`, named after its kind, lowercased,
    /// and `-saga` (`payout-saga` for the kind `Payout`).
    #[must_use]
    pub fn new(repo: Repository<S>) -> Self {
        Self {
            name: format!("{}-saga", G::KIND.to_lowercase()),
            repo,
            observer: None,
            at_rest: AtRest::default(),
            next_due: NextDue::default(),
            clock: Arc::new(SystemClock),
            saga: PhantomData,
        }
    }

    /// Another name: a separate reactor, with checkpoints of its own.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Takes the time from `clock` (the machine's by default): the `now`
    /// its handlers are given, and when deadlines are due. Give the
    /// [`Runner`](crate::reactor::Runner) that runs it the same clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Calls `observer` each time this reactor records a step's outcome
    /// (not when another delivery recorded it first): with the saga's id,
    /// its state once the outcome was recorded, the step's name and outcome.
    /// For logs and demos; it must not fail or block.
    #[must_use]
    pub fn observe(
        mut self,
        observer: impl Fn(&AggregateId, &G, &str, &StepOutcome) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }
}

impl<G: Saga, S: EventStore + DeadlineStore> SagaReactor<G, S> {
    /// Takes every step that the saga `id` wants, until it wants none, and
    /// returns the version at which it wants none; `cause` is the event
    /// delivered, named in the metadata of what the steps write.
    ///
    /// # Errors
    /// A [`SagaError`], or the store's error.
    pub async fn reconcile(
        &self,
        id: &AggregateId,
        cause: &RecordedEvent,
    ) -> Result<u64, HandlerError> {
        // the saga as last read, moved on by what this reconcile recorded
        let mut held = match first_event::<G>(id, cause)? {
            Some(held) => held,
            None => self.repo.load::<G>(id).await?,
        };
        let listed_before = !held.state.deadlines().is_empty();
        let rounds = self.rounds(id, cause, &mut held, listed_before).await;
        if rounds.is_err() && (listed_before || !held.state.deadlines().is_empty()) {
            // a saga stuck before its rest (a step failing until parked)
            // still has what it lists kept: a deadline may get it out
            if let Err(error) = self.keep_deadlines(id, &held, listed_before).await {
                tracing::warn!(saga = G::KIND, id = id.as_str(), error = %crate::error::ErrorChain(error.as_ref()), "cannot keep the deadlines of a saga whose reconcile failed");
            }
        }
        rounds
    }

    /// The rounds of [`reconcile`](Self::reconcile) from `held`, which
    /// they move on, until the saga wants no step: then its deadlines are
    /// kept and its version returned.
    async fn rounds(
        &self,
        id: &AggregateId,
        cause: &RecordedEvent,
        held: &mut Loaded<G>,
        listed_before: bool,
    ) -> Result<u64, HandlerError> {
        let mut wanted: Vec<Step<S>> = held.state.steps(id);
        for _ in 0..MAX_ROUNDS {
            if wanted.is_empty() {
                self.keep_deadlines(id, held, listed_before).await?;
                return Ok(held.version);
            }
            self.check_names(id, &wanted)?;
            let mut taken = Vec::with_capacity(wanted.len());
            // whether `held` is still where the stream is: only this round
            // wrote to it since it was read
            let mut current = true;
            for step in &wanted {
                if !taken.is_empty()
                    && !held
                        .state
                        .steps::<S>(id)
                        .iter()
                        .any(|s| s.name() == step.name())
                {
                    // an outcome recorded this round changed the saga's mind
                    continue;
                }
                let options = self.options(id, step.name(), cause);
                // the step's command runs only while the saga is where it
                // was when it asked for the step: a stale delivery cannot
                // act after the saga moved on
                let guard = StreamAt::of::<G>(id.clone(), held.version);
                let guarded = options.clone().unless_moved(guard);
                let Some(outcome) = step.run(&self.repo, guarded).await? else {
                    current = false;
                    break;
                };
                let asked_at = held.version;
                let at = self.clock.now();
                let record =
                    |saga: &G| Ok::<_, NeverRefused>(saga.on_outcome(step.name(), &outcome, at));
                // decided on the held saga, read again only if it moved
                let recorded = self.repo.execute_from(id, held, options, record).await?;
                current = matches!(&recorded, Outcome::Done(committed)
                    if committed.version == asked_at + committed.events.len() as u64);
                if let (Outcome::Done(committed), Some(observer)) = (&recorded, &self.observer) {
                    if !committed.events.is_empty() {
                        observer(id, &held.state, step.name(), &outcome);
                    }
                }
                taken.push((step.name().to_owned(), outcome));
                if !current {
                    break;
                }
            }
            if !current {
                *held = self.repo.load::<G>(id).await?;
            }
            wanted = held.state.steps(id);
            if let Some((step, outcome)) = taken
                .into_iter()
                .find(|(name, _)| wanted.iter().any(|s| s.name() == name))
            {
                return Err(SagaError::StillWanted {
                    kind: G::KIND,
                    id: id.to_string(),
                    step,
                    outcome: outcome.to_string(),
                }
                .into());
            }
        }
        Err(SagaError::TooManyRounds {
            kind: G::KIND,
            id: id.to_string(),
            steps: wanted.iter().map(|s| s.name().to_owned()).collect(),
        }
        .into())
    }

    /// Records an input event on the saga it is for, then reconciles it.
    /// Records `input`, part `part` of the events that `event`'s row reads
    /// as (0 unless an upcaster split the row), on the saga it correlates
    /// with, under a key of its own.
    async fn take_input(
        &self,
        input: &G::Input,
        event: &RecordedEvent,
        part: usize,
    ) -> Result<(), HandlerError> {
        let Some(id) = G::correlate(input) else {
            return Ok(());
        };
        let step = match part {
            0 => format!("event/{}", event.id),
            _ => format!("event/{}/{part}", event.id),
        };
        let options = self.options(&id, &step, event);
        let at = self.clock.now();
        let record = |saga: &G| Ok::<_, NeverRefused>(saga.on_input(input, at));
        // done, or recorded by an earlier delivery: either way it is there
        let _ = self.repo.execute(&id, options, record).await?;
        let rest = self.reconcile(&id, event).await?;
        self.at_rest.rested(id.as_str(), 0, rest);
        Ok(())
    }

    /// Fails when two steps have one name: they would share a key.
    fn check_names(&self, id: &AggregateId, steps: &[Step<S>]) -> Result<(), SagaError> {
        for (i, step) in steps.iter().enumerate() {
            if steps[..i].iter().any(|s| s.name() == step.name()) {
                return Err(SagaError::DuplicateStep {
                    kind: G::KIND,
                    id: id.to_string(),
                    step: step.name().to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The options of step `step` of the saga `id`, caused by `cause`.
    fn options(&self, id: &AggregateId, step: &str, cause: &RecordedEvent) -> Options {
        Options::idempotent(step_key(G::KIND, id.as_str(), step)).metadata(
            Metadata::default()
                .correlation_id(id.as_str())
                .causation_id(cause.id.to_string()),
        )
    }
}

/// The saga `id` at version 1 when `cause` is the first event of its
/// stream: its default state with that event applied, as a load would
/// fold it, so that a new saga is not read back. Like any load, it may be
/// stale by the time it is used (another delivery may have moved the saga
/// on): the steps' guards and the recording of outcomes find that out and
/// read the saga again.
fn first_event<G: Saga>(
    id: &AggregateId,
    cause: &RecordedEvent,
) -> Result<Option<Loaded<G>>, HandlerError> {
    if cause.version != 1 || cause.aggregate_kind != G::KIND || cause.aggregate_id != id.as_str() {
        return Ok(None);
    }
    let mut state = G::default();
    for event in cause.decode_all::<G::Event>()? {
        state.apply(&event);
    }
    Ok(Some(Loaded { state, version: 1 }))
}

impl<G: Saga, S: EventStore + DeadlineStore> Reactor for SagaReactor<G, S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        G::Input::filter(EventFilter::all().aggregate::<G>())
    }

    async fn fire_due(
        &self,
        partition: Option<Partition>,
        now: SystemTime,
    ) -> Result<Option<SystemTime>, HandlerError> {
        SagaReactor::fire_due(self, partition, now).await
    }

    fn partition_taken(&self, partition: Option<Partition>) {
        self.next_due.forget(partition_key(partition));
    }

    async fn due_status(
        &self,
        now: SystemTime,
        limit: usize,
    ) -> crate::Result<Option<DeadlineSummary>> {
        let store = self.repo.store();
        store.deadline_summary(G::KIND, now, limit).await.map(Some)
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        if event.aggregate_kind == G::KIND {
            if self.at_rest.covers(&event.aggregate_id, event.version) {
                return Ok(());
            }
            let id: AggregateId = event.aggregate_id.parse()?;
            let rest = self.reconcile(&id, event).await?;
            self.at_rest.rested(id.as_str(), event.version, rest);
            return Ok(());
        }
        for (part, input) in G::Input::decode(event)?.iter().enumerate() {
            self.take_input(input, event, part).await?;
        }
        Ok(())
    }
}

impl<G, S: Clone> Clone for SagaReactor<G, S> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            repo: self.repo.clone(),
            observer: self.observer.clone(),
            at_rest: self.at_rest.clone(),
            next_due: self.next_due.clone(),
            clock: Arc::clone(&self.clock),
            saga: PhantomData,
        }
    }
}

impl<G, S> fmt::Debug for SagaReactor<G, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SagaReactor")
            .field("name", &self.name)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}
