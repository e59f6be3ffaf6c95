//! Reading one aggregate's subject: its last message, the messages after
//! a sequence, and the events after a version (loads), their bodies
//! opened.

use std::time::SystemTime;

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use eventstore_core::{AggregateId, Error, Metadata, RecordedEvent, Result};

use crate::commit::{self, StoredEvent};
use crate::error::failed;
use crate::heads::Known;
use crate::inner::Inner;
use crate::subject::stream_subject;

/// The error for a stored message of `kind` `id` that cannot be read.
pub(crate) fn corrupt(kind: &str, id: &str, message: &StreamMessage, problem: String) -> Error {
    let version = commit::head(message).map_or(-1, |h| i64::try_from(h.version).unwrap_or(-1));
    corrupt_row((kind, id), message.sequence << 16, version, problem)
}

/// The error for a stored event of `kind` `id` at `position` and `version`
/// that cannot be read.
fn corrupt_row((kind, id): (&str, &str), position: u64, version: i64, problem: String) -> Error {
    Error::CorruptRow {
        position,
        aggregate_kind: kind.to_owned(),
        aggregate_id: id.to_owned(),
        version,
        problem,
    }
}

/// An event read from a commit, its body still sealed.
struct Read {
    event: StoredEvent,
    seq: u64,
    metadata: Metadata,
    recorded_at: SystemTime,
}

impl Inner {
    /// The subject of the aggregate `kind` `id`, or `None` for an id that
    /// no [`AggregateId`] can have (which names no stream).
    pub(crate) fn subject(&self, kind: &str, id: &str) -> Option<String> {
        id.parse::<AggregateId>().ok()?;
        (!kind.is_empty()).then(|| stream_subject(&self.options.prefix, kind, id))
    }

    /// The last message on `subject`, if it has one.
    pub(crate) async fn last_message(&self, subject: &str) -> Result<Option<StreamMessage>> {
        match self.stream.get_last_raw_message_by_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(failed(
                format!("cannot read the last message of {subject}"),
                e,
            )),
        }
    }

    /// The first message on `subject` at or after the sequence `from`.
    pub(crate) async fn next_message(
        &self,
        subject: &str,
        from: u64,
    ) -> Result<Option<StreamMessage>> {
        let read = self
            .stream
            .raw_message_builder()
            .sequence(from)
            .next_by_subject(subject)
            .send()
            .await;
        match read {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(failed(format!("cannot read {subject} from {from}"), e)),
        }
    }

    /// The headers of the last message of the stream `kind` `id` at
    /// `subject` (a head at sequence 0 and version 0 when it has none),
    /// read now, and remembered.
    pub(crate) async fn read_head(&self, kind: &str, id: &str, subject: &str) -> Result<Known> {
        let Some(message) = self.last_message(subject).await? else {
            return Ok(Known::default());
        };
        let head = commit::head(&message).map_err(|p| corrupt(kind, id, &message, p))?;
        let known = head.known();
        self.heads.advance(subject, known);
        Ok(known)
    }

    /// The events of the stream `kind` `id` with a version above `after`,
    /// at most `limit`, in version order, their bodies opened with key sets
    /// that count at least `forgets` forgets and every `Es-Forgets` read
    /// (a key set cached before a forget elsewhere is read again).
    pub(crate) async fn load_events(
        &self,
        (kind, id): (&str, &str),
        after: u64,
        limit: usize,
        forgets: u64,
    ) -> Result<Vec<RecordedEvent>> {
        let Some(subject) = self.subject(kind, id) else {
            return Ok(Vec::new());
        };
        let mut forgets = forgets.max(self.heads.head(&subject).map_or(0, |h| h.forgets));
        let mut read = Vec::new();
        let mut from = self.heads.start_after(&subject, after);
        let mut last = None;
        'messages: while read.len() < limit {
            let Some(message) = self.next_message(&subject, from).await? else {
                // the last message read was the stream's last
                if let Some(last) = last {
                    self.heads.advance(&subject, last);
                }
                break;
            };
            from = message.sequence + 1;
            let commit = commit::decode(&message).map_err(|p| corrupt(kind, id, &message, p))?;
            let whole = commit.head.known();
            forgets = forgets.max(whole.forgets);
            last = Some(whole);
            for event in commit.events {
                if event.version <= after {
                    continue;
                }
                if read.len() == limit {
                    break 'messages;
                }
                read.push(Read {
                    event,
                    seq: commit.head.seq,
                    metadata: commit.metadata.clone(),
                    recorded_at: commit.recorded_at,
                });
            }
            self.heads.page(&subject, whole);
        }
        let mut events = Vec::with_capacity(read.len());
        for Read {
            event,
            seq,
            metadata,
            recorded_at,
        } in read
        {
            let body = self
                .open_body((kind, id), forgets, &event.sealed)
                .await?
                .map_err(|problem| {
                    let version = i64::try_from(event.version).unwrap_or(-1);
                    corrupt_row((kind, id), event.position, version, problem)
                })?;
            events.push(RecordedEvent {
                id: event.id,
                position: event.position,
                tx: seq,
                aggregate_kind: kind.to_owned(),
                aggregate_id: id.to_owned(),
                version: event.version,
                kind: event.kind,
                schema_version: event.schema_version,
                body,
                metadata,
                recorded_at,
            });
        }
        Ok(events)
    }
}
