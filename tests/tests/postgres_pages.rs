//! Loads a page at a time on PostgreSQL, over rows that the store never
//! writes (inserted by SQL behind its back): a version gap across a page
//! boundary folds every event after it, and a corrupt row in a later page
//! is an error that names it, in a load and in a command's load. The
//! conformance suite (`page_cases`) shows the rest on every store.

use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::{Error, EventId, EventStore, Options, Outcome, Repository};
use eventstore_postgres::PgEventStore;
use eventstore_tests::postgres::fresh_store;
use sagas_examples::account::Account;
use serde_json::json;

/// Opens the account `id` with 100 and deposits 1 up to version 5,
/// through the store.
async fn five_events(store: &PgEventStore, id: &str) {
    let repo = Repository::new(store.clone());
    let outcome = repo
        .execute(id, Options::default(), |a: &Account| a.open("Ada", 100))
        .await
        .expect("open");
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let mut request = AppendRequest::new("Account", id.parse().unwrap(), 1);
    request.events = (2..=5)
        .map(|v| {
            let body = json!({ "amount": 1, "transaction": format!("t-{v}") });
            NewEvent::new("MoneyDeposited", &body).expect("an object")
        })
        .collect();
    store.append(request).await.expect("deposits");
}

/// Inserts, by SQL, the event `kind` with `body` (JSON text) at `version`
/// of the account `id`.
async fn insert(store: &PgEventStore, id: &str, version: i64, kind: &str, body: &str) {
    let statement = format!(
        "INSERT INTO \"{}\".events (id, aggregate_kind, aggregate_id, version, kind, body) \
         VALUES ($1, 'Account', $2, $3, $4, $5::jsonb)",
        store.schema()
    );
    sqlx::query(&statement)
        .bind(EventId::new().to_string())
        .bind(id)
        .bind(version)
        .bind(kind)
        .bind(body)
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

#[tokio::test]
async fn a_version_gap_across_a_page_boundary_folds_every_event_after_it() {
    let store = fresh_store().await;
    five_events(&store, "a-gap").await;
    // versions 6 and 7 are missing: pages of 3 read 1-3, 4 5 8, 9 10
    for version in 8..=10 {
        let body = format!(r#"{{"amount": 10, "transaction": "t-{version}"}}"#);
        insert(&store, "a-gap", version, "MoneyDeposited", &body).await;
    }
    for page_size in [1, 2, 3, 4, usize::MAX] {
        let repo = Repository::new(store.clone()).page_size(page_size);
        let loaded = repo.load::<Account>("a-gap").await.expect("load");
        assert_eq!(
            (loaded.version, loaded.state.balance),
            (10, 100 + 4 + 30),
            "pages of {page_size}: every event, the gap skipped"
        );
    }
}

#[tokio::test]
async fn a_corrupt_row_in_a_later_page_is_named_in_the_error() {
    let store = fresh_store().await;
    five_events(&store, "a-bad").await;
    // a body that is JSON but no object: the store never writes one
    insert(&store, "a-bad", 6, "MoneyDeposited", "[1, 2]").await;
    let position: i64 = sqlx::query_scalar(&format!(
        "SELECT position FROM \"{}\".events WHERE aggregate_id = 'a-bad' AND version = 6",
        store.schema()
    ))
    .fetch_one(store.pool())
    .await
    .expect("position");
    let repo = Repository::new(store.clone()).page_size(2);
    let deposit = |a: &Account| a.deposit(1, "t-late");
    let failures = [
        repo.load::<Account>("a-bad").await.map(|l| l.version),
        repo.execute("a-bad", Options::default(), deposit)
            .await
            .map(|_| 0),
    ];
    for failure in failures {
        match failure {
            Err(Error::CorruptRow {
                position: at,
                aggregate_kind,
                aggregate_id,
                version,
                problem,
            }) => {
                assert_eq!(
                    (at, aggregate_kind.as_str(), aggregate_id.as_str(), version),
                    (u64::try_from(position).unwrap(), "Account", "a-bad", 6)
                );
                assert_eq!(problem, "body: the JSON is not an object");
            }
            other => panic!("expected CorruptRow at version 6, got {other:?}"),
        }
    }
    assert_eq!(
        store
            .load_page("Account", "a-bad", 0, 10)
            .await
            .map(|p| p.len())
            .ok(),
        None,
        "a page that holds the row fails too"
    );
    assert_eq!(
        store
            .load_page("Account", "a-bad", 0, 5)
            .await
            .map(|p| p.len())
            .ok(),
        Some(5),
        "the pages before it load"
    );
}
