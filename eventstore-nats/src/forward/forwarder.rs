//! [`Forwarder`]: the reactor that publishes every event of a store to a
//! JetStream stream, in commit order, each once.

use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::{Info, StorageType};
use eventstore_core::backend::Partition;
use eventstore_core::reactor::{HandlerError, Reactor, RunnerOptions};
use eventstore_core::{EventFilter, RecordedEvent};

use super::error::ForwardError;
use super::message;
use super::stream::{self, Settings, Tail};
use crate::subject::stream_subject;

/// A reactor that publishes every event of the store it runs over to a
/// JetStream stream, one message per event, in commit order: on subject
/// `<prefix>.<aggregate kind>.<aggregate id>` (each encoded by
/// [`subject::encode_token`](crate::subject::encode_token)), with the
/// event's JSON body and the headers of [`header`](super::header).
///
/// Run it with a [`Runner`](eventstore_core::reactor::Runner) over the
/// store (the PostgreSQL one in practice), in one partition, with
/// [`runner_options`](Self::runner_options).
///
/// **Each event once, in order.** The handler returns only when JetStream
/// has acknowledged the event's message, so the runner's checkpoint never
/// passes an event that the stream has not stored; a publish that fails
/// (the server is down, the acknowledgement timed out) fails the handler,
/// and the runner tries the event again after a backoff. The forwarder
/// knows the stream's last message (it reads it when it starts, when it
/// takes the partition over and after a failure) and skips the events up
/// to the one that message holds (while the stream holds it: not once its
/// limits dropped every message), so an event published whose
/// acknowledgement was lost, or a batch redone after a crash, is not
/// published twice, however long ago that was. Each publish expects the
/// stream's last sequence to be the one the forwarder knows
/// (`Nats-Expected-Last-Sequence`; all but the first into an empty
/// stream), so that a runner that stalled and lost
/// the partition cannot publish behind its successor. The message id
/// (`Nats-Msg-Id`, the event id) lets JetStream drop duplicates within the
/// stream's duplicate window as well (2 minutes by default, see
/// [`duplicate_window`](Self::duplicate_window)).
///
/// The stream must be the forwarder's own: nothing else may publish to it.
/// It is created when missing, with subjects `<prefix>.>`.
///
/// An event that the runner parks after its last attempt is missing from
/// the stream: [`runner_options`](Self::runner_options) retries for hours
/// before that happens.
///
/// ```no_run
/// use std::time::Duration;
/// use eventstore_core::reactor::Runner;
/// use eventstore_nats::forward::Forwarder;
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let store = eventstore_core::MemoryStore::new();
/// // `store`: the application's store, a `PgEventStore` in practice
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let forwarder = Forwarder::new(async_nats::jetstream::new(client), "EVENTS", "events")
///     .max_age(Duration::from_secs(7 * 86_400));
/// forwarder.ensure_stream().await?; // fail at once on a bad stream, not at the first event
/// let runner = Runner::new(store, forwarder).options(Forwarder::runner_options());
/// runner.run(tokio::time::sleep(Duration::from_secs(3600))).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Forwarder {
    jetstream: Context,
    stream: String,
    prefix: String,
    name: String,
    settings: Settings,
    state: Mutex<State>,
}

/// What the forwarder learnt while running.
#[derive(Debug, Default)]
struct State {
    /// The stream's last message, when known.
    tail: Option<Tail>,
    /// The partition it was given, when the runner has several.
    partition: Option<Partition>,
}

impl Forwarder {
    /// A forwarder of events to the stream `stream` on subjects
    /// `<prefix>.<kind>.<id>`, through `jetstream` (made with
    /// `async_nats::jetstream::new(client)`; its timeout is how long a
    /// publish waits for its acknowledgement). Its reactor name is
    /// `nats-forwarder-<stream>`.
    #[must_use]
    pub fn new(jetstream: Context, stream: impl Into<String>, prefix: impl Into<String>) -> Self {
        let stream = stream.into();
        Self {
            jetstream,
            name: format!("nats-forwarder-{stream}"),
            stream,
            prefix: prefix.into(),
            settings: Settings::default(),
            state: Mutex::default(),
        }
    }

    /// Names the reactor (its checkpoint, lease and parked events) `name`.
    ///
    /// ```
    /// # use eventstore_nats::forward::Forwarder;
    /// # fn doc(jetstream: async_nats::jetstream::Context) {
    /// let forwarder = Forwarder::new(jetstream, "EVENTS", "events").name("to-nats");
    /// # }
    /// ```
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Stores the stream in files (the default) or in memory, when the
    /// forwarder creates it.
    ///
    /// ```
    /// # use eventstore_nats::forward::Forwarder;
    /// # fn doc(jetstream: async_nats::jetstream::Context) {
    /// let forwarder = Forwarder::new(jetstream, "EVENTS", "events").storage(async_nats::jetstream::stream::StorageType::Memory);
    /// # }
    /// ```
    #[must_use]
    pub fn storage(mut self, storage: StorageType) -> Self {
        self.settings.storage = storage;
        self
    }

    /// Keeps the stream on `replicas` servers (1 by default), when the
    /// forwarder creates it.
    ///
    /// ```
    /// # use eventstore_nats::forward::Forwarder;
    /// # fn doc(jetstream: async_nats::jetstream::Context) {
    /// let forwarder = Forwarder::new(jetstream, "EVENTS", "events").replicas(3);
    /// # }
    /// ```
    #[must_use]
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.settings.replicas = replicas;
        self
    }

    /// How long JetStream remembers message ids to drop a message published
    /// twice, when the forwarder creates the stream: 2 minutes by default.
    /// The forwarder does not rely on it (it skips what the stream's last
    /// message shows is there), but it is what drops a publish whose
    /// acknowledgement was lost and that was retried before the forwarder
    /// read the stream again.
    ///
    /// ```
    /// # use eventstore_nats::forward::Forwarder;
    /// # fn doc(jetstream: async_nats::jetstream::Context) {
    /// let forwarder = Forwarder::new(jetstream, "EVENTS", "events").duplicate_window(std::time::Duration::from_secs(600));
    /// # }
    /// ```
    #[must_use]
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.settings.duplicate_window = window;
        self
    }

    /// Keeps at most `messages` messages, dropping the oldest, when the
    /// forwarder creates the stream (no limit by default). A
    /// [`CatchUp`](super::CatchUp) reads what the stream dropped from the
    /// store.
    ///
    /// ```
    /// # use eventstore_nats::forward::Forwarder;
    /// # fn doc(jetstream: async_nats::jetstream::Context) {
    /// let forwarder = Forwarder::new(jetstream, "EVENTS", "events").max_messages(1_000_000);
    /// # }
    /// ```
    #[must_use]
    pub fn max_messages(mut self, messages: i64) -> Self {
        self.settings.max_messages = messages;
        self
    }

    /// Drops messages older than `age`, when the forwarder creates the
    /// stream (never by default).
    ///
    /// ```
    /// # use eventstore_nats::forward::Forwarder;
    /// # fn doc(jetstream: async_nats::jetstream::Context) {
    /// let forwarder = Forwarder::new(jetstream, "EVENTS", "events").max_age(std::time::Duration::from_secs(86_400));
    /// # }
    /// ```
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.settings.max_age = age;
        self
    }

    /// The runner options the forwarder needs: one partition (several would
    /// publish out of commit order: the handler refuses to run in one of
    /// several), and retries for hours before an event is parked (which
    /// would leave it out of the stream): 1000 attempts, backing off from
    /// 100 ms to 1 minute. Change the others on what it returns.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventstore_nats::forward::Forwarder;
    ///
    /// let options = Forwarder::runner_options().poll_interval(Duration::from_millis(200));
    /// assert_eq!(options.partitions, 1);
    /// assert!(options.validate().is_ok());
    /// ```
    pub fn runner_options() -> RunnerOptions {
        RunnerOptions::default()
            .partitions(1)
            .max_attempts(1000)
            .backoff(Duration::from_millis(100), Duration::from_secs(60))
    }

    /// The stream, created when it is missing.
    ///
    /// # Errors
    /// [`ForwardError::Nats`] when JetStream cannot be reached or refuses
    /// the stream, [`ForwardError::StreamSubjects`] when the stream exists
    /// and does not take `<prefix>.>`.
    pub async fn ensure_stream(&self) -> Result<Info, ForwardError> {
        let stream =
            stream::ensure(&self.jetstream, &self.stream, &self.prefix, &self.settings).await?;
        Ok(stream.cached_info().clone())
    }

    /// Publishes `event` after the stream's last message `tail`, waiting
    /// for the acknowledgement; the new last message.
    async fn publish(&self, event: &RecordedEvent, tail: Tail) -> Result<Tail, ForwardError> {
        let subject = stream_subject(&self.prefix, &event.aggregate_kind, &event.aggregate_id);
        let failed = |source| ForwardError::Publish {
            event: event.id,
            subject: subject.clone(),
            stream: self.stream.clone(),
            source,
        };
        let mut message =
            message::encode(event).map_err(|problem| ForwardError::Unpublishable {
                event: event.id,
                problem,
            })?;
        if tail.sequence > 0 {
            message = message.expected_last_sequence(tail.sequence);
        }
        let ack = self
            .jetstream
            .send_publish(subject.clone(), message)
            .await
            .map_err(failed)?
            .await
            .map_err(failed)?;
        Ok(if ack.duplicate {
            // stored before, within the duplicate window: the stream did not move
            Tail {
                sequence: tail.sequence,
                checkpoint: tail.checkpoint.max(Some(event.checkpoint())),
            }
        } else {
            Tail {
                sequence: ack.sequence,
                checkpoint: Some(event.checkpoint()),
            }
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forwards `event`, unless the stream holds it already.
    async fn forward(&self, event: &RecordedEvent) -> Result<(), ForwardError> {
        let (tail, partition) = {
            let state = self.state();
            (state.tail, state.partition)
        };
        if let Some(Partition { index, count }) = partition {
            return Err(ForwardError::Partitioned {
                stream: self.stream.clone(),
                index,
                count,
            });
        }
        let tail = match tail {
            Some(tail) => tail,
            None => {
                let stream =
                    stream::ensure(&self.jetstream, &self.stream, &self.prefix, &self.settings)
                        .await?;
                stream::tail(&stream).await?
            }
        };
        if tail
            .checkpoint
            .is_some_and(|last| event.checkpoint() <= last)
        {
            // published before: its acknowledgement was lost, or the batch is redone
            self.state().tail = Some(tail);
            return Ok(());
        }
        let outcome = self.publish(event, tail).await;
        // after a failure the message may still have been stored: read the
        // stream's last message again before the next attempt
        self.state().tail = outcome.as_ref().ok().copied();
        if let Err(ForwardError::Publish { source, .. }) = &outcome {
            if source.kind() == PublishErrorKind::WrongLastSequence {
                tracing::warn!(stream = %self.stream, "the stream moved under the forwarder: reading its last message again");
            }
        }
        outcome.map(|_| ())
    }
}

impl Reactor for Forwarder {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        Ok(self.forward(event).await?)
    }

    fn partition_taken(&self, partition: Option<Partition>) {
        let mut state = self.state();
        state.partition = partition;
        // another runner may have published meanwhile
        state.tail = None;
    }
}
