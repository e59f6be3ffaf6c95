//! The saga test kit: given a saga's past events, when a step's outcome,
//! an input or a deadline arrives (or the saga is reconciled), then these
//! steps, events or deadlines, at a time the test sets. No store and no
//! sleep: the steps' commands are not run.

use std::fmt::{self, Debug};
use std::time::{Duration, SystemTime};

use super::diff;
use crate::aggregate::Aggregate;
use crate::clock::{Clock, ManualClock};
use crate::id::AggregateId;
use crate::memory::MemoryStore;
use crate::saga::{Deadline, Saga, Step, StepOutcome, step_key};

/// Starts a saga test: the saga `id` after these past events.
///
/// ```
/// # use eventstore_core::doc::{Account, PaidOut, Payout, requested};
/// use eventstore_core::StepOutcome;
/// use eventstore_core::testing::{PlannedStep, given_saga};
///
/// given_saga::<Payout>("payout-1", [requested("acc-1", 30)])
///     .when_reconciled()
///     .then_steps([PlannedStep::on::<Account>("withdraw", "acc-1")]);
///
/// given_saga::<Payout>("payout-1", [requested("acc-1", 30)])
///     .when_outcome("withdraw", StepOutcome::Done)
///     .then_events([PaidOut {}.into()])
///     .when_reconciled()
///     .then_steps([]);
/// ```
///
/// # Panics
/// When `id` cannot be an aggregate id, or the saga's events do not pass
/// [`schema::check`](crate::schema::check).
#[track_caller]
pub fn given_saga<G: Saga>(id: &str, history: impl IntoIterator<Item = G::Event>) -> GivenSaga<G> {
    let id = match AggregateId::new(id) {
        Ok(id) => id,
        Err(error) => panic!("given_saga: {error}"),
    };
    if let Err(error) = crate::event::schema::check::<G::Event>() {
        panic!("given_saga: the events of {}: {error}", G::KIND);
    }
    let mut state = G::default();
    for event in history {
        state.apply(&event);
    }
    GivenSaga {
        id,
        state,
        now: ManualClock::default().now(),
    }
}

/// The saga before what happens under test, and the time (at first
/// 2026-01-01 00:00:00 UTC, [`ManualClock::default`]).
#[must_use = "call .when_reconciled(), .when_outcome(...), .when_input(...) or .when_deadline(...)"]
pub struct GivenSaga<G> {
    id: AggregateId,
    state: G,
    now: SystemTime,
}

impl<G: Saga> GivenSaga<G> {
    /// The time is now `now`.
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }

    /// The time moves on by `by`.
    pub fn later(mut self, by: Duration) -> Self {
        self.now += by;
        self
    }

    /// The time the handlers are given.
    #[must_use]
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// Asserts that the saga lists exactly these deadlines, in this order
    /// (payloads compared too), and goes on.
    ///
    /// ```
    /// # use eventstore_core::doc::{Payout, requested};
    /// use eventstore_core::testing::given_saga;
    /// given_saga::<Payout>("payout-1", [requested("acc-1", 30)]).then_deadlines([]);
    /// ```
    ///
    /// # Panics
    /// At the caller's line, with a diff, when the deadlines differ.
    #[track_caller]
    pub fn then_deadlines(self, expected: impl IntoIterator<Item = Deadline>) -> Self {
        let expected: Vec<Deadline> = expected.into_iter().collect();
        let actual = self.state.deadlines();
        if expected != actual {
            panic!(
                "the saga lists other deadlines than expected (- expected, + actual):\n{}",
                diff(&expected, &actual)
            );
        }
        self
    }

    /// The events it records when its deadline `name` fires now.
    ///
    /// # Panics
    /// At the caller's line when the saga lists no deadline `name`, or
    /// lists it due later than now.
    #[track_caller]
    pub fn when_deadline(self, name: &str) -> WhenEvents<G> {
        let listed = self.state.deadlines();
        let Some(deadline) = listed.iter().find(|d| d.name() == name) else {
            let names: Vec<&str> = listed.iter().map(Deadline::name).collect();
            panic!("the saga lists no deadline {name:?}; it lists {names:?}");
        };
        assert!(
            deadline.due() <= self.now,
            "the deadline {name:?} is due at {:?}, {:?} after now: call .later(...) or .at(...) first",
            deadline.due(),
            deadline.due().duration_since(self.now).unwrap_or_default()
        );
        let events = self.state.on_deadline(deadline, self.now);
        let fired = Some(deadline.clone());
        WhenEvents {
            given: self,
            events,
            fired,
        }
    }

    /// The steps it wants now, as a reconcile would take them.
    pub fn when_reconciled(self) -> WhenSteps {
        let planned = self
            .state
            .steps::<MemoryStore>(&self.id)
            .iter()
            .map(|step| PlannedStep::of::<G>(&self.id, step))
            .collect();
        WhenSteps { planned }
    }

    /// The events it records when step `step` had the outcome `outcome`.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "reads naturally: .when_outcome(\"withdraw\", StepOutcome::Done)"
    )]
    pub fn when_outcome(self, step: &str, outcome: StepOutcome) -> WhenEvents<G> {
        let events = self.state.on_outcome(step, &outcome, self.now);
        WhenEvents {
            given: self,
            events,
            fired: None,
        }
    }

    /// The events it records for the input event `input`, which must
    /// correlate to this saga.
    ///
    /// # Panics
    /// When [`Saga::correlate`] routes `input` to another saga or none.
    #[track_caller]
    #[allow(
        clippy::needless_pass_by_value,
        reason = "reads naturally: .when_input(Incoming::new(...))"
    )]
    pub fn when_input(self, input: G::Input) -> WhenEvents<G> {
        let routed = G::correlate(&input);
        assert!(
            routed.as_ref() == Some(&self.id),
            "the input is routed to {routed:?}, not to the saga {:?}",
            self.id
        );
        let events = self.state.on_input(&input, self.now);
        WhenEvents {
            given: self,
            events,
            fired: None,
        }
    }
}

/// A step as a test expects it: its name and the aggregate its command
/// runs on; a reconcile's actual steps carry their idempotency key too.
#[derive(Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// The step's name.
    pub name: String,
    /// The kind of the aggregate its command runs on.
    pub target_kind: String,
    /// The id of the aggregate its command runs on.
    pub target_id: String,
    /// The idempotency key it runs with (`None` in an expectation, which
    /// does not compare it).
    pub key: Option<String>,
}

impl PlannedStep {
    /// The step `name` on the aggregate `A` `target_id`.
    #[must_use]
    pub fn on<A: Aggregate>(name: &str, target_id: &str) -> Self {
        Self {
            name: name.to_owned(),
            target_kind: A::KIND.to_owned(),
            target_id: target_id.to_owned(),
            key: None,
        }
    }

    fn of<G: Saga>(id: &AggregateId, step: &Step<MemoryStore>) -> Self {
        Self {
            name: step.name().to_owned(),
            target_kind: step.target_kind().to_owned(),
            target_id: step.target_id().to_owned(),
            key: Some(step_key(G::KIND, id.as_str(), step.name())),
        }
    }

    /// Whether `actual` is this expected step.
    fn matches(&self, actual: &Self) -> bool {
        (&self.name, &self.target_kind, &self.target_id)
            == (&actual.name, &actual.target_kind, &actual.target_id)
            && (self.key.is_none() || self.key == actual.key)
    }
}

impl Debug for PlannedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} {:?}",
            self.name, self.target_kind, self.target_id
        )?;
        match &self.key {
            Some(key) => write!(f, " (key {key})"),
            None => Ok(()),
        }
    }
}

/// The steps a saga wants, to be checked.
#[derive(Debug)]
#[must_use = "check the steps with .then_steps(...)"]
pub struct WhenSteps {
    planned: Vec<PlannedStep>,
}

impl WhenSteps {
    /// Asserts that the saga wants exactly these steps, in this order, and
    /// returns them with their keys.
    ///
    /// # Panics
    /// At the caller's line, with a diff, when the steps differ.
    #[track_caller]
    pub fn then_steps(self, expected: impl IntoIterator<Item = PlannedStep>) -> Vec<PlannedStep> {
        let expected: Vec<PlannedStep> = expected.into_iter().collect();
        let same = expected.len() == self.planned.len()
            && expected
                .iter()
                .zip(&self.planned)
                .all(|(e, a)| e.matches(a));
        if !same {
            // shown as the expectation reads: keys only where it names them
            let actual: Vec<PlannedStep> = self
                .planned
                .iter()
                .zip(expected.iter().map(Some).chain(std::iter::repeat(None)))
                .map(|(a, e)| match e {
                    Some(e) if e.matches(a) => e.clone(),
                    _ => a.clone(),
                })
                .collect();
            panic!(
                "the saga wants other steps than expected (- expected, + actual):\n{}",
                diff(&expected, &actual)
            );
        }
        self.planned
    }
}

/// The events a saga recorded, to be checked.
#[must_use = "check the events with .then_events(...)"]
pub struct WhenEvents<G: Saga> {
    given: GivenSaga<G>,
    events: Vec<G::Event>,
    /// The deadline that fired, for `.when_deadline(...)`.
    fired: Option<Deadline>,
}

impl<G: Saga> Debug for WhenEvents<G>
where
    G::Event: Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhenEvents")
            .field("saga", &self.given.id)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl<G> WhenEvents<G>
where
    G: Saga,
    G::Event: Debug + PartialEq,
{
    /// Asserts that the saga recorded exactly these events, and goes on
    /// from the saga with them applied (to check its next steps).
    ///
    /// # Panics
    /// At the caller's line, with a diff, when the events differ; after
    /// `.when_deadline(...)`, also when the saga with them applied still
    /// lists the deadline that fired, which the runtime refuses
    /// (`SagaError::DeadlineStillListed` or `DeadlineFiredBefore`: it would
    /// never fire again).
    #[track_caller]
    pub fn then_events(self, expected: impl IntoIterator<Item = G::Event>) -> GivenSaga<G> {
        let expected: Vec<G::Event> = expected.into_iter().collect();
        if expected != self.events {
            panic!(
                "the saga recorded other events than expected (- expected, + actual):\n{}",
                diff(&expected, &self.events)
            );
        }
        let mut given = self.given;
        for event in &self.events {
            given.state.apply(event);
        }
        if let Some(fired) = &self.fired {
            assert!(
                !given.state.deadlines().iter().any(|d| d.is(fired)),
                "the deadline {:?} fired, but the saga still lists it: on_deadline must record events that stop listing it (the runtime reports it, and it never fires again)",
                fired.name()
            );
        }
        given
    }
}

#[cfg(test)]
mod sticky {
    //! A saga whose `on_deadline` records an event that leaves the
    //! deadline listed: a bug the kit reports.

    use std::time::{Duration, SystemTime};

    use serde::{Deserialize, Serialize};

    use crate::{
        Aggregate, AggregateId, Deadline, Event, EventStore, NoInput, Saga, Step, StepOutcome,
    };

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    pub(super) struct Noted {}

    #[derive(Event, Clone, Debug, PartialEq)]
    pub(super) enum StickyEvent {
        Noted(Noted),
    }

    #[derive(Aggregate, Default, Serialize, Deserialize, Debug)]
    #[aggregate(kind = "Sticky", event = StickyEvent)]
    pub(super) struct Sticky {
        noted: u32,
    }

    impl StickyEventHandler for Sticky {
        fn on_noted(&mut self, _: &Noted) {
            self.noted += 1;
        }
    }

    impl Saga for Sticky {
        type Input = NoInput;
        fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
            Vec::new()
        }
        fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<StickyEvent> {
            Vec::new()
        }
        fn deadlines(&self) -> Vec<Deadline> {
            vec![Deadline::at(
                "nudge",
                SystemTime::UNIX_EPOCH + Duration::from_secs(1),
            )]
        }
        fn on_deadline(&self, _: &Deadline, _: SystemTime) -> Vec<StickyEvent> {
            vec![Noted {}.into()]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Account, AccountError, PaidOut, Payout, PayoutRefused, requested};
    use crate::saga::Rejection;

    #[test]
    #[should_panic(expected = "the deadline \"nudge\" fired, but the saga still lists it")]
    fn a_deadline_still_listed_after_it_fired_is_reported() {
        use super::sticky::{Noted, Sticky};
        given_saga::<Sticky>("s-1", [])
            .when_deadline("nudge")
            .then_events([Noted {}.into()])
            .when_reconciled()
            .then_steps([]);
    }

    fn refused(error: &AccountError) -> StepOutcome {
        StepOutcome::Rejected(Rejection::of(error).unwrap())
    }

    #[test]
    fn a_requested_payout_withdraws_with_its_key() {
        let planned = given_saga::<Payout>("p-1", [requested("acc-1", 30)])
            .when_reconciled()
            .then_steps([PlannedStep::on::<Account>("withdraw", "acc-1")]);
        assert_eq!(planned[0].key.as_deref(), Some("Payout/p-1/withdraw"));
    }

    #[test]
    fn outcomes_become_events_and_end_the_steps() {
        given_saga::<Payout>("p-1", [requested("acc-1", 30)])
            .when_outcome("withdraw", refused(&AccountError::InsufficientFunds))
            .then_events([PayoutRefused {
                reason: "not enough money".into(),
            }
            .into()])
            .when_reconciled()
            .then_steps([]);
    }

    #[test]
    #[should_panic(
        expected = "the saga wants other steps than expected (- expected, + actual):\n\
                               - 0: withdraw on Account \"acc-2\"\n\
                               + 0: withdraw on Account \"acc-1\" (key Payout/p-1/withdraw)\n"
    )]
    fn then_steps_shows_a_diff() {
        let _ = given_saga::<Payout>("p-1", [requested("acc-1", 30)])
            .when_reconciled()
            .then_steps([PlannedStep::on::<Account>("withdraw", "acc-2")]);
    }

    #[test]
    #[should_panic(
        expected = "- 0: withdraw on Account \"acc-1\" (key Payout/p-1/other)\n\
                               + 0: withdraw on Account \"acc-1\" (key Payout/p-1/withdraw)"
    )]
    fn then_steps_compares_a_key_it_is_given() {
        let mut expected = PlannedStep::on::<Account>("withdraw", "acc-1");
        expected.key = Some("Payout/p-1/other".into());
        let _ = given_saga::<Payout>("p-1", [requested("acc-1", 30)])
            .when_reconciled()
            .then_steps([expected]);
    }

    #[test]
    #[should_panic(expected = "+ 0: withdraw on Account \"acc-1\" (key Payout/p-1/withdraw)")]
    fn then_steps_reports_an_unexpected_step() {
        let _ = given_saga::<Payout>("p-1", [requested("acc-1", 30)])
            .when_reconciled()
            .then_steps([]);
    }

    #[test]
    #[should_panic(
        expected = "the saga recorded other events than expected (- expected, + actual):\n\
                               - 0: PaidOut(PaidOut)\n\
                               + 0: PayoutRefused(PayoutRefused { reason: \"not enough money\" })\n"
    )]
    fn then_events_shows_a_diff() {
        let _ = given_saga::<Payout>("p-1", [requested("acc-1", 30)])
            .when_outcome("withdraw", refused(&AccountError::InsufficientFunds))
            .then_events([PaidOut {}.into()]);
    }

    #[test]
    #[should_panic(expected = "given_saga: invalid aggregate id \"\"")]
    fn given_saga_names_a_bad_id() {
        let _ = given_saga::<Payout>("", []);
    }
}
