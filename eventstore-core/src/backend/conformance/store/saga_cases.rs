//! Sagas over the store: each step taken once and its outcome recorded,
//! whatever the redeliveries and overlapping reconciles.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::fixtures::load;
use crate::backend::RecordedOutcome;
use crate::backend::conformance::faulty::Faulty;
use crate::doc::{
    Account, AccountError, AccountEvent, MoneyWithdrawn, PaidOut, Payout, PayoutEvent,
    PayoutEventHandler, PayoutRefused, PayoutRequested, requested,
};
use crate::reactor::Reactor;
use crate::{
    Aggregate, AggregateId, DeadlineStore, Event, EventStore, Incoming, Options, RecordedEvent,
    Repository, Saga, SagaError, SagaReactor, Step, StepOutcome,
};

async fn open<S: EventStore + DeadlineStore>(repo: &Repository<S>, id: &str, balance: u64) {
    repo.execute(id, Options::default(), |a: &Account| a.open("Ada", balance))
        .await
        .and_then(crate::Outcome::into_result)
        .expect("open");
}

/// Starts the saga `G` `id` with `event`; returns the event as recorded.
async fn start<G, S>(repo: &Repository<S>, id: &str, event: G::Event) -> RecordedEvent
where
    G: Saga,
    G::Event: Clone,
    S: EventStore,
{
    let committed = repo
        .execute(id, Options::default(), move |_: &G| {
            Ok::<_, AccountError>(vec![event.clone()])
        })
        .await
        .and_then(crate::Outcome::into_result)
        .expect("start")
        .expect("new saga");
    committed.events[0].clone()
}

async fn balance<S: EventStore + DeadlineStore>(repo: &Repository<S>, id: &str) -> u64 {
    repo.load::<Account>(id)
        .await
        .expect("load account")
        .state
        .balance
}

async fn payout_events<S: EventStore + DeadlineStore>(store: &S, id: &str) -> Vec<PayoutEvent> {
    load(store, Payout::KIND, id, 0)
        .await
        .iter()
        .map(|e| e.decode().expect("decode"))
        .collect()
}

/// A step is taken with the key `<saga kind>/<saga id>/<step>` and its
/// outcome recorded on the saga's stream under the same key; delivered
/// again, the saga is done and nothing more happens.
pub async fn a_saga_takes_its_step_once_and_records_it<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", 100).await;
    let cause = start::<Payout, _>(&repo, "p-1", requested("acc-1", 30)).await;
    let saga = SagaReactor::<Payout, _>::new(repo.clone());
    for _ in 0..2 {
        saga.handle(&cause).await.expect("handle");
    }
    assert_eq!(balance(&repo, "acc-1").await, 70, "withdrawn once");
    assert_eq!(
        payout_events(&store, "p-1").await,
        [requested("acc-1", 30), PaidOut {}.into()]
    );
    for (kind, id) in [("Account", "acc-1"), ("Payout", "p-1")] {
        assert_eq!(
            store
                .idempotency_key_outcome(kind, id, "Payout/p-1/withdraw")
                .await
                .expect("key"),
            Some(RecordedOutcome::Applied),
            "the step's key on {kind} {id}"
        );
    }
    let withdrawn = load(&store, "Account", "acc-1", 1).await;
    assert_eq!(
        withdrawn[0].metadata.causation_id.as_deref(),
        Some(cause.id.to_string().as_str()),
        "the step names the event that caused it"
    );
}

/// A refused step is recorded as refused; delivered again after the
/// refusal's reason went away, the saga stays refused and nothing moves.
pub async fn a_refused_step_delivered_again_keeps_its_recorded_outcome<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let cause = start::<Payout, _>(&repo, "p-1", requested("acc-1", 30)).await;
    let saga = SagaReactor::<Payout, _>::new(repo.clone());
    saga.handle(&cause).await.expect("handle");
    let refused = [
        requested("acc-1", 30),
        PayoutRefused {
            reason: AccountError::NotOpen.to_string(),
        }
        .into(),
    ];
    assert_eq!(payout_events(&store, "p-1").await, refused);
    open(&repo, "acc-1", 100).await;
    saga.handle(&cause).await.expect("handle again");
    assert_eq!(payout_events(&store, "p-1").await, refused);
    assert_eq!(balance(&repo, "acc-1").await, 100, "nothing withdrawn");
}

/// Two reconciles of one saga at once (the store yields before every
/// append, so they interleave) take the step once and record it once.
pub async fn overlapping_reconciles_take_and_record_each_step_once<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(Faulty::new(store.clone()).pause_before_append());
    open(&repo, "acc-1", 1_000).await;
    let saga = SagaReactor::<Payout, _>::new(repo.clone());
    let rival = saga.clone();
    for n in 0..10 {
        let id = format!("p-{n}");
        let cause = start::<Payout, _>(&repo, &id, requested("acc-1", 1)).await;
        let (a, b) = tokio::join!(saga.handle(&cause), rival.handle(&cause));
        a.expect("first");
        b.expect("second");
        assert_eq!(
            payout_events(&store, &id).await,
            [requested("acc-1", 1), PaidOut {}.into()],
            "{id}"
        );
        assert_eq!(balance(&repo, "acc-1").await, 1_000 - n - 1, "{id}");
    }
}

/// A delivery of `cause` to a Payout saga reactor that loaded the saga,
/// then stalled at its first read of an account: the gate that releases it
/// (close it) and the task that ends with its result.
async fn stalled_delivery<S: EventStore + DeadlineStore>(
    store: &S,
    cause: &RecordedEvent,
) -> (Arc<Semaphore>, tokio::task::JoinHandle<Result<(), String>>) {
    let gate = Arc::new(Semaphore::new(0));
    let stalling = Faulty::new(store.clone()).hold_reads_of("Account", Arc::clone(&gate));
    let stale = SagaReactor::<Payout, _>::new(Repository::new(stalling.clone()));
    let resumed = tokio::spawn({
        let cause = cause.clone();
        async move { stale.handle(&cause).await.map_err(|e| e.to_string()) }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while stalling.held() == 0 {
        assert!(
            Instant::now() < deadline,
            "the stale delivery never read the account"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (gate, resumed)
}

/// A delivery that loaded the saga, then stalled before its step's
/// command read the account, does not act once it resumes after another
/// delivery recorded the step refused and the refusal's reason went away:
/// the step's key gives the recorded refusal back. (The key alone stops
/// it: this case passes without the saga's guard on the step, which the
/// cases after a cancel below need.)
pub async fn a_stale_delivery_does_not_act_after_the_saga_moved_on<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let cause = start::<Payout, _>(&repo, "p-1", requested("acc-1", 30)).await;
    let (gate, resumed) = stalled_delivery(&store, &cause).await;
    SagaReactor::<Payout, _>::new(repo.clone())
        .handle(&cause)
        .await
        .expect("handle");
    open(&repo, "acc-1", 100).await;
    gate.close();
    resumed.await.expect("joined").expect("the stale delivery");
    assert_eq!(balance(&repo, "acc-1").await, 100, "nothing withdrawn");
    assert_eq!(
        payout_events(&store, "p-1").await,
        [
            requested("acc-1", 30),
            PayoutRefused {
                reason: AccountError::NotOpen.to_string()
            }
            .into()
        ]
    );
}

/// A delivery that loaded the saga and stalled before its step's command
/// read the account, then resumes after the saga was settled by other
/// means (its own stream moved on, the step's key unused): with the
/// account able to pay it would withdraw, with the account short it would
/// record a refusal (`balance_then` says which). The stale delivery must do
/// neither: the saga's events stay `[requested, cancelled]`.
async fn stale_delivery_after_a_cancel<S: EventStore + DeadlineStore>(store: S, balance_then: u64) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", balance_then).await;
    let cause = start::<Payout, _>(&repo, "p-1", requested("acc-1", 30)).await;
    let (gate, resumed) = stalled_delivery(&store, &cause).await;
    let cancelled: PayoutEvent = PayoutRefused {
        reason: "cancelled".into(),
    }
    .into();
    let cancel = cancelled.clone();
    repo.execute("p-1", Options::default(), move |_: &Payout| {
        Ok::<_, AccountError>(vec![cancel.clone()])
    })
    .await
    .and_then(crate::Outcome::into_result)
    .expect("cancel");
    gate.close();
    resumed.await.expect("joined").expect("the stale delivery");
    assert_eq!(
        balance(&repo, "acc-1").await,
        balance_then,
        "nothing withdrawn"
    );
    assert_eq!(
        payout_events(&store, "p-1").await,
        [requested("acc-1", 30), cancelled],
        "the stale delivery recorded nothing on the settled saga"
    );
    let key = crate::saga::step_key(Payout::KIND, "p-1", "withdraw");
    let on_account = store
        .idempotency_key_outcome("Account", "acc-1", &key)
        .await
        .expect("key outcome");
    assert_eq!(
        on_account, None,
        "the stale delivery decided nothing under the step's key"
    );
}

/// A stale delivery whose step would be done does not take it once the
/// saga moved on by other means than the step's outcome (the guard is
/// what stops it: the step's key is unused).
pub async fn a_stale_delivery_does_not_take_a_step_after_a_cancel<S: EventStore + DeadlineStore>(
    store: S,
) {
    stale_delivery_after_a_cancel(store, 100).await;
}

/// A stale delivery whose step would be refused neither records the
/// refusal under the step's key nor the outcome on the saga, once the
/// saga moved on by other means than the step's outcome.
pub async fn a_stale_delivery_does_not_refuse_a_step_after_a_cancel<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    stale_delivery_after_a_cancel(store, 10).await;
}

/// Like [`Payout`], but its `on_outcome` records nothing: the saga never
/// moves past its step.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Stubborn", event = PayoutEvent)]
struct Stubborn(Payout);

impl PayoutEventHandler for Stubborn {
    fn on_payout_requested(&mut self, e: &PayoutRequested) {
        self.0.on_payout_requested(e);
    }
    fn on_paid_out(&mut self, e: &PaidOut) {
        self.0.on_paid_out(e);
    }
    fn on_payout_refused(&mut self, e: &PayoutRefused) {
        self.0.on_payout_refused(e);
    }
}

impl Saga for Stubborn {
    type Input = crate::NoInput;
    fn steps<S: EventStore>(&self, id: &AggregateId) -> Vec<Step<S>> {
        self.0.steps(id)
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<PayoutEvent> {
        Vec::new()
    }
}

/// A saga whose outcome does not move it past its step is reported, with
/// the saga, its id and the step, not looped on; its command ran once.
pub async fn a_saga_that_does_not_move_is_reported<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", 100).await;
    let cause = start::<Stubborn, _>(&repo, "s-1", requested("acc-1", 30)).await;
    let saga = SagaReactor::<Stubborn, _>::new(repo.clone());
    for _ in 0..2 {
        let error = saga.handle(&cause).await.expect_err("reported");
        assert_eq!(
            error.downcast_ref::<SagaError>(),
            Some(&SagaError::StillWanted {
                kind: "Stubborn",
                id: "s-1".into(),
                step: "withdraw".into(),
                outcome: "done".into(),
            })
        );
        assert_eq!(
            error.to_string(),
            r#"saga Stubborn "s-1": the outcome of step "withdraw" (done) did not move it past the step"#
        );
    }
    assert_eq!(balance(&repo, "acc-1").await, 70, "withdrawn once");
}

/// Wants two withdrawals at once, from `acc-1` and `acc-2`; either one
/// done settles it.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "EitherOne", event = PayoutEvent)]
struct EitherOne(Stubborn);

impl PayoutEventHandler for EitherOne {
    fn on_payout_requested(&mut self, e: &PayoutRequested) {
        self.0.on_payout_requested(e);
    }
    fn on_paid_out(&mut self, e: &PaidOut) {
        self.0.on_paid_out(e);
    }
    fn on_payout_refused(&mut self, e: &PayoutRefused) {
        self.0.on_payout_refused(e);
    }
}

impl Saga for EitherOne {
    type Input = crate::NoInput;
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        let payout = &self.0.0;
        if !payout.requested || payout.settled {
            return Vec::new();
        }
        ["acc-1", "acc-2"]
            .into_iter()
            .map(|account| Step::on(account, account, |a: &Account| a.withdraw(1)))
            .collect()
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<PayoutEvent> {
        vec![PaidOut {}.into()]
    }
}

/// Of two steps wanted at once, the second is not taken once the first
/// one's recorded outcome makes the saga no longer want it.
pub async fn a_step_no_longer_wanted_after_an_outcome_is_not_taken<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", 100).await;
    open(&repo, "acc-2", 100).await;
    let cause = start::<EitherOne, _>(&repo, "e-1", requested("acc-1", 1)).await;
    let saga = SagaReactor::<EitherOne, _>::new(repo.clone());
    saga.handle(&cause).await.expect("handle");
    assert_eq!(
        (balance(&repo, "acc-1").await, balance(&repo, "acc-2").await),
        (99, 100),
        "only the first step taken"
    );
}

/// Counts the withdrawals of the account it is named after: a saga fed by
/// another aggregate's events.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Watch", event = WatchEvent)]
struct Watch {
    withdrawn: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Seen {
    amount: u64,
}

#[derive(Event, Debug, Clone, PartialEq)]
enum WatchEvent {
    Seen(Seen),
}

impl WatchEventHandler for Watch {
    fn on_seen(&mut self, e: &Seen) {
        self.withdrawn += e.amount;
    }
}

impl Saga for Watch {
    type Input = Incoming<Account>;
    fn correlate(input: &Incoming<Account>) -> Option<AggregateId> {
        input.aggregate_id.parse().ok()
    }
    fn on_input(&self, input: &Incoming<Account>, _: SystemTime) -> Vec<WatchEvent> {
        match &input.event {
            AccountEvent::MoneyWithdrawn(MoneyWithdrawn { amount }) => {
                vec![Seen { amount: *amount }.into()]
            }
            AccountEvent::Opened(_) => Vec::new(),
        }
    }
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        Vec::new()
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<WatchEvent> {
        Vec::new()
    }
}

/// An input event is read through the filter its declaration makes,
/// recorded once on the saga it correlates to, under a key of its own.
pub async fn an_input_event_is_recorded_once_on_its_saga<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", 100).await;
    repo.execute("acc-1", Options::default(), |a: &Account| a.withdraw(30))
        .await
        .and_then(crate::Outcome::into_result)
        .expect("withdraw");
    let events = load(&store, "Account", "acc-1", 0).await;
    let saga = SagaReactor::<Watch, _>::new(repo.clone());
    let filter = saga.filter();
    assert!(filter.wants("Account", "MoneyWithdrawn") && filter.wants("Watch", "Seen"));
    assert!(!filter.wants("Payout", "PaidOut"));
    for event in events.iter().chain(&events) {
        saga.handle(event).await.expect("handle");
    }
    let watched = load(&store, "Watch", "acc-1", 0).await;
    assert_eq!(watched.len(), 1, "recorded once: {watched:?}");
    let key = format!("Watch/acc-1/event/{}", events[1].id);
    assert_eq!(
        store
            .idempotency_key_outcome("Watch", "acc-1", &key)
            .await
            .expect("key"),
        Some(RecordedOutcome::Applied)
    );
    assert_eq!(
        repo.load::<Watch>("acc-1")
            .await
            .expect("load")
            .state
            .withdrawn,
        30
    );
}

/// Wants one more step after each outcome, for ever.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Endless", event = WatchEvent)]
struct Endless {
    rounds: u64,
}

impl WatchEventHandler for Endless {
    fn on_seen(&mut self, _: &Seen) {
        self.rounds += 1;
    }
}

impl Saga for Endless {
    type Input = crate::NoInput;
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        vec![Step::on(
            format!("withdraw-{}", self.rounds),
            "acc-1",
            |a: &Account| a.withdraw(1),
        )]
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<WatchEvent> {
        vec![Seen { amount: 1 }.into()]
    }
}

/// A saga that keeps wanting new steps is stopped after
/// [`MAX_ROUNDS`](crate::saga::MAX_ROUNDS) rounds and reported, naming the
/// steps it still wants.
pub async fn a_saga_that_never_ends_is_stopped_after_the_round_limit<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", 1_000).await;
    let cause = start::<Endless, _>(&repo, "e-1", Seen { amount: 0 }.into()).await;
    let saga = SagaReactor::<Endless, _>::new(repo.clone());
    let error = saga.handle(&cause).await.expect_err("stopped");
    let rounds = crate::saga::MAX_ROUNDS as u64;
    assert_eq!(
        error.downcast_ref::<SagaError>(),
        Some(&SagaError::TooManyRounds {
            kind: "Endless",
            id: "e-1".into(),
            steps: vec![format!("withdraw-{}", rounds + 1)],
        })
    );
    assert_eq!(balance(&repo, "acc-1").await, 1_000 - rounds);
}

/// Pays 1 from `acc-1` for each round an operator approves by appending
/// to the saga's stream: it wants nothing when opened, nor once each
/// approved round is paid, and wants a step again after each approval.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Gate", event = GateEvent)]
struct Gate {
    approved: u64,
    paid: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct GateOpened {}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Approved {}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Paid {}

#[derive(Event, Debug, Clone, PartialEq)]
enum GateEvent {
    GateOpened(GateOpened),
    Approved(Approved),
    Paid(Paid),
}

impl GateEventHandler for Gate {
    fn on_gate_opened(&mut self, _: &GateOpened) {}
    fn on_approved(&mut self, _: &Approved) {
        self.approved += 1;
    }
    fn on_paid(&mut self, _: &Paid) {
        self.paid += 1;
    }
}

impl Saga for Gate {
    type Input = crate::NoInput;
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        if self.paid >= self.approved {
            return Vec::new();
        }
        vec![Step::on(
            format!("pay-{}", self.paid + 1),
            "acc-1",
            |a: &Account| a.withdraw(1),
        )]
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<GateEvent> {
        vec![Paid {}.into()]
    }
}

/// An operator approves a round of the gate `g-1`; returns the event.
async fn approve<S: EventStore>(repo: &Repository<S>) -> RecordedEvent {
    let committed = repo
        .execute("g-1", Options::default(), |_: &Gate| {
            Ok::<_, AccountError>(vec![Approved {}.into()])
        })
        .await
        .and_then(crate::Outcome::into_result)
        .expect("approve")
        .expect("appended");
    committed.events[0].clone()
}

/// A saga that wants nothing at its first event but does once an operator
/// appended to its stream, and again after it came to rest: each event of
/// its stream is delivered in order to one reactor, which spares the
/// deliveries of what it recorded itself, yet takes every step the
/// operator's events call for, once.
pub async fn an_operator_event_after_a_rest_is_reconciled<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    open(&repo, "acc-1", 100).await;
    let opened = start::<Gate, _>(&repo, "g-1", GateOpened {}.into()).await;
    // approved before the first event is delivered: that delivery folds
    // the first event alone, which wants nothing
    let first = approve(&repo).await;
    let saga = SagaReactor::<Gate, _>::new(repo.clone());
    saga.handle(&opened).await.expect("opened");
    saga.handle(&first).await.expect("first approval");
    assert_eq!(balance(&repo, "acc-1").await, 99, "round 1 paid");
    // the operator approves again before the reactor reaches the payment
    // it recorded (version 3), then once more after it
    let second = approve(&repo).await;
    let recorded = load(&store, Gate::KIND, "g-1", 2).await;
    assert_eq!(recorded.len(), 2, "paid, approved: {recorded:?}");
    saga.handle(&recorded[0]).await.expect("paid 1");
    saga.handle(&second).await.expect("second approval");
    assert_eq!(balance(&repo, "acc-1").await, 98, "round 2 paid");
    let third = approve(&repo).await;
    let mut tail = load(&store, Gate::KIND, "g-1", 4).await;
    tail.retain(|e| e.version < third.version);
    for event in tail.iter().chain([&third]) {
        saga.handle(event).await.expect("deliver");
    }
    // every event delivered once more, in order, to a clone
    let again = saga.clone();
    for event in &load(&store, Gate::KIND, "g-1", 0).await {
        again.handle(event).await.expect("again");
    }
    let gate = repo.load::<Gate>("g-1").await.expect("load").state;
    assert_eq!((gate.approved, gate.paid), (3, 3));
    assert_eq!(balance(&repo, "acc-1").await, 97, "each round paid once");
}
