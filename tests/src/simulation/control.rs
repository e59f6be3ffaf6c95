//! The yield points of [`SimStore`](super::SimStore): before each store
//! call, the calling task stops, says which call it is about to make, and
//! waits until the scheduler polls it again with a [`Verdict`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

/// What the store call of the task being polled does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It runs and returns what the store returned.
    #[default]
    Proceed,
    /// It fails before it reaches the store: nothing is read or written.
    Fail,
    /// It runs, and its reply is lost: what it wrote stays written, and
    /// the caller gets an error (a commit whose acknowledgement never came).
    LoseReply,
}

/// What the scheduler and the tasks it polls tell each other.
#[derive(Debug, Default)]
struct Shared {
    /// The verdict for the call of the task being polled, taken by it.
    verdict: Verdict,
    /// The call the polled task stopped before.
    waiting_at: Option<String>,
    /// The calls the polled task made, with what each returned.
    made: Vec<String>,
}

/// The scheduler's side and the store's side of the yield points; clones
/// share them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Control(Arc<Mutex<Shared>>);

impl Control {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // one thread: a panic elsewhere leaves nothing half-changed here
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets what the next store call of the task about to be polled does.
    pub(crate) fn set_verdict(&self, verdict: Verdict) {
        self.lock().verdict = verdict;
    }

    /// After a poll: the call the task stopped before (`None` if it
    /// finished), and the calls it made, with their replies.
    pub(crate) fn take_poll(&self) -> (Option<String>, Vec<String>) {
        let mut shared = self.lock();
        shared.verdict = Verdict::Proceed;
        (shared.waiting_at.take(), std::mem::take(&mut shared.made))
    }

    /// The store's side: stops before the call `call`, then returns what
    /// the scheduler decided for it.
    pub(crate) async fn yield_before(&self, call: &str) -> Verdict {
        self.lock().waiting_at = Some(call.to_owned());
        YieldOnce(false).await;
        std::mem::take(&mut self.lock().verdict)
    }

    /// The store's side: records a call made and its reply.
    pub(crate) fn made(&self, call: &str, reply: &str) {
        self.lock().made.push(format!("{call} -> {reply}"));
    }
}

/// Pending once (waking itself, as `tokio::task::yield_now` does, so that
/// the store also works under an ordinary executor), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
