//! Waiting, bounded in time, for something a background task will do.

use std::fmt::Debug;
use std::time::Duration;

use tokio::time::Instant;

/// Runs `probe` every 10 ms until `done` holds for what it returns, for at
/// most `limit`, and returns that value.
///
/// # Panics
/// When it does not hold in time, naming `what` and the last value.
pub async fn eventually<T: Debug>(
    limit: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let value = probe().await;
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "not within {limit:?}: {what}; last: {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How long a snapshot written in the background may take to appear.
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(10);

/// Waits (at most [`SNAPSHOT_WAIT`]) until the stored snapshot of
/// `kind`/`id` is one that `done` accepts, and returns it.
///
/// # Panics
/// When none is stored in time, naming the stream and the last one seen.
pub async fn snapshot_when<S: crate::EventStore>(
    store: &S,
    kind: &str,
    id: &str,
    done: impl Fn(&crate::backend::Snapshot) -> bool,
) -> crate::backend::Snapshot {
    let what = format!("a snapshot of {kind}/{id}");
    let probe = async || store.load_snapshot(kind, id).await.expect("load snapshot");
    eventually(SNAPSHOT_WAIT, &what, probe, |s| {
        s.as_ref().is_some_and(&done)
    })
    .await
    .expect("the accepted value is a snapshot")
}
