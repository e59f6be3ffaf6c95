//! [`Wakeups`]: waking a reader as soon as new events may be readable.

use std::time::Duration;

use tokio::sync::watch;

/// A reader's subscription to "something was appended" signals, with a
/// timer as the fallback: a lost signal only costs the timeout.
///
/// ```
/// use std::time::Duration;
/// use eventstore_core::{EventBody, EventStore, MemoryStore, Tracker};
/// use eventstore_core::backend::{AppendRequest, NewEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let store = MemoryStore::new();
/// let mut wakeups = store.wakeups();
/// assert!(!wakeups.wait(Duration::from_millis(10)).await, "nothing appended: the timer ends the wait");
/// let event = NewEvent::of("Opened", EventBody::empty());
/// store.append(AppendRequest::new("Account", "a".parse()?, 0).event(event)).await?;
/// assert!(wakeups.wait(Duration::from_secs(10)).await, "woken by the append");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Wakeups {
    signals: Option<watch::Receiver<u64>>,
}

impl Wakeups {
    /// No signals: every wait lasts its timeout.
    #[must_use]
    pub fn timer_only() -> Self {
        Self { signals: None }
    }

    /// Signals from a counter that grows with every append.
    #[must_use]
    pub fn from_counter(receiver: watch::Receiver<u64>) -> Self {
        Self {
            signals: Some(receiver),
        }
    }

    /// Waits until an append was signalled since the previous wait (or
    /// since this subscription began), or until `timeout`. Returns whether
    /// a signal ended the wait.
    pub async fn wait(&mut self, timeout: Duration) -> bool {
        let Some(signals) = &mut self.signals else {
            tokio::time::sleep(timeout).await;
            return false;
        };
        match tokio::time::timeout(timeout, signals.changed()).await {
            Ok(Ok(())) => {
                signals.borrow_and_update();
                true
            }
            // the sender is gone: fall back to the timer from now on
            Ok(Err(_)) => {
                self.signals = None;
                tokio::time::sleep(timeout).await;
                false
            }
            Err(_) => false,
        }
    }
}
