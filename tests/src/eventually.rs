//! Waiting, bounded in time, for something a background task will do.

use std::fmt::Debug;
use std::time::{Duration, Instant};

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
