//! [`ForwardError`]: what can go wrong forwarding events to JetStream and
//! reading them back.

use eventstore_core::{Checkpoint, EventId};

/// A failure of the forwarder or of the catch-up reader, naming the
/// stream, message or event concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// A JetStream request failed (the server is down, the request timed
    /// out, the stream cannot be created).
    #[error("{what} (stream {stream:?})")]
    Nats {
        /// What was asked, in a few words.
        what: &'static str,
        /// The stream.
        stream: String,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },
    /// Publishing an event failed or JetStream did not acknowledge it: the
    /// forwarder's handler fails, so the runner retries the event and does
    /// not move its checkpoint past it.
    #[error("JetStream did not store event {event} on {subject:?} (stream {stream:?})")]
    Publish {
        /// The event.
        event: EventId,
        /// Its subject.
        subject: String,
        /// The stream.
        stream: String,
        /// The client's error.
        #[source]
        source: async_nats::jetstream::context::PublishError,
    },
    /// An event that cannot be put in a message: a text of its envelope
    /// that is not one line (a header value cannot be).
    #[error("event {event} cannot be forwarded: {problem}")]
    Unpublishable {
        /// The event.
        event: EventId,
        /// What cannot be a header.
        problem: String,
    },
    /// The stream exists but does not take the forwarder's subjects.
    #[error(
        "stream {stream:?} takes the subjects {subjects:?}, not {wanted:?}: \
         give the forwarder a stream of its own"
    )]
    StreamSubjects {
        /// The stream.
        stream: String,
        /// The subjects it takes.
        subjects: Vec<String>,
        /// The subjects the forwarder writes.
        wanted: String,
    },
    /// The forwarder runs in one of several partitions: each would publish
    /// its share in its own order, and the stream would not be in commit
    /// order.
    #[error(
        "the forwarder to stream {stream:?} runs in partition {index} of {count}: run it \
         with one partition (Forwarder::runner_options)"
    )]
    Partitioned {
        /// The stream.
        stream: String,
        /// The partition it was given.
        index: u32,
        /// The partition count.
        count: u32,
    },
    /// A message of the stream is not one that a forwarder wrote.
    #[error("message {sequence} of stream {stream:?} is not a forwarded event: {problem}")]
    ForeignMessage {
        /// The stream.
        stream: String,
        /// Its sequence in the stream.
        sequence: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The store holds another event (or none) where a forwarded message
    /// says its event is: the stream was fed from another store.
    #[error(
        "message {sequence} of stream {stream:?} holds event {forwarded} at {checkpoint:?}, \
         the store has {stored:?} there: was the stream fed from another store?"
    )]
    Mismatch {
        /// The stream.
        stream: String,
        /// The message's sequence in the stream.
        sequence: u64,
        /// Where the message says its event is in the store.
        checkpoint: Checkpoint,
        /// The event the message holds.
        forwarded: EventId,
        /// The event the store holds there, if any.
        stored: Option<EventId>,
    },
    /// The stream's ordered consumer ended.
    #[error("the ordered consumer of stream {stream:?} ended")]
    ConsumerEnded {
        /// The stream.
        stream: String,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] eventstore_core::Error),
}

impl ForwardError {
    /// A failed JetStream request.
    pub(crate) fn nats(
        what: &'static str,
        stream: &str,
        source: impl Into<async_nats::Error>,
    ) -> Self {
        Self::Nats {
            what,
            stream: stream.to_owned(),
            source: source.into(),
        }
    }

    /// A message that is not a forwarded event.
    pub(crate) fn foreign(stream: &str, sequence: u64, problem: impl Into<String>) -> Self {
        Self::ForeignMessage {
            stream: stream.to_owned(),
            sequence,
            problem: problem.into(),
        }
    }
}
