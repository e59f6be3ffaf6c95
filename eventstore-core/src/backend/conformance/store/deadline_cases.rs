//! Deadlines over the store: kept by due time and version, fired once by
//! the saga runtime, never when cancelled or moved first.

use std::time::{Duration, SystemTime};

use super::fixtures::{append_ok, body};
use crate::backend::conformance::approval::{
    Approval, ApprovalError, ApprovalEvent, Approved, Extended, TimedOut, micros, requested,
};
use crate::backend::conformance::faulty::Faulty;
use crate::backend::{AppendRequest, DeadlinesAt, NewEvent, Partition, PendingDeadline};
use crate::reactor::Reactor;
use crate::{
    Deadline, DeadlineStore, EventStore, ManualClock, Options, Outcome, RecordedEvent, Repository,
    SagaError, SagaReactor,
};

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

/// What `fire_due` returns at `now` with nothing pending: ask again after
/// the refresh.
fn later(now: SystemTime) -> Option<SystemTime> {
    Some(now + crate::saga::DEADLINE_REFRESH)
}

fn kept(id: &str, version: u64, deadlines: Vec<Deadline>) -> DeadlinesAt {
    DeadlinesAt {
        saga_kind: "Approval".to_owned(),
        saga_id: id.parse().expect("id"),
        version,
        deadlines,
    }
}

fn names(due: &[PendingDeadline]) -> Vec<(String, String)> {
    due.iter()
        .map(|p| (p.saga_id.to_string(), p.deadline.name().to_owned()))
        .collect()
}

/// Due deadlines come in firing order (due time, saga id, name), only those
/// due, only the kind asked and the partition asked; the next due time is
/// the earliest kept; a removed one is gone, its namesakes stay.
pub async fn kept_deadlines_are_found_by_due_time_in_firing_order<S: DeadlineStore>(store: S) {
    let payload = serde_json::json!({ "n": 1, "text": "é \" ' \\" });
    store
        .sync_deadlines(kept("b", 1, vec![Deadline::at("x", at(10))]))
        .await
        .expect("sync b");
    store
        .sync_deadlines(kept(
            "a",
            1,
            vec![
                Deadline::at("z", at(20)),
                Deadline::at("y", at(10)).with(payload.clone()),
                Deadline::at("x", at(10)),
            ],
        ))
        .await
        .expect("sync a");
    let other = DeadlinesAt {
        saga_kind: "Other".to_owned(),
        ..kept("a", 1, vec![Deadline::at("x", at(1))])
    };
    store
        .sync_deadlines(other)
        .await
        .expect("sync another kind");

    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        Some(at(10))
    );
    let due = store
        .due_deadlines("Approval", None, at(10), 10)
        .await
        .expect("due");
    assert_eq!(
        names(&due),
        [("a", "x"), ("a", "y"), ("b", "x")].map(|(i, n)| (i.to_owned(), n.to_owned())),
        "due at 10, by due time, saga id, name"
    );
    assert_eq!(due[1].deadline.payload(), &payload, "payload kept");
    assert_eq!(due[1].deadline.due(), at(10), "due time kept to the µs");
    assert_eq!(due[1].version, 1);
    let first = store
        .due_deadlines("Approval", None, at(10), 1)
        .await
        .expect("due");
    assert_eq!(names(&first), [("a".to_owned(), "x".to_owned())], "limit");
    let none = store
        .due_deadlines("Approval", None, at(9), 10)
        .await
        .expect("due");
    assert!(none.is_empty(), "nothing due before 10: {none:?}");

    for index in 0..2 {
        let part = Partition { index, count: 2 };
        let due = store
            .due_deadlines("Approval", Some(part), at(30), 10)
            .await
            .expect("due in a partition");
        let expected: Vec<(String, String)> = [("a", "x"), ("a", "y"), ("b", "x"), ("a", "z")]
            .iter()
            .filter(|(id, _)| part.owns(id))
            .map(|(i, n)| ((*i).to_owned(), (*n).to_owned()))
            .collect();
        assert_eq!(names(&due), expected, "partition {index} of 2");
        let next = store
            .next_deadline("Approval", Some(part))
            .await
            .expect("next in a partition");
        let earliest = expected.first().map(|_| at(10));
        assert_eq!(next, earliest, "partition {index} of 2");
    }

    let moved = PendingDeadline {
        deadline: Deadline::at("x", at(11)),
        ..due[0].clone()
    };
    store
        .remove_deadline(&moved)
        .await
        .expect("remove a namesake");
    store.remove_deadline(&due[0]).await.expect("remove");
    store.remove_deadline(&due[0]).await.expect("remove again");
    let left = store
        .due_deadlines("Approval", None, at(30), 10)
        .await
        .expect("due");
    assert_eq!(
        names(&left),
        [("a", "y"), ("b", "x"), ("a", "z")].map(|(i, n)| (i.to_owned(), n.to_owned()))
    );
}

/// A sync replaces the saga's deadlines, unless a later version's were
/// kept; an empty one removes them; the summary counts what is pending
/// and overdue.
pub async fn a_sync_replaces_a_sagas_deadlines_unless_a_later_version_was_kept<S: DeadlineStore>(
    store: S,
) {
    let sync = |version, deadlines| store.sync_deadlines(kept("a", version, deadlines));
    sync(
        2,
        vec![Deadline::at("x", at(10)), Deadline::at("y", at(20))],
    )
    .await
    .expect("v2");
    sync(1, vec![Deadline::at("old", at(5))]).await.expect("v1");
    let due = store
        .due_deadlines("Approval", None, at(100), 10)
        .await
        .expect("due");
    assert_eq!(
        names(&due).len(),
        2,
        "an older version changes nothing: {due:?}"
    );
    sync(2, vec![Deadline::at("x", at(15))])
        .await
        .expect("v2 again");
    let summary = store
        .deadline_summary("Approval", at(16), 10)
        .await
        .expect("summary");
    assert_eq!(
        (summary.pending, summary.next_due, summary.overdue),
        (1, Some(at(15)), 1),
        "the same version replaces"
    );
    assert_eq!(summary.most_overdue[0].deadline, Deadline::at("x", at(15)));
    sync(3, Vec::new()).await.expect("v3 empty");
    let summary = store
        .deadline_summary("Approval", at(16), 10)
        .await
        .expect("summary");
    assert_eq!((summary.pending, summary.next_due), (0, None), "removed");
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        None
    );
}

/// The memory of a saga that is asked for an approval at `due`.
async fn request<S: EventStore>(repo: &Repository<S>, id: &str, due: SystemTime) -> RecordedEvent {
    let outcome = repo
        .execute(id, Options::default(), |_: &Approval| {
            Ok::<_, ApprovalError>(vec![requested(due, id)])
        })
        .await
        .expect("request");
    let Outcome::Done(committed) = outcome else {
        panic!("request {id}: {outcome:?}");
    };
    committed.events[0].clone()
}

async fn events<S: EventStore>(store: &S, id: &str) -> Vec<ApprovalEvent> {
    let stored = store.load("Approval", id, 0).await.expect("load");
    stored.iter().map(|e| e.decode().expect("decode")).collect()
}

fn timed_out(events: &[ApprovalEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ApprovalEvent::TimedOut(_)))
        .count()
}

/// A saga's deadline is kept when it is reconciled and fires once when
/// due, with its payload and the firing time, under its key: firing
/// again (another runner, a redelivery) records nothing more.
pub async fn a_deadline_fires_once_when_due<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    let clock = ManualClock::starting_at(at(0));
    let saga =
        SagaReactor::<Approval, _>::new(repo.clone()).clock(std::sync::Arc::new(clock.clone()));
    let cause = request(&repo, "ap-1", at(600)).await;
    saga.handle(&cause).await.expect("reconcile");
    assert_eq!(
        saga.fire_due(None, at(599)).await.expect("not yet"),
        Some(at(600)),
        "kept, not due"
    );
    assert_eq!(timed_out(&events(&store, "ap-1").await), 0);
    assert_eq!(
        saga.fire_due(None, at(601)).await.expect("fire"),
        later(at(601))
    );
    let stored = store.load("Approval", "ap-1", 0).await.expect("load");
    assert_eq!(
        stored[1].decode::<ApprovalEvent>().expect("decode"),
        TimedOut {
            at_micros: micros(at(601)),
            note: "ap-1".to_owned()
        }
        .into()
    );
    let pending = PendingDeadline {
        saga_kind: "Approval".to_owned(),
        saga_id: "ap-1".parse().expect("id"),
        version: 1,
        deadline: Deadline::at("approval", at(600)),
    };
    store
        .sync_deadlines(kept("ap-1", 1, vec![pending.deadline.clone()]))
        .await
        .expect("a stale runner keeps it again");
    let again = SagaReactor::<Approval, _>::new(repo.clone());
    assert_eq!(
        again.fire_due(None, at(700)).await.expect("fire again"),
        later(at(700))
    );
    assert_eq!(timed_out(&events(&store, "ap-1").await), 1, "fired once");
    saga.handle(&stored[1]).await.expect("reconcile the firing");
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        None
    );
}

/// A deadline cancelled (approved first) or moved (extended) before it is
/// due never fires at its old time, even while a stale row still names it;
/// a moved one fires at its new time.
pub async fn a_cancelled_or_moved_deadline_does_not_fire_at_its_old_time<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    let first = request(&repo, "ap-1", at(600)).await;
    saga.handle(&first).await.expect("reconcile");
    let approved = repo
        .execute("ap-1", Options::default(), |a: &Approval| a.approve())
        .await
        .expect("approve");
    assert!(matches!(approved, Outcome::Done(_)), "{approved:?}");
    // the row is still there (nothing reconciled the approval yet)
    assert_eq!(
        saga.fire_due(None, at(601)).await.expect("fire"),
        later(at(601))
    );
    assert_eq!(
        events(&store, "ap-1").await,
        [requested(at(600), "ap-1"), Approved {}.into()],
        "cancelled: nothing fired"
    );

    let second = request(&repo, "ap-2", at(600)).await;
    saga.handle(&second).await.expect("reconcile");
    let extended = repo
        .execute("ap-2", Options::default(), |a: &Approval| a.extend(at(900)))
        .await
        .expect("extend");
    let Outcome::Done(extended) = extended else {
        panic!("extend: {extended:?}");
    };
    saga.handle(&extended.events[0])
        .await
        .expect("reconcile the move");
    assert_eq!(
        saga.fire_due(None, at(601)).await.expect("fire"),
        later(at(601)),
        "asks again within a minute"
    );
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        Some(at(900))
    );
    assert_eq!(
        timed_out(&events(&store, "ap-2").await),
        0,
        "not at its old time"
    );
    assert_eq!(
        saga.fire_due(None, at(900)).await.expect("fire"),
        later(at(900))
    );
    assert_eq!(
        timed_out(&events(&store, "ap-2").await),
        1,
        "at its new time"
    );
}

/// Approvals racing the deadline: every saga ends approved or timed out,
/// never both.
pub async fn an_approval_racing_the_deadline_ends_one_way<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    let ids: Vec<String> = (0..16).map(|i| format!("race-{i}")).collect();
    for id in &ids {
        let cause = request(&repo, id, at(600)).await;
        saga.handle(&cause).await.expect("reconcile");
    }
    let approvers = ids.iter().map(|id| {
        let (repo, id) = (repo.clone(), id.clone());
        tokio::spawn(async move {
            repo.execute(&id, Options::default(), |a: &Approval| a.approve())
                .await
                .expect("approve")
        })
    });
    let approvers: Vec<_> = approvers.collect();
    let firers: Vec<_> = (0..2)
        .map(|_| {
            let saga = saga.clone();
            tokio::spawn(async move {
                saga.fire_due(None, at(600))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    for approver in approvers {
        let outcome = approver.await.expect("approver");
        assert!(
            matches!(
                outcome,
                Outcome::Done(_) | Outcome::Rejected(ApprovalError::NotWaiting)
            ),
            "{outcome:?}"
        );
    }
    for firer in firers {
        firer.await.expect("firer").expect("fire");
    }
    for id in &ids {
        let events = events(&store, id).await;
        let approved = events
            .iter()
            .filter(|e| matches!(e, ApprovalEvent::Approved(_)))
            .count();
        assert_eq!(
            approved + timed_out(&events),
            1,
            "{id} ended one way, once: {events:?}"
        );
    }
}

/// A deadline no store can keep, or two with one name, fail the reconcile
/// with a typed error naming the saga and the deadline, and nothing is
/// kept; so does a due deadline whose `on_deadline` records nothing.
pub async fn deadlines_that_cannot_be_kept_or_fired_are_reported<S: EventStore + DeadlineStore>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    let huge = "n".repeat(crate::saga::MAX_DEADLINE_PAYLOAD_BYTES);
    let outcome = repo
        .execute("ap-big", Options::default(), |_: &Approval| {
            Ok::<_, ApprovalError>(vec![requested(at(600), &huge)])
        })
        .await
        .expect("request");
    let Outcome::Done(committed) = outcome else {
        panic!("{outcome:?}");
    };
    let error = saga
        .handle(&committed.events[0])
        .await
        .expect_err("refused");
    let error = error.downcast_ref::<SagaError>().expect("a saga error");
    assert!(
        matches!(error, SagaError::UnkeepableDeadline { id, deadline, .. } if id == "ap-big" && deadline == "approval"),
        "{error}"
    );
    assert!(error.to_string().contains("payload takes"), "{error}");
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        None
    );
}

/// The pending deadlines are an index of the saga streams: rebuilt from
/// them, they hold what each saga lists at its version, whatever was kept
/// before (nothing, or a row its saga no longer lists).
pub async fn deadlines_are_rebuilt_from_the_saga_streams<
    S: EventStore + DeadlineStore + crate::Tracker,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    // recorded without a reconcile: nothing is kept
    request(&repo, "ap-1", at(600)).await;
    request(&repo, "ap-2", at(300)).await;
    request(&repo, "ap-3", at(100)).await;
    let approved = repo
        .execute("ap-3", Options::default(), |a: &Approval| a.approve())
        .await
        .expect("approve");
    assert!(matches!(approved, Outcome::Done(_)), "{approved:?}");
    store
        .sync_deadlines(kept("ap-3", 1, vec![Deadline::at("approval", at(100))]))
        .await
        .expect("a row that ap-3 no longer lists");
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        Some(at(100))
    );
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    assert_eq!(saga.rebuild_deadlines().await.expect("rebuild"), 2);
    let pending = store
        .due_deadlines("Approval", None, at(1_000), 10)
        .await
        .expect("due");
    assert_eq!(
        names(&pending),
        [("ap-2", "approval"), ("ap-1", "approval")].map(|(i, n)| (i.to_owned(), n.to_owned())),
        "ap-3's row is gone, the others kept at their due times"
    );
    assert_eq!(
        pending[0].deadline.payload()["note"],
        "ap-2",
        "with their payloads"
    );
    assert_eq!(
        saga.rebuild_deadlines().await.expect("again"),
        2,
        "idempotent"
    );
}

/// Like [`Approval`], but its `on_deadline` records nothing.
#[derive(crate::Aggregate, Debug, Default, serde::Serialize, serde::Deserialize)]
#[aggregate(kind = "Unmoved", event = ApprovalEvent)]
struct Unmoved(Approval);

impl crate::backend::conformance::approval::ApprovalEventHandler for Unmoved {
    fn on_requested(&mut self, e: &crate::backend::conformance::approval::Requested) {
        self.0.on_requested(e);
    }
    fn on_extended(&mut self, e: &Extended) {
        self.0.on_extended(e);
    }
    fn on_approved(&mut self, e: &Approved) {
        self.0.on_approved(e);
    }
    fn on_timed_out(&mut self, e: &TimedOut) {
        self.0.on_timed_out(e);
    }
}

impl crate::Saga for Unmoved {
    type Input = crate::NoInput;
    fn steps<T: EventStore>(&self, id: &crate::AggregateId) -> Vec<crate::Step<T>> {
        self.0.steps(id)
    }
    fn on_outcome(&self, _: &str, _: &crate::StepOutcome, _: SystemTime) -> Vec<ApprovalEvent> {
        Vec::new()
    }
    fn deadlines(&self) -> Vec<Deadline> {
        self.0.deadlines()
    }
}

/// A due deadline whose `on_deadline` records nothing is reported with a
/// typed error naming the saga and the deadline, records nothing, and
/// stays pending.
pub async fn a_deadline_that_records_nothing_is_reported_and_stays<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let outcome = repo
        .execute("un-1", Options::default(), |_: &Unmoved| {
            Ok::<_, ApprovalError>(vec![requested(at(600), "un-1")])
        })
        .await
        .expect("request");
    let Outcome::Done(committed) = outcome else {
        panic!("{outcome:?}");
    };
    let saga = SagaReactor::<Unmoved, _>::new(repo.clone());
    saga.handle(&committed.events[0]).await.expect("reconcile");
    let error = saga.fire_due(None, at(600)).await.expect_err("reported");
    assert_eq!(
        error.downcast_ref::<SagaError>(),
        Some(&SagaError::DeadlineStillListed {
            kind: "Unmoved",
            id: "un-1".into(),
            deadline: "approval".into(),
        })
    );
    assert_eq!(
        store.load("Unmoved", "un-1", 0).await.expect("load").len(),
        1
    );
    assert_eq!(
        store.next_deadline("Unmoved", None).await.expect("next"),
        Some(at(600)),
        "still pending"
    );
}

/// A due deadline that cannot fire (its saga's stream holds an event no
/// longer decodable, so the saga cannot be loaded) is reported and tried
/// again, but does not hold up the deadlines due after it in firing order:
/// those fire, each once.
pub async fn a_deadline_that_cannot_fire_does_not_hold_up_the_others<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    // "ap-0" sorts first among equal due times: it would block the rest
    for id in ["ap-0", "ap-1", "ap-2"] {
        let cause = request(&repo, id, at(600)).await;
        saga.handle(&cause).await.expect("reconcile");
    }
    let teleported = NewEvent {
        kind: "Teleported".into(),
        schema_version: 1,
        body: body(&serde_json::json!({})),
    };
    append_ok(
        &store,
        AppendRequest::new("Approval", "ap-0".parse().expect("id"), 1).event(teleported),
    )
    .await;
    let error = saga
        .fire_due(None, at(601))
        .await
        .expect_err("ap-0 cannot fire");
    assert!(error.to_string().contains("Teleported"), "{error}");
    for id in ["ap-1", "ap-2"] {
        assert_eq!(
            timed_out(&events(&store, id).await),
            1,
            "{id} fired despite ap-0"
        );
    }
    let left = store
        .due_deadlines("Approval", None, at(601), 10)
        .await
        .expect("due");
    assert_eq!(
        names(&left),
        [("ap-0".to_owned(), "approval".to_owned())],
        "ap-0 stays pending, to be tried again"
    );
    saga.fire_due(None, at(602)).await.expect_err("again");
    for id in ["ap-1", "ap-2"] {
        assert_eq!(timed_out(&events(&store, id).await), 1, "{id} once");
    }
}

/// A partition's loop that learnt when to ask again asks the store anew
/// once the clock reads earlier than when it learnt that (the clock was
/// set back): a deadline another process kept meanwhile is not left for
/// the set-back clock to catch up with the old time.
pub async fn a_clock_set_back_asks_the_store_again<S: EventStore + DeadlineStore>(store: S) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    assert_eq!(
        saga.fire_due(None, at(3_600)).await.expect("nothing"),
        later(at(3_600))
    );
    // another process keeps a deadline due soon on the set-back clock
    let other = SagaReactor::<Approval, _>::new(repo.clone());
    let cause = request(&repo, "ap-1", at(10)).await;
    other.handle(&cause).await.expect("reconcile");
    saga.fire_due(None, at(20)).await.expect("fire");
    assert_eq!(
        timed_out(&events(&store, "ap-1").await),
        1,
        "fired on the clock set back, not an hour later"
    );
}

/// A saga whose reconcile fails before it comes to rest (a step that
/// always fails: retried, then parked) still has the deadline it lists
/// kept, and the deadline fires: it may be what gets the saga out.
pub async fn a_saga_stuck_on_a_failing_step_keeps_its_deadline<S: EventStore + DeadlineStore>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    let cause = request(&repo, "stuck-1", at(600)).await;
    saga.handle(&cause).await.expect_err("the step fails");
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        Some(at(600)),
        "kept though the reconcile failed"
    );
    saga.fire_due(None, at(601)).await.expect("fire");
    assert_eq!(timed_out(&events(&store, "stuck-1").await), 1, "fired");
}

/// Due times as far as every store keeps them: the latest, the last
/// microsecond of the year 9999, is kept and reads back exactly; one past
/// it is refused alike by every store, as a deadline that cannot be kept,
/// not kept by one and failed (or read back moved: PostgreSQL rounded due
/// times in the year 294247) by another.
pub async fn the_latest_due_time_is_kept_by_every_store_and_later_refused<
    S: EventStore + DeadlineStore,
>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    let latest =
        SystemTime::UNIX_EPOCH + Duration::from_micros(crate::saga::MAX_DEADLINE_DUE_MICROS);
    let cause = request(&repo, "ap-far", latest).await;
    saga.handle(&cause).await.expect("kept");
    assert_eq!(
        store.next_deadline("Approval", None).await.expect("next"),
        Some(latest)
    );
    let beyond = latest + Duration::from_micros(1);
    let cause = request(&repo, "ap-beyond", beyond).await;
    let error = saga.handle(&cause).await.expect_err("refused");
    let error = error.downcast_ref::<SagaError>().expect("a saga error");
    assert!(
        matches!(error, SagaError::UnkeepableDeadline { id, .. } if id == "ap-beyond"),
        "{error}"
    );
    let summary = store
        .deadline_summary("Approval", at(0), 10)
        .await
        .expect("summary");
    assert_eq!(summary.pending, 1, "only the latest is kept");
}

/// A deadline listed again with the due time of one that fired (its key is
/// used) would never fire: the firing reports it, naming the deadline, and
/// leaves it pending (status shows it overdue), instead of removing it in
/// silence while the saga waits for it forever.
pub async fn a_deadline_listed_again_after_it_fired_is_reported<S: EventStore + DeadlineStore>(
    store: S,
) {
    let repo = Repository::new(store.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    let cause = request(&repo, "ap-1", at(600)).await;
    saga.handle(&cause).await.expect("reconcile");
    saga.fire_due(None, at(601)).await.expect("fire");
    assert_eq!(timed_out(&events(&store, "ap-1").await), 1);
    let rearmed = repo
        .execute("ap-1", Options::default(), |_: &Approval| {
            Ok::<_, ApprovalError>(vec![
                Extended {
                    due_micros: micros(at(600)),
                }
                .into(),
            ])
        })
        .await
        .expect("re-arm");
    let Outcome::Done(rearmed) = rearmed else {
        panic!("{rearmed:?}");
    };
    saga.handle(&rearmed.events[0]).await.expect("reconcile");
    let error = saga
        .fire_due(None, at(602))
        .await
        .expect_err("it cannot fire again");
    let error = error.downcast_ref::<SagaError>().expect("a saga error");
    assert!(
        matches!(error, SagaError::DeadlineFiredBefore { id, deadline, .. } if id == "ap-1" && deadline == "approval"),
        "{error}"
    );
    let due = store
        .due_deadlines("Approval", None, at(602), 10)
        .await
        .expect("due");
    assert_eq!(names(&due).len(), 1, "still pending, shown overdue");
    assert_eq!(timed_out(&events(&store, "ap-1").await), 1, "fired once");
}

/// While nothing is due, asking what is due costs one read of the store:
/// the next due time, not also the (empty) list of due deadlines; and
/// none until a sync or the refresh.
pub async fn asking_while_nothing_is_due_costs_one_read<S: EventStore + DeadlineStore>(store: S) {
    let faulty = Faulty::new(store);
    let repo = Repository::new(faulty.clone());
    let saga = SagaReactor::<Approval, _>::new(repo.clone());
    assert_eq!(
        saga.fire_due(None, at(0)).await.expect("idle"),
        later(at(0))
    );
    assert_eq!(faulty.deadline_reads(), 1, "nothing pending");
    saga.fire_due(None, at(30)).await.expect("idle");
    assert_eq!(faulty.deadline_reads(), 1, "not before the refresh");
    let cause = request(&repo, "ap-1", at(600)).await;
    saga.handle(&cause).await.expect("reconcile");
    assert_eq!(
        saga.fire_due(None, at(31)).await.expect("kept"),
        Some(at(91))
    );
    assert_eq!(faulty.deadline_reads(), 2, "after a sync, one read");
    saga.fire_due(None, at(91)).await.expect("refresh");
    assert_eq!(faulty.deadline_reads(), 3, "at the refresh, one read");
    saga.fire_due(None, at(600)).await.expect("fire");
    assert_eq!(timed_out(&events(&faulty, "ap-1").await), 1);
}
