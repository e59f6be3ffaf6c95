//! [`CatchUp`]: every event of a store in commit order, read from the store
//! where a forwarded stream no longer holds it and from the stream after.

use std::collections::VecDeque;

use async_nats::jetstream::Context;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use eventstore_core::{Checkpoint, EventFilter, RecordedEvent, Tracker};
use futures_util::StreamExt as _;

use super::error::ForwardError;
use super::message;
use super::stream;

/// Reads every event of a store in commit order, each once: from the
/// JetStream stream that a [`Forwarder`](super::Forwarder) feeds, and from
/// the store where the stream does not hold them (it drops old messages by
/// its limits: `max_messages`, `max_age`). Many consumers can read the
/// stream while the store serves only what it dropped.
///
/// An ordered consumer reads the stream from its first message. Each
/// message says where its event is in the store (its
/// [`Checkpoint`], headers `Es-Tx` and `Es-Position`); the stream holds the
/// events in commit order, so:
///
/// - the first message read, and any message after a gap in the stream's
///   sequences (messages dropped before the consumer read them), is
///   preceded by the events of the store between the last event delivered
///   and the message's own, read from the store: nothing is missed;
/// - a message whose event is at or before the last event delivered is
///   skipped: nothing is delivered twice.
///
/// Start after a checkpoint to resume ([`after`](Self::after)); the
/// stream is read from its first message all the same.
///
/// ```no_run
/// use eventstore_nats::forward::CatchUp;
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let store = eventstore_core::MemoryStore::new();
/// // `store`: the store that the forwarder reads, a `PgEventStore` in practice
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let mut events = CatchUp::new(store, async_nats::jetstream::new(client), "EVENTS")
///     .start()
///     .await?;
/// loop {
///     let delivery = events.next().await?;
///     println!("{} {} (from the stream: {:?})", delivery.event.aggregate_id, delivery.event.kind, delivery.stream_sequence);
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct CatchUp<S> {
    store: S,
    jetstream: Context,
    stream: String,
    after: Checkpoint,
    page_size: usize,
}

/// One event, and where it was read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// The event.
    pub event: RecordedEvent,
    /// Its message's sequence in the stream, when read from the stream;
    /// `None` when read from the store.
    pub stream_sequence: Option<u64>,
}

impl<S: Tracker> CatchUp<S> {
    /// Reads the events of `store` and of the stream `stream` that a
    /// forwarder feeds from it, from the first event on.
    #[must_use]
    pub fn new(store: S, jetstream: Context, stream: impl Into<String>) -> Self {
        Self {
            store,
            jetstream,
            stream: stream.into(),
            after: Checkpoint::BEGINNING,
            page_size: 500,
        }
    }

    /// Delivers only the events after `checkpoint`: the last one delivered
    /// before ([`Events::checkpoint`]).
    ///
    /// ```
    /// # use eventstore_nats::forward::CatchUp;
    /// # fn doc(store: eventstore_core::MemoryStore, jetstream: async_nats::jetstream::Context) {
    /// use eventstore_core::Checkpoint;
    /// let saved = Checkpoint { tx: 812, position: 40 }; // where the reader stopped
    /// let catch_up = CatchUp::new(store, jetstream, "EVENTS").after(saved);
    /// # }
    /// ```
    #[must_use]
    pub fn after(mut self, checkpoint: Checkpoint) -> Self {
        self.after = checkpoint;
        self
    }

    /// Reads the store `events` at a time (500 by default, at least 1).
    ///
    /// ```
    /// # use eventstore_nats::forward::CatchUp;
    /// # fn doc(store: eventstore_core::MemoryStore, jetstream: async_nats::jetstream::Context) {
    /// let catch_up = CatchUp::new(store, jetstream, "EVENTS").page_size(2_000);
    /// # }
    /// ```
    #[must_use]
    pub fn page_size(mut self, events: usize) -> Self {
        self.page_size = events.max(1);
        self
    }

    /// Starts reading: an ordered consumer of the stream from its first
    /// message.
    ///
    /// # Errors
    /// [`ForwardError::Nats`] when the stream does not exist or the
    /// consumer cannot be made.
    pub async fn start(self) -> Result<Events<S>, ForwardError> {
        let stream = stream::existing(&self.jetstream, &self.stream).await?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..OrderedConfig::default()
            })
            .await
            .map_err(|e| ForwardError::nats("cannot make an ordered consumer", &self.stream, e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| ForwardError::nats("cannot read the ordered consumer", &self.stream, e))?;
        Ok(Events {
            store: self.store,
            stream: self.stream,
            page_size: self.page_size,
            messages,
            last: self.after,
            last_sequence: None,
            pending: VecDeque::new(),
            held: None,
        })
    }
}

/// The events of a [`CatchUp`], one by one ([`next`](Self::next)).
pub struct Events<S> {
    store: S,
    stream: String,
    page_size: usize,
    messages: Ordered,
    /// The last event delivered.
    last: Checkpoint,
    /// The sequence of the last message read (delivered or skipped).
    last_sequence: Option<u64>,
    /// Events read from the store, to deliver next.
    pending: VecDeque<RecordedEvent>,
    /// A message read after a gap, delivered once the store has given the
    /// events before it.
    held: Option<Held>,
}

impl<S> std::fmt::Debug for Events<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("stream", &self.stream)
            .field("last", &self.last)
            .field("last_sequence", &self.last_sequence)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// A message waiting for the store's events before it.
#[derive(Debug)]
struct Held {
    sequence: u64,
    event: RecordedEvent,
    /// Whether every event of the store before it is in `pending`, or was
    /// delivered.
    filled: bool,
}

impl<S: Tracker> Events<S> {
    /// The next event in commit order, waiting for one when the reader has
    /// delivered every event forwarded so far.
    ///
    /// # Errors
    /// [`ForwardError::Store`] when the store cannot be read,
    /// [`ForwardError::Nats`] or [`ForwardError::ConsumerEnded`] when the
    /// stream cannot, [`ForwardError::ForeignMessage`] for a message that
    /// a forwarder did not write, [`ForwardError::Mismatch`] when the
    /// store does not hold a message's event where it says. Calling again
    /// after an error loses no event: a message that is not a forwarded
    /// event is passed over, and the events around it are read from the
    /// store.
    pub async fn next(&mut self) -> Result<Delivery, ForwardError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last = event.checkpoint();
                return Ok(Delivery {
                    event,
                    stream_sequence: None,
                });
            }
            if let Some(held) = self.held.take_if(|held| held.filled) {
                return Ok(self.deliver(held.sequence, held.event));
            }
            if self.held.is_some() {
                self.fill().await?;
                continue;
            }
            let message = match self.messages.next().await {
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    return Err(ForwardError::nats(
                        "cannot read the next message",
                        &self.stream,
                        e,
                    ));
                }
                None => {
                    return Err(ForwardError::ConsumerEnded {
                        stream: self.stream.clone(),
                    });
                }
            };
            let sequence = stream::sequence_of(&self.stream, &message)?;
            let event = message::decode(
                message.subject.as_str(),
                message.headers.as_ref(),
                &message.payload,
            )
            .map_err(|problem| ForwardError::foreign(&self.stream, sequence, problem))?;
            if event.checkpoint() <= self.last {
                // delivered before, or published twice
                self.last_sequence = Some(sequence);
                continue;
            }
            if self
                .last_sequence
                .is_some_and(|last| last.checked_add(1) == Some(sequence))
            {
                return Ok(self.deliver(sequence, event));
            }
            // the stream may have dropped events before this one
            self.held = Some(Held {
                sequence,
                event,
                filled: false,
            });
        }
    }

    /// The checkpoint of the last event delivered: give it to
    /// [`CatchUp::after`] to resume.
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        self.last
    }

    /// The stream's event at `sequence`, delivered.
    fn deliver(&mut self, sequence: u64, event: RecordedEvent) -> Delivery {
        self.last = event.checkpoint();
        self.last_sequence = Some(sequence);
        Delivery {
            event,
            stream_sequence: Some(sequence),
        }
    }

    /// Reads a page of the store's events between the last event delivered
    /// and the held message's, into `pending`.
    async fn fill(&mut self) -> Result<(), ForwardError> {
        let Some(held) = self.held.as_mut() else {
            return Ok(());
        };
        let target = held.event.checkpoint();
        let page = self
            .store
            .read_after(self.last, &EventFilter::all(), self.page_size)
            .await?;
        let mismatch = |stored| ForwardError::Mismatch {
            stream: self.stream.clone(),
            sequence: held.sequence,
            checkpoint: target,
            forwarded: held.event.id,
            stored,
        };
        for event in &page {
            let at = event.checkpoint();
            if at < target {
                continue;
            }
            if at > target || event.id != held.event.id {
                return Err(mismatch((at == target).then_some(event.id)));
            }
            held.filled = true;
            break;
        }
        if page.is_empty() {
            return Err(mismatch(None));
        }
        self.pending
            .extend(page.into_iter().take_while(|e| e.checkpoint() < target));
        Ok(())
    }
}
