//! A reactor written against the `<Event>Reactor` trait that
//! `#[derive(Event)]` generates: typed methods, no kind strings.

use std::sync::Mutex;
use std::time::Duration;

use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::reactor::{HandlerError, Reactor, Runner, route};
use eventstore_core::{
    EventFilter, EventStore, MemoryStore, Options, Outcome, RecordedEvent, Repository,
};
use sagas_examples::account::{
    Account, AccountEvent, AccountEventReactor, MoneyDeposited, MoneyWithdrawn,
};

/// Keeps a ledger of money movements; ignores every other kind.
#[derive(Default)]
struct Ledger(Mutex<Vec<String>>);

impl AccountEventReactor for Ledger {
    async fn on_money_withdrawn(
        &self,
        e: &MoneyWithdrawn,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.0
            .lock()
            .expect("ledger")
            .push(format!("{} -{}", envelope.aggregate_id, e.amount));
        Ok(())
    }

    async fn on_money_deposited(
        &self,
        e: &MoneyDeposited,
        envelope: &RecordedEvent,
    ) -> Result<(), HandlerError> {
        self.0
            .lock()
            .expect("ledger")
            .push(format!("{} +{}", envelope.aggregate_id, e.amount));
        Ok(())
    }
}

impl Reactor for Ledger {
    fn name(&self) -> &str {
        "ledger"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate::<Account>()
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        route::<AccountEvent, _>(self, event).await
    }
}

#[tokio::test]
async fn events_reach_their_typed_methods_and_other_kinds_do_nothing() {
    let store = MemoryStore::new();
    let repo = Repository::new(store.clone());
    repo.execute("alice", Options::default(), |a: &Account| {
        a.open("Alice", 100)
    })
    .await
    .and_then(Outcome::into_result)
    .expect("open");
    repo.execute("alice", Options::default(), |a: &Account| {
        a.withdraw(30, "t")
    })
    .await
    .and_then(Outcome::into_result)
    .expect("withdraw");
    repo.execute("alice", Options::default(), |a: &Account| a.deposit(5, "t"))
        .await
        .and_then(Outcome::into_result)
        .expect("deposit");
    repo.execute("alice", Options::default(), |a: &Account| a.freeze("fraud"))
        .await
        .and_then(Outcome::into_result)
        .expect("freeze");

    let runner = Runner::new(store.clone(), Ledger::default());
    runner
        .run(tokio::time::sleep(Duration::from_millis(200)))
        .await
        .expect("run");
    assert_eq!(
        *runner.reactor().0.lock().expect("ledger"),
        ["alice -30", "alice +5"]
    );
    assert!(runner.parked(0, 10).await.expect("parked").is_empty());
}

#[tokio::test]
async fn an_event_of_an_unknown_kind_is_a_routing_error() {
    let store = MemoryStore::new();
    let teleported = NewEvent {
        kind: "Teleported".into(),
        schema_version: 1,
        body: serde_json::json!({}).try_into().expect("a JSON object"),
    };
    let _ = store
        .append(AppendRequest::new("Account", "bob".parse().unwrap(), 0).event(teleported))
        .await
        .expect("append");
    let event = store
        .load("Account", "bob", 0)
        .await
        .expect("load")
        .remove(0);
    let error = route::<AccountEvent, _>(&Ledger::default(), &event)
        .await
        .expect_err("unknown kind");
    assert_eq!(
        error.to_string(),
        "unknown event kind \"Teleported\" in Account \"bob\" at version 1"
    );
}
