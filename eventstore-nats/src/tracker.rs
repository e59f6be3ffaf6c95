//! [`Tracker`] for [`NatsStore`]: the stream in sequence order, which is
//! commit order, read by a short-lived pull consumer from the checkpoint's
//! message on, the bodies of a page opened once it is read (with, for each
//! aggregate, the highest `Es-Forgets` the page met); wakeups from a core
//! subscription to the stream's subjects.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::message::StreamMessage;
use eventstore_core::backend::{ReadPage, UnreadableEvent, Wakeups};
use eventstore_core::{Checkpoint, Error, EventBody, EventFilter, RecordedEvent, Result, Tracker};
use futures_util::StreamExt;

use crate::commit::{self, Commit};
use crate::error::failed;
use crate::inner::{Inner, NatsStore};
use crate::subject::encode_token;

/// How many messages one fetch asks for at most.
const BATCH: usize = 256;

/// How many messages a read looks at before it stops with
/// [`ReadPage::more`], when few of them pass its filter.
const SCAN: usize = 4096;

/// How long the server keeps a reader's consumer that was not deleted.
const CONSUMER_IDLE: Duration = Duration::from_secs(30);

/// A page being read.
struct Page<'a> {
    after: Checkpoint,
    filter: &'a EventFilter,
    limit: usize,
    read: ReadPage,
    /// The stream sequence of the last message looked at.
    last_seq: u64,
    /// Why the read stopped before the stream's end, if it did.
    stop: Option<Stop>,
    /// The sealed body of each of `read.events`, in order.
    sealed: Vec<String>,
    /// The highest forget count of each aggregate's messages looked at.
    forgets: HashMap<(String, String), u64>,
}

/// Why a read stopped before the stream's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// It took `limit` events; more of the last message's follow, or not.
    Limit {
        /// Whether events of the last message were left.
        rest: bool,
    },
    /// The next event is past the filter's end.
    Until,
}

impl Page<'_> {
    /// Takes the events of one message.
    fn take(&mut self, message: &StreamMessage) {
        self.last_seq = message.sequence;
        let (commit, stream) = match commit::decode(message).and_then(|commit| {
            let stream = commit::stream_of(message)?;
            Ok((commit, stream))
        }) {
            Ok(read) => read,
            Err(problem) => return self.unreadable(message, problem),
        };
        let forgets = self.forgets.entry(stream.clone()).or_default();
        *forgets = (*forgets).max(commit.head.forgets);
        if commit.events.is_empty() {
            self.pass(commit.head.last_checkpoint());
            return;
        }
        self.events(commit, stream);
    }

    /// Moves the end past a checkpoint looked at, unless it is beyond the
    /// filter's end.
    fn pass(&mut self, checkpoint: Checkpoint) -> bool {
        if checkpoint <= self.after {
            return false;
        }
        if !self.filter.reaches(checkpoint) {
            self.stop = Some(Stop::Until);
            return false;
        }
        self.read.end = self.read.end.max(checkpoint);
        true
    }

    /// Takes the events of a commit.
    fn events(&mut self, commit: Commit, (kind, id): (String, String)) {
        let count = commit.events.len();
        for (i, event) in commit.events.into_iter().enumerate() {
            let checkpoint = Checkpoint {
                tx: commit.head.seq,
                position: event.position,
            };
            if !self.pass(checkpoint) {
                if self.stop.is_some() {
                    return;
                }
                continue;
            }
            let recorded = RecordedEvent {
                id: event.id,
                position: event.position,
                tx: commit.head.seq,
                aggregate_kind: kind.clone(),
                aggregate_id: id.clone(),
                version: event.version,
                kind: event.kind,
                schema_version: event.schema_version,
                // opened once the page is read
                body: EventBody::empty(),
                metadata: commit.metadata.clone(),
                recorded_at: commit.recorded_at,
            };
            if self.filter.passes(&recorded) {
                self.read.events.push(recorded);
                self.sealed.push(event.sealed);
                if self.read.events.len() >= self.limit {
                    self.stop = Some(Stop::Limit {
                        rest: i + 1 < count,
                    });
                    return;
                }
            }
        }
    }

    /// Records a message that cannot be read.
    fn unreadable(&mut self, message: &StreamMessage, problem: String) {
        let checkpoint = Checkpoint {
            tx: message.sequence,
            position: message.sequence << 16,
        };
        if !self.pass(checkpoint) {
            return;
        }
        let (kind, id) = commit::stream_of(message).unwrap_or_default();
        let version = commit::head(message).map_or(-1, |h| i64::try_from(h.version).unwrap_or(-1));
        self.read.unreadable.push(UnreadableEvent {
            checkpoint,
            aggregate_kind: kind,
            aggregate_id: id,
            version,
            problem,
        });
    }
}

impl Inner {
    /// Opens the bodies of the events of `page`; an event whose body does
    /// not open is unreadable.
    async fn open_page(&self, page: &mut Page<'_>) -> Result<()> {
        let events = std::mem::take(&mut page.read.events);
        let sealed = std::mem::take(&mut page.sealed);
        for (mut event, sealed) in events.into_iter().zip(sealed) {
            let stream = (event.aggregate_kind.clone(), event.aggregate_id.clone());
            let forgets = page.forgets.get(&stream).copied().unwrap_or(0);
            let (kind, id) = (stream.0.as_str(), stream.1.as_str());
            match self.open_body((kind, id), forgets, &sealed).await? {
                Ok(body) => {
                    event.body = body;
                    page.read.events.push(event);
                }
                Err(problem) => page.read.unreadable.push(UnreadableEvent {
                    checkpoint: Checkpoint {
                        tx: event.tx,
                        position: event.position,
                    },
                    aggregate_kind: event.aggregate_kind,
                    aggregate_id: event.aggregate_id,
                    version: i64::try_from(event.version).unwrap_or(-1),
                    problem,
                }),
            }
        }
        page.read.unreadable.sort_by_key(|u| u.checkpoint);
        Ok(())
    }

    /// The stream's last sequence now.
    pub(crate) async fn last_seq(&self) -> Result<u64> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| failed("cannot read the stream's state", e))?;
        Ok(info.state.last_sequence)
    }

    /// The message at `seq`.
    pub(crate) async fn message_at(&self, seq: u64) -> Result<StreamMessage> {
        self.stream
            .get_raw_message(seq)
            .await
            .map_err(|e| failed(format!("cannot read the message at {seq}"), e))
    }

    /// The subjects a read with `filter` looks at.
    fn filter_subject(&self, filter: &EventFilter) -> (String, bool) {
        match filter.aggregate_kinds.as_slice() {
            [kind] => (
                format!("{}.{}.>", self.options.prefix, encode_token(kind)),
                true,
            ),
            _ => (self.options.subjects(), false),
        }
    }

    /// See [`Tracker::read_page`].
    async fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<ReadPage> {
        let last = self.last_seq().await?;
        let start = after.tx.max(1);
        let mut page = Page {
            after,
            filter,
            limit: limit.max(1),
            read: ReadPage {
                end: after,
                ..ReadPage::default()
            },
            last_seq: 0,
            stop: None,
            sealed: Vec::new(),
            forgets: HashMap::new(),
        };
        if start > last {
            return Ok(page.read);
        }
        let (subject, narrowed) = self.filter_subject(filter);
        let consumer = self
            .stream
            .create_consumer(pull::Config {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ack_policy: AckPolicy::None,
                // the stream holds only `<prefix>.>`: a read of all of it
                // needs no filter, and NATS 2.9 counts a filtered
                // consumer's pending messages by scanning its file blocks
                filter_subject: if narrowed { subject } else { String::new() },
                inactive_threshold: CONSUMER_IDLE,
                memory_storage: true,
                ..pull::Config::default()
            })
            .await
            .map_err(|e| failed("cannot create a consumer to read the stream", e))?;
        let read = self.scan(&consumer, &mut page).await;
        let name = consumer.cached_info().name.clone();
        if let Err(e) = self.stream.delete_consumer(&name).await {
            tracing::debug!(consumer = %name, error = %e, "a reader's consumer is left to expire");
        }
        let pending = read?;
        self.open_page(&mut page).await?;
        page.read.more = match page.stop {
            Some(Stop::Until) => false,
            Some(Stop::Limit { rest }) => rest || pending > 0,
            None => pending > 0,
        };
        if page.stop.is_none() && pending == 0 && narrowed && last > page.last_seq {
            // every message up to `last` that the subject filter takes was
            // looked at: the read looked past the others too
            let message = self.message_at(last).await?;
            if let Ok(head) = commit::head(&message) {
                page.pass(head.last_checkpoint());
            }
        }
        Ok(page.read)
    }

    /// Reads messages into `page` until it is done, the stream's end, or
    /// the scan bound; returns how many messages were pending after the
    /// last one read.
    async fn scan(&self, consumer: &PullConsumer, page: &mut Page<'_>) -> Result<u64> {
        let mut scanned = 0;
        let mut pending = 0;
        while page.stop.is_none() && scanned < SCAN {
            let mut batch = consumer
                .fetch()
                .max_messages(BATCH)
                .messages()
                .await
                .map_err(|e| failed("cannot fetch messages of the stream", e))?;
            let mut fetched = 0;
            while let Some(message) = batch.next().await {
                let message = message.map_err(|e| Error::transient("cannot read the stream", e))?;
                fetched += 1;
                let info = message
                    .info()
                    .map_err(|e| Error::backend("a message of the stream has no metadata", e))?;
                pending = info.pending;
                let stored = StreamMessage {
                    subject: message.subject.clone(),
                    sequence: info.stream_sequence,
                    headers: message.headers.clone().unwrap_or_default(),
                    payload: message.payload.clone(),
                    time: info.published,
                };
                page.take(&stored);
                if page.stop.is_some() {
                    break;
                }
            }
            scanned += fetched;
            if fetched == 0 || pending == 0 {
                break;
            }
        }
        Ok(pending)
    }
}

impl Tracker for NatsStore {
    async fn read_page(
        &self,
        after: Checkpoint,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<ReadPage> {
        self.inner.read_page(after, filter, limit).await
    }

    async fn head(&self) -> Result<Checkpoint> {
        let mut seq = self.inner.last_seq().await?;
        // the last message that holds events: markers hold none
        while seq > 0 {
            let message = self.inner.message_at(seq).await?;
            match commit::head(&message) {
                Ok(head) if head.count == 0 => seq -= 1,
                Ok(head) => return Ok(head.last_checkpoint()),
                Err(_) => {
                    return Ok(Checkpoint {
                        tx: seq,
                        position: seq << 16,
                    });
                }
            }
        }
        Ok(Checkpoint::BEGINNING)
    }

    async fn ahead_of(&self, checkpoint: Checkpoint) -> Result<Option<u64>> {
        let next = self.inner.last_seq().await? + 1;
        Ok((checkpoint.tx >= next).then_some(next))
    }

    fn wakeups(&self) -> Wakeups {
        self.inner.watch_appends();
        Wakeups::from_counter(self.inner.appended.subscribe())
    }
}
