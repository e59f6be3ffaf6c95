//! Handling one event: catching panics, retrying with backoff, parking.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::Poll;
use std::time::SystemTime;

use tokio::sync::watch;
use tracing::Instrument;

use super::lease::Held;
use super::store::{ParkedEvent, ReactorStore};
use super::{HandlerError, Reactor, Runner, pause};
use crate::envelope::RecordedEvent;
use crate::error::{ErrorChain, Result};
use crate::tracker::{Tracker, UnreadableEvent};

/// How the handling of one event ended.
pub(super) enum Handling {
    /// Handled, or parked after its last attempt.
    Done,
    /// Stopped during a backoff: left for the next run.
    Stopped,
    /// The lease was lost meanwhile: another runner has the partition.
    LeaseLost,
}

/// Runs `work`, turning a panic into an error that carries its message,
/// so that a panicking handler fails like any other.
pub(super) async fn catch_panic<F>(work: F) -> std::result::Result<F::Output, String>
where
    F: Future,
{
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    })
    .await
}

/// What a panic said.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let said = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a value that is not a message".to_owned());
    format!("handler panicked: {said}")
}

/// Handles `event` once with `reactor`: its error, or the panic it raised,
/// as one line.
pub(super) async fn handle_once<R: Reactor>(
    reactor: &R,
    event: &RecordedEvent,
) -> std::result::Result<(), String> {
    match catch_panic(reactor.handle(event)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(message(&error)),
        Err(panic) => Err(panic),
    }
}

fn message(error: &HandlerError) -> String {
    ErrorChain(error.as_ref()).to_string()
}

impl<S, R> Runner<S, R>
where
    S: Tracker + ReactorStore,
    R: Reactor,
{
    /// Handles one event, retrying with backoff, parking it after the last
    /// attempt.
    pub(super) async fn handle_with_retries(
        &self,
        state: &mut Held,
        event: &RecordedEvent,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Handling> {
        let name = self.reactor.name();
        let partition = state.lease.partition;
        for attempt in 1..=self.options.max_attempts {
            let span = tracing::debug_span!("event", reactor = name, position = event.position, kind = %event.kind, attempt);
            let handled = handle_once(&*self.reactor, event).instrument(span);
            let Some(result) = self.holding(partition, state, handled).await? else {
                return Ok(Handling::LeaseLost);
            };
            let Err(message) = result else {
                return Ok(Handling::Done);
            };
            if attempt == self.options.max_attempts {
                tracing::warn!(reactor = name, position = event.position, attempt, error = %message, "parking the event");
                let parked = ParkedEvent {
                    reactor: name.to_owned(),
                    position: event.position,
                    event: Some(event.clone()),
                    error: message,
                    attempts: attempt,
                    parked_at: SystemTime::now(),
                };
                return self.park(state, parked).await;
            }
            tracing::debug!(reactor = name, position = event.position, attempt, error = %message, "handler failed; retrying");
            let backoff = pause(self.options.backoff_after(attempt), stop);
            match self.holding(partition, state, backoff).await? {
                None => return Ok(Handling::LeaseLost),
                Some(false) => return Ok(Handling::Stopped),
                Some(true) => {}
            }
        }
        Ok(Handling::Done)
    }

    /// Parks a row that cannot be read: no attempt can succeed.
    pub(super) async fn park_unreadable(
        &self,
        state: &Held,
        row: &UnreadableEvent,
    ) -> Result<Handling> {
        let error = ErrorChain(&row.error()).to_string();
        tracing::warn!(reactor = self.reactor.name(), %error, "parking an unreadable event");
        let parked = ParkedEvent {
            reactor: self.reactor.name().to_owned(),
            position: row.checkpoint.position,
            event: None,
            error,
            attempts: 1,
            parked_at: SystemTime::now(),
        };
        self.park(state, parked).await
    }

    /// Parks an event under the partition's lease.
    async fn park(&self, state: &Held, parked: ParkedEvent) -> Result<Handling> {
        Ok(if self.store.park(&state.lease, parked).await? {
            Handling::Done
        } else {
            Handling::LeaseLost
        })
    }
}
