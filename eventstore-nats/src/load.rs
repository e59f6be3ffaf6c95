//! Reading one aggregate's subject: its last message, the messages after
//! a sequence, and the events after a version (loads), their bodies
//! opened.

use std::time::{Duration, SystemTime};

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures_util::StreamExt as _;

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use eventstore_core::{AggregateId, Error, Metadata, RecordedEvent, Result};

use crate::commit::{self, StoredEvent};
use crate::error::failed;
use crate::heads::{Heads, Known};
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

/// How many messages a load reads one request each before it streams the
/// rest with an ordered consumer (which costs a request to create, and a
/// consumer on the server while it reads).
const DIRECT_READS: usize = 4;

/// How long a streaming read waits for the next message the server said
/// it has.
const STREAM_WAIT: Duration = Duration::from_secs(10);

/// A page of a load being read: the events taken so far.
struct Page<'a> {
    stream: (&'a str, &'a str),
    after: u64,
    limit: usize,
    forgets: u64,
    read: Vec<Read>,
    /// The last message taken whole.
    last: Option<Known>,
}

impl Page<'_> {
    fn full(&self) -> bool {
        self.read.len() >= self.limit
    }

    /// Takes the events of `message` above the page's version, up to its
    /// limit.
    fn take(&mut self, message: &StreamMessage, heads: &Heads, subject: &str) -> Result<()> {
        let (kind, id) = self.stream;
        let commit = commit::decode(message).map_err(|p| corrupt(kind, id, message, p))?;
        let whole = commit.head.known();
        self.forgets = self.forgets.max(whole.forgets);
        for event in commit.events {
            if event.version <= self.after {
                continue;
            }
            if self.full() {
                return Ok(());
            }
            self.read.push(Read {
                event,
                seq: commit.head.seq,
                metadata: commit.metadata.clone(),
                recorded_at: commit.recorded_at,
            });
        }
        self.last = Some(whole);
        heads.page(subject, whole);
        Ok(())
    }
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

    /// Reads `subject` from the sequence `from` into `page` with an
    /// ordered consumer, until the page is full (`false`) or the subject's
    /// last message was read (`true`).
    async fn read_streaming(&self, subject: &str, from: u64, page: &mut Page<'_>) -> Result<bool> {
        let unread = || format!("cannot read {subject} from {from}");
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: subject.to_owned(),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ..OrderedConfig::default()
            })
            .await
            .map_err(|e| failed(unread(), e))?;
        if consumer.cached_info().num_pending == 0 {
            return Ok(true);
        }
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| Error::transient(unread(), e))?;
        while !page.full() {
            let next = tokio::time::timeout(STREAM_WAIT, messages.next()).await;
            let message = match next {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(e))) => return Err(Error::transient(unread(), e)),
                Ok(None) => return Err(Error::transient(unread(), "the consumer ended")),
                Err(elapsed) => return Err(Error::transient(unread(), elapsed)),
            };
            let info = message.info().map_err(|e| Error::transient(unread(), e))?;
            let (sequence, pending, time) = (info.stream_sequence, info.pending, info.published);
            let message = StreamMessage {
                subject: message.message.subject,
                sequence,
                headers: message.message.headers.unwrap_or_default(),
                payload: message.message.payload,
                time,
            };
            page.take(&message, &self.heads, subject)?;
            if pending == 0 {
                return Ok(true);
            }
        }
        Ok(false)
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
        let mut page = Page {
            stream: (kind, id),
            after,
            limit,
            forgets: forgets.max(self.heads.head(&subject).map_or(0, |h| h.forgets)),
            read: Vec::new(),
            last: None,
        };
        let mut from = self.heads.start_after(&subject, after);
        // a short load reads message by message; a long one goes on with
        // an ordered consumer, which streams the rest
        let mut direct = 0;
        let end = loop {
            if page.full() {
                break false;
            }
            if direct == DIRECT_READS {
                break self.read_streaming(&subject, from, &mut page).await?;
            }
            let Some(message) = self.next_message(&subject, from).await? else {
                break true;
            };
            direct += 1;
            from = message.sequence + 1;
            page.take(&message, &self.heads, &subject)?;
        };
        if let (true, Some(last)) = (end, page.last) {
            // the last message read was the stream's last
            self.heads.advance(&subject, last);
        }
        let Page { read, forgets, .. } = page;
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
