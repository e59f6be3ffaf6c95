//! A row that cannot be read (an id that is no event id, written by hand
//! or by another tool) is parked with an error naming the row, and the
//! reactor goes on; an operator sees it and skips it.

use std::time::Duration;

use eventstore_core::backend::conformance::reactor::recorder::Recorder;
use eventstore_core::backend::conformance::reactor::running::{Running, fast};
use eventstore_core::backend::conformance::reactor::tick;
use eventstore_core::reactor::{RetryOutcome, Runner};
use eventstore_tests::postgres::fresh_store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_is_parked_naming_it_and_the_reactor_goes_on() {
    let store = fresh_store().await;
    let mut written = Vec::new();
    for version in 0..3 {
        written.push(tick(&store, "thing-1", version).await);
    }
    let bad = written[1].position;
    sqlx::query(&format!(
        "UPDATE \"{}\".events SET id = 'not-an-event-id' WHERE position = $1",
        store.schema()
    ))
    .bind(i64::try_from(bad).expect("position"))
    .execute(store.pool())
    .await
    .expect("corrupt the row");

    let recorder = Recorder::new("reader");
    let runner = Runner::new(store.clone(), recorder.clone()).options(fast("r"));
    let running = Running::start(runner.clone());
    recorder
        .wait_until(Duration::from_secs(15), "the readable events", |h| {
            h.len() >= 2
        })
        .await;
    running.stop().await;
    let handled: Vec<u64> = recorder
        .handled()
        .iter()
        .map(|h| h.event.position)
        .collect();
    assert_eq!(handled, [written[0].position, written[2].position]);

    let parked = runner.parked(0, 10).await.expect("parked");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!((parked[0].position, parked[0].event.as_ref()), (bad, None));
    let error = &parked[0].error;
    assert!(
        error.contains(&format!("position {bad}"))
            && error.contains("Thing \"thing-1\" version 2")
            && error.contains("not-an-event-id"),
        "the error names the row: {error}"
    );
    assert_eq!(
        runner.retry_parked(bad).await.expect("retry"),
        RetryOutcome::FailedAgain {
            error: error.clone()
        },
        "still unreadable"
    );
    assert!(runner.skip_parked(bad).await.expect("skip"));
    assert_eq!(runner.status().await.expect("status").parked, 0);
}
