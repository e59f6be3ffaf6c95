//! Polling futures by hand, on the calling thread: the simulation's tasks
//! wait only at the yield points of [`SimStore`](super::SimStore), and the
//! scheduler decides which one to poll next, so no waker is ever needed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// What a task ends with: the money it brought into the world (an account
/// opened with a balance, money arriving), or its error, in words.
pub(crate) type TaskOutput = Result<u64, String>;

/// A task's future; it may borrow what the schedule holds (the reactors).
pub(crate) type TaskFuture<'a> = Pin<Box<dyn Future<Output = TaskOutput> + 'a>>;

/// Polls `future` once: it runs until its next yield point, or to its end.
pub(crate) fn poll_once(future: &mut TaskFuture<'_>) -> Poll<TaskOutput> {
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

/// Runs `future` to its end at once: for calls to the [`MemoryStore`]
/// itself (the setup, the checks), which never wait.
///
/// # Panics
/// When the future waits: it made a call that yields.
///
/// [`MemoryStore`]: eventstore_core::MemoryStore
pub(crate) fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a call to the memory store waited"),
    }
}
