//! GDPR forget seen from reactors: parked events lose the personal data
//! too, and a projection rebuilt by replay holds none of it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::backend::Lease;
use crate::backend::conformance::account::{Account, AccountEvent, Opened, OwnerUpdated};
use crate::backend::{AppendRequest, ERASED_ERROR, NewEvent};
use crate::reactor::{HandlerError, ParkedEvent, Reactor, ReactorStore, Runner};
use crate::{EventFilter, EventStore, ForgetRequest, RecordedEvent, Tracker};

use super::running::{Running, fast};
use crate::backend::conformance::eventually::eventually;
use crate::backend::conformance::store::fixtures::{append_ok, field};

/// How long a replay of a few events may take.
const REPLAY_WAIT: Duration = Duration::from_secs(10);

/// A projection: each account's owner, as the events say.
#[derive(Clone, Default)]
struct Owners {
    name: String,
    owners: Arc<Mutex<BTreeMap<String, Option<String>>>>,
    handled: Arc<Mutex<usize>>,
}

impl Owners {
    fn owners(&self) -> BTreeMap<String, Option<String>> {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn handled(&self) -> usize {
        *self.handled.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Reactor for Owners {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate::<Account>()
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        let owner = match event.decode::<AccountEvent>()? {
            AccountEvent::Opened(Opened { owner, .. })
            | AccountEvent::OwnerUpdated(OwnerUpdated { owner }) => Some(owner),
            _ => None,
        };
        if let Some(owner) = owner {
            self.owners
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(event.aggregate_id.clone(), owner);
        }
        *self.handled.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Ok(())
    }
}

/// A new Account stream of `events`.
fn new_account(id: &str, events: &[AccountEvent]) -> AppendRequest {
    events.iter().fold(
        AppendRequest::new("Account", id.parse().unwrap(), 0),
        |request, event| request.event(NewEvent::encode(event).expect("encode")),
    )
}

/// Replays every Account event into a fresh projection named `name`.
async fn rebuild<S>(store: &S, name: &str, events: usize) -> BTreeMap<String, Option<String>>
where
    S: EventStore + Tracker + ReactorStore,
{
    let owners = Owners {
        name: name.to_owned(),
        ..Owners::default()
    };
    let running = Running::start(Runner::new(store.clone(), owners.clone()).options(fast(name)));
    eventually(
        REPLAY_WAIT,
        "the projection replays every Account event",
        async || owners.handled(),
        |&handled| handled >= events,
    )
    .await;
    running.stop().await;
    owners.owners()
}

/// A forget erases the parked copies of the aggregate's events (their
/// error text too, which may quote the data), and a projection rebuilt by
/// replay afterwards holds no personal value.
pub async fn forget_reaches_parked_events_and_replayed_projections<S>(store: S)
where
    S: EventStore + Tracker + ReactorStore,
{
    let opened = |owner: &str| {
        AccountEvent::from(Opened {
            owner: Some(owner.into()),
            initial_balance: 10,
        })
    };
    let renamed = AccountEvent::from(OwnerUpdated {
        owner: Some("Ada King".into()),
    });
    let ada = append_ok(
        &store,
        new_account("acc-ada", &[opened("Ada Lovelace"), renamed]),
    )
    .await;
    append_ok(&store, new_account("acc-grace", &[opened("Grace Hopper")])).await;

    let before = rebuild(&store, "owners-before", 3).await;
    assert_eq!(
        before["acc-ada"].as_deref(),
        Some("Ada King"),
        "negative control"
    );

    store
        .park(
            &lease(&store, "mailer").await,
            ParkedEvent {
                reactor: "mailer".into(),
                position: ada[0].position,
                event: Some(ada[0].clone()),
                error: "no mailbox for \"Ada Lovelace\"".into(),
                attempts: 3,
                parked_at: SystemTime::now(),
            },
        )
        .await
        .expect("park");

    let forgotten = store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-ada".parse().unwrap(),
        ))
        .await
        .expect("forget");
    assert_eq!(
        (forgotten.events, forgotten.copies),
        (2, 1),
        "{forgotten:?}"
    );

    let parked = store.parked("mailer", 0, 10).await.expect("parked");
    assert_eq!(parked.len(), 1, "the parked event stays parked");
    assert_eq!(
        field(&parked[0].event.as_ref().expect("readable").body, "owner"),
        serde_json::Value::Null
    );
    assert_eq!(parked[0].error, ERASED_ERROR);
    assert_eq!(parked[0].position, ada[0].position);

    let after = rebuild(&store, "owners-after", 3).await;
    assert_eq!(after["acc-ada"], None, "the replayed projection: {after:?}");
    assert_eq!(after["acc-grace"].as_deref(), Some("Grace Hopper"));
    assert!(
        !format!("{after:?}").contains("Ada"),
        "no personal value in the projection: {after:?}"
    );
    assert_eq!(
        store
            .forget(&ForgetRequest::personal::<Account>(
                "acc-ada".parse().unwrap()
            ))
            .await
            .expect("forget again")
            .total(),
        0
    );

    // a handler that read the event before the forget and fails after it
    // parks its copy: the stored one holds no personal value either
    store
        .park(
            &lease(&store, "late").await,
            ParkedEvent {
                reactor: "late".into(),
                position: ada[1].position,
                event: Some(ada[1].clone()),
                error: "rename failed".into(),
                attempts: 3,
                parked_at: SystemTime::now(),
            },
        )
        .await
        .expect("park a copy read before the forget");
    let late = store.parked("late", 0, 10).await.expect("parked");
    assert_eq!(
        field(&late[0].event.as_ref().expect("readable").body, "owner"),
        serde_json::Value::Null,
        "{late:?}"
    );
}

/// The lease of partition 0 of `reactor` (of one partition), for a test
/// that parks events itself.
async fn lease<S: ReactorStore>(store: &S, reactor: &str) -> Lease {
    store
        .acquire_lease(reactor, 0, 1, "test", Duration::from_secs(60))
        .await
        .expect("acquire")
        .expect("a free lease")
}
