//! The view and alert worker: a durable pull consumer over every stock
//! event, each message acknowledged only after the stock view has
//! committed it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use futures_util::StreamExt;

use super::error::{Error, Result, nats};
use super::view::{Applied, View};

/// The most messages fetched at once.
const BATCH: usize = 64;
/// How long one fetch waits for messages.
const FETCH_WAIT: Duration = Duration::from_secs(1);
/// How long a message that failed for a passing reason waits before it is
/// delivered again.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What the worker did with one delivered message.
#[derive(Debug)]
pub enum Update {
    /// The view applied it (or had already): acknowledged, or terminated
    /// when the message itself was malformed.
    Applied {
        /// Its stream sequence.
        sequence: u64,
        /// What the view did.
        applied: Applied,
    },
    /// It is no stock event and cannot become one: terminated, never
    /// delivered again.
    Terminated {
        /// Its stream sequence.
        sequence: u64,
        /// Why.
        error: Error,
    },
    /// Applying it failed for a reason that may pass (NATS, contention):
    /// it will be delivered again.
    Failed {
        /// Its stream sequence.
        sequence: u64,
        /// Why.
        error: Error,
    },
}

/// The view and alert worker.
#[derive(Debug)]
pub struct Worker {
    view: View,
    consumer: PullConsumer,
}

impl Worker {
    /// The worker of `view`, on the warehouse's durable pull consumer
    /// (created unless it exists), which delivers a message again when it
    /// is not acknowledged within `ack_wait`.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] when the consumer cannot be created.
    pub async fn new(view: View, ack_wait: Duration) -> Result<Self> {
        let layout = view.warehouse().layout();
        let name = layout.consumer();
        let consumer = view
            .warehouse()
            .events()
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: layout.events_filter(),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(nats(format!("creating consumer {name}")))?;
        Ok(Self { view, consumer })
    }

    /// The durable consumer.
    #[must_use]
    pub fn consumer(&self) -> &PullConsumer {
        &self.consumer
    }

    /// Takes messages until `stop` completes (then finishes the batch in
    /// hand; a fetch waits at most a second), handing what it did with each to `on_update`.
    /// Returns how many messages it handled.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] when the consumer cannot be read from.
    pub async fn run(
        &self,
        stop: impl Future<Output = ()>,
        mut on_update: impl FnMut(Update),
    ) -> Result<u64> {
        let stopped = AtomicBool::new(false);
        let watch = async {
            stop.await;
            stopped.store(true, Ordering::Relaxed);
            // the work ends the run, after its batch in hand or on an error
            std::future::pending::<()>().await;
        };
        // a fetch is never cut short: messages it pulled would wait out
        // their ack wait before anyone got them again; each is handled as
        // it arrives, so none waits for the rest of its batch (a fetch
        // waits up to a second, which may be the whole ack wait)
        let work = async {
            let mut handled = 0;
            while !stopped.load(Ordering::Relaxed) {
                let mut batch = self.fetch().await?;
                while let Some(message) = batch.next().await {
                    let message = message.map_err(nats(self.fetching()))?;
                    on_update(self.handle(message).await);
                    handled += 1;
                }
            }
            Ok(handled)
        };
        tokio::select! {
            result = work => result,
            () = watch => unreachable!("watching for the stop never ends"),
        }
    }

    /// What a fetch is doing, for its errors.
    fn fetching(&self) -> String {
        format!(
            "fetching from consumer {}",
            self.view.warehouse().layout().consumer()
        )
    }

    /// One batch of messages, delivered as they come (none when nothing
    /// came within a second).
    async fn fetch(&self) -> Result<pull::Batch> {
        self.consumer
            .fetch()
            .max_messages(BATCH)
            .expires(FETCH_WAIT)
            .messages()
            .await
            .map_err(nats(self.fetching()))
    }

    /// Applies one message and acknowledges it after the view committed,
    /// terminates it when malformed, or asks for it again later.
    async fn handle(&self, message: async_nats::jetstream::Message) -> Update {
        let sequence = match message.info() {
            Ok(info) => info.stream_sequence,
            Err(e) => {
                return Update::Failed {
                    sequence: 0,
                    error: nats("reading a delivered message's metadata")(e),
                };
            }
        };
        let result = self.view.apply(message.subject.as_str(), sequence).await;
        let (ack, update) = match result {
            Ok(applied) => {
                let own_problem = matches!(&applied, Applied::Now { malformed, .. }
                    if malformed.iter().any(|(at, _)| *at == sequence));
                let ack = if own_problem {
                    AckKind::Term
                } else {
                    AckKind::Ack
                };
                (ack, Update::Applied { sequence, applied })
            }
            Err(error @ Error::Malformed { .. }) => {
                (AckKind::Term, Update::Terminated { sequence, error })
            }
            Err(error) => (
                AckKind::Nak(Some(RETRY_DELAY)),
                Update::Failed { sequence, error },
            ),
        };
        if let Err(e) = message.ack_with(ack).await {
            return Update::Failed {
                sequence,
                error: nats(format!("acknowledging message {sequence}"))(e),
            };
        }
        update
    }
}
