//! Old rows delivered to reactors and sagas: a row that an upcaster split
//! reaches a typed reactor as each of its events, and a saga takes each
//! as an input of its own, once, however often the row is delivered.

use std::sync::Mutex;
use std::time::SystemTime;

use eventstore_core::backend::conformance::profile::{Profile, ProfileEvent};
use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::reactor::{HandlerError, Reactor, route};
use eventstore_core::{
    Aggregate, AggregateId, Checkpoint, Event, EventBody, EventFilter, EventStore, Incoming,
    MemoryStore, RecordedEvent, Repository, Saga, SagaReactor, Step, StepOutcome, Tracker,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Rows of `p-1` as release 1 wrote them: a registration, then a name
/// change of a kind no variant has any more, which reads as two events.
async fn old_rows(store: &MemoryStore) -> Vec<RecordedEvent> {
    let row = |kind: &str, body: serde_json::Value| {
        NewEvent::of(kind, EventBody::try_from(&body).expect("an object"))
    };
    store
        .append(
            AppendRequest::new("Profile", "p-1".parse().expect("an id"), 0)
                .event(row("Registered", json!({ "name": "Ada Lovelace" })))
                .event(row("NameChanged", json!({ "name": "Ada King" }))),
        )
        .await
        .expect("append");
    store
        .read_page(Checkpoint::BEGINNING, &EventFilter::all(), 10)
        .await
        .expect("read")
        .events
}

/// Names each event it is given, with the row's stream version.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Reactor for Log {
    fn name(&self) -> &str {
        "log"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate::<Profile>()
    }
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        route::<ProfileEvent, _>(self, event).await
    }
}

impl eventstore_core::backend::conformance::profile::ProfileEventReactor for Log {
    async fn on_registered(
        &self,
        _: &eventstore_core::backend::conformance::profile::Registered,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.push(format!("registered@{}", envelope.version));
        Ok(())
    }
    async fn on_given_name_changed(
        &self,
        e: &eventstore_core::backend::conformance::profile::GivenNameChanged,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.push(format!("given {:?}@{}", e.given_name, envelope.version));
        Ok(())
    }
    async fn on_family_name_changed(
        &self,
        e: &eventstore_core::backend::conformance::profile::FamilyNameChanged,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.push(format!("family {:?}@{}", e.family_name, envelope.version));
        Ok(())
    }
}

impl Log {
    fn push(&self, line: String) {
        self.0.lock().expect("log").push(line);
    }
}

#[tokio::test]
async fn a_split_row_reaches_a_typed_reactor_as_each_of_its_events() {
    let store = MemoryStore::new();
    let log = Log::default();
    for event in old_rows(&store).await {
        log.handle(&event).await.expect("handled");
    }
    assert_eq!(
        *log.0.lock().expect("log"),
        [
            "registered@1",
            "given Some(\"Ada\")@2",
            "family Some(\"King\")@2"
        ]
    );
}

/// Counts the name changes of the profile it is named after.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Counted {
    /// What was counted.
    pub what: String,
}

/// The events of [`NameWatch`].
#[derive(Event, Debug, Clone, PartialEq)]
pub enum NameWatchEvent {
    /// See [`Counted`].
    Counted(Counted),
}

/// A saga that waits for the name changes of one profile.
#[derive(Default, Serialize, Deserialize, Debug)]
pub struct NameWatch {
    seen: Vec<String>,
}

impl Aggregate for NameWatch {
    const KIND: &'static str = "NameWatch";
    type Event = NameWatchEvent;
    fn apply(&mut self, NameWatchEvent::Counted(c): &NameWatchEvent) {
        self.seen.push(c.what.clone());
    }
}

impl Saga for NameWatch {
    type Input = Incoming<Profile>;
    fn correlate(input: &Incoming<Profile>) -> Option<AggregateId> {
        input.aggregate_id.parse().ok()
    }
    fn on_input(&self, input: &Incoming<Profile>, _: SystemTime) -> Vec<NameWatchEvent> {
        let what = match &input.event {
            ProfileEvent::GivenNameChanged(_) => "given",
            ProfileEvent::FamilyNameChanged(_) => "family",
            _ => return Vec::new(),
        };
        vec![Counted { what: what.into() }.into()]
    }
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        Vec::new()
    }
    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<NameWatchEvent> {
        Vec::new()
    }
}

#[tokio::test]
async fn a_saga_takes_each_event_of_a_split_row_once_however_often_it_is_delivered() {
    let store = MemoryStore::new();
    let repo = Repository::new(store.clone());
    let sagas = SagaReactor::<NameWatch, _>::new(repo.clone());
    let rows = old_rows(&store).await;
    for _ in 0..3 {
        for event in &rows {
            sagas.handle(event).await.expect("handled");
        }
    }
    let watch = repo.load::<NameWatch>("p-1").await.expect("load");
    assert_eq!(watch.state.seen, ["given", "family"]);
    let keys: Vec<String> = store
        .load("NameWatch", "p-1", 0)
        .await
        .expect("load")
        .iter()
        .map(|e| e.metadata.causation_id.clone().unwrap_or_default())
        .collect();
    assert_eq!(keys, [rows[1].id.to_string(), rows[1].id.to_string()]);
}

/// A reader of one event kind reads its rows under every name they may be
/// stored under: an old name of the kind (`EmailSet`), and a retired kind
/// that an upcaster turns into events (`NameChanged`, which may become
/// any kind); the kind name alone misses the row stored under the old one.
#[tokio::test]
async fn a_reader_of_one_kind_reads_its_rows_stored_under_old_names() {
    let store = MemoryStore::new();
    let row = |kind: &str, version: u32, body: serde_json::Value| {
        NewEvent::of(kind, EventBody::try_from(&body).expect("an object")).schema_version(version)
    };
    store
        .append(
            AppendRequest::new("Profile", "p-1".parse().expect("an id"), 0)
                .event(row("Registered", 1, json!({ "name": "Ada Lovelace" })))
                .event(row("EmailSet", 1, json!({ "email": "ada@example.org" })))
                .event(row("NameChanged", 1, json!({ "name": "Ada King" })))
                .event(row(
                    "EmailChanged",
                    2,
                    json!({ "address": "ada@king.example" }),
                )),
        )
        .await
        .expect("append");
    let read = async |filter: EventFilter| -> Vec<String> {
        let page = store
            .read_page(Checkpoint::BEGINNING, &filter, 10)
            .await
            .expect("read");
        page.events.iter().map(|e| e.kind.clone()).collect()
    };
    let profiles = || EventFilter::all().aggregate::<Profile>();
    assert_eq!(
        read(profiles().event_kind("EmailChanged")).await,
        ["EmailChanged"],
        "the kind name alone"
    );
    let filter = profiles().event::<ProfileEvent>("EmailChanged");
    assert_eq!(
        read(filter).await,
        ["EmailSet", "NameChanged", "EmailChanged"]
    );
}

/// Two runners deliver the split row at the same time (two reactors, each
/// with its own at-rest cache, on two threads), round after round: the
/// saga still takes each of its events once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_of_a_split_row_at_once_take_each_event_once() {
    for round in 0..20 {
        let store = MemoryStore::new();
        let repo = Repository::new(store.clone());
        let rows = old_rows(&store).await;
        let deliver = |rows: Vec<RecordedEvent>| {
            let sagas = SagaReactor::<NameWatch, _>::new(repo.clone());
            tokio::spawn(async move {
                for event in &rows {
                    sagas.handle(event).await.expect("handled");
                }
            })
        };
        let (a, b) = (deliver(rows.clone()), deliver(rows));
        a.await.expect("first runner");
        b.await.expect("second runner");
        let watch = repo.load::<NameWatch>("p-1").await.expect("load");
        assert_eq!(watch.state.seen, ["given", "family"], "round {round}");
    }
}
