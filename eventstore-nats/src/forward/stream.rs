//! The forwarder's stream: its settings, creating it when it is missing,
//! and reading where its last message came from.

use std::time::Duration;

use async_nats::jetstream::stream::{Config, LastRawMessageErrorKind, StorageType, Stream};
use async_nats::jetstream::{self, Context};
use eventstore_core::Checkpoint;

use super::error::ForwardError;
use super::message;

/// How the stream is made when it is missing; an existing stream is used
/// as it is.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    /// File or memory.
    pub(super) storage: StorageType,
    /// How many servers hold it.
    pub(super) replicas: usize,
    /// How long JetStream remembers message ids to drop duplicates.
    pub(super) duplicate_window: Duration,
    /// How many messages it keeps (-1: no limit).
    pub(super) max_messages: i64,
    /// How long it keeps a message (zero: forever).
    pub(super) max_age: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            storage: StorageType::File,
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            max_messages: -1,
            max_age: Duration::ZERO,
        }
    }
}

/// The last message of the stream, as far as the forwarder knows: where it
/// is and where its event is in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tail {
    /// Its sequence (0: the stream never held a message).
    pub(super) sequence: u64,
    /// Where its event is in the store; `None` when the stream no longer
    /// holds it (dropped by its limits) or never held one.
    pub(super) checkpoint: Option<Checkpoint>,
}

/// The stream `name` taking the subjects `<prefix>.>`, created with
/// `settings` when it is missing.
pub(super) async fn ensure(
    jetstream: &Context,
    name: &str,
    prefix: &str,
    settings: &Settings,
) -> Result<Stream, ForwardError> {
    let wanted = format!("{prefix}.>");
    let config = Config {
        name: name.to_owned(),
        subjects: vec![wanted.clone()],
        storage: settings.storage,
        num_replicas: settings.replicas,
        duplicate_window: settings.duplicate_window,
        max_messages: settings.max_messages,
        max_age: settings.max_age,
        allow_direct: true,
        ..Config::default()
    };
    let stream = jetstream
        .get_or_create_stream(config)
        .await
        .map_err(|e| ForwardError::nats("cannot get or create the stream", name, e))?;
    let subjects = &stream.cached_info().config.subjects;
    if !subjects.contains(&wanted) {
        return Err(ForwardError::StreamSubjects {
            stream: name.to_owned(),
            subjects: subjects.clone(),
            wanted,
        });
    }
    Ok(stream)
}

/// The stream's last message now.
pub(super) async fn tail(stream: &Stream) -> Result<Tail, ForwardError> {
    let info = stream.cached_info();
    let name = info.config.name.as_str();
    let sequence = info.state.last_sequence;
    if sequence == 0 {
        return Ok(Tail {
            sequence,
            checkpoint: None,
        });
    }
    let checkpoint = match stream.get_raw_message(sequence).await {
        Ok(last) => Some(
            message::checkpoint(&last.headers)
                .map_err(|problem| ForwardError::foreign(name, sequence, problem))?,
        ),
        Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => None,
        Err(e) => {
            return Err(ForwardError::nats(
                "cannot read the stream's last message",
                name,
                e,
            ));
        }
    };
    Ok(Tail {
        sequence,
        checkpoint,
    })
}

/// The stream `name`, which must exist.
pub(super) async fn existing(jetstream: &Context, name: &str) -> Result<Stream, ForwardError> {
    jetstream
        .get_stream(name)
        .await
        .map_err(|e| ForwardError::nats("cannot find the stream", name, e))
}

/// A message of the stream, with its sequence.
pub(super) fn sequence_of(stream: &str, message: &jetstream::Message) -> Result<u64, ForwardError> {
    message
        .info()
        .map(|info| info.stream_sequence)
        .map_err(|e| ForwardError::nats("cannot read a message's sequence", stream, e))
}
