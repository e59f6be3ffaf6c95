//! The store conformance suite against the in-memory store, and the
//! repository's pause between attempts on tokio's paused clock.

eventstore_core::backend::conformance::store_conformance_suite!(async {
    eventstore_core::MemoryStore::new()
});

/// A lost race is followed by a pause of at most the backoff's ceiling
/// (on tokio's paused clock, which advances by exactly the pauses), and
/// by none with `Backoff::NONE`.
#[tokio::test(start_paused = true)]
async fn lost_races_pause_within_the_backoff() {
    use std::time::Duration;

    use eventstore_core::backend::conformance::account::Account;
    use eventstore_core::backend::conformance::faulty::Faulty;
    use eventstore_core::{Backoff, MemoryStore, Options, Outcome, Repository};
    use tokio::time::Instant;

    let ms = Duration::from_millis;
    for (backoff, longest) in [
        (Backoff::new(ms(10), ms(15)).unwrap(), ms(10 + 15)),
        (Backoff::NONE, Duration::ZERO),
    ] {
        let store = MemoryStore::new();
        Repository::new(store.clone())
            .execute("a-1", Options::default(), |a: &Account| a.open("Ada", 10))
            .await
            .and_then(Outcome::into_result)
            .expect("open");
        let repo = Repository::new(Faulty::new(store).rivals(2)).retry_backoff(backoff);
        let start = Instant::now();
        let outcome = repo
            .execute("a-1", Options::default(), |a: &Account| {
                a.withdraw(1, "t-1")
            })
            .await
            .expect("execute");
        let paused = start.elapsed();
        assert!(
            matches!(outcome, Outcome::Done(ref c) if c.attempts == 3),
            "{outcome:?}"
        );
        assert!(paused <= longest, "{backoff:?}: paused {paused:?}");
        assert_eq!(
            paused.is_zero(),
            longest.is_zero(),
            "{backoff:?}: paused {paused:?}"
        );
    }
}
