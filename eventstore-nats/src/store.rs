//! [`EventStore`] for [`NatsStore`]: appends with optimistic concurrency
//! by the subject's expected last sequence, idempotency keys, refusals,
//! loads, and forget (`forget.rs`, through `forgetting.rs`).

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use eventstore_core::backend::{
    AppendOutcome, AppendRequest, LoadedStream, RecordedOutcome, RefusalOutcome, RefusalRequest,
    Snapshot, StreamEvent,
};
use eventstore_core::{
    Error, EventStore, ForgetRequest, Forgotten, RecordedEvent, Result, StreamAt,
};

use crate::commit::{self, unstorable};
use crate::error::failed;
use crate::forget;
use crate::heads::Known;
use crate::inner::{Inner, NatsStore};
use crate::keys::{KeyState, Resolved, entry_name, now_ms};

/// How many times an append or a refusal tries again after losing a race
/// for its key (or, for an append, to a marker) before it gives up with a
/// conflict.
const KEY_ROUNDS: u32 = 50;

/// Where a key stands for a writer that may take it.
enum Claim {
    /// The key has an outcome, which stands.
    Decided(RecordedOutcome),
    /// The key is free: take it at `revision` (0: create it).
    Free {
        /// The entry's revision.
        revision: u64,
    },
    /// The entry changed meanwhile: read it again.
    Again,
}

impl Inner {
    /// Reads `key` on the stream, resolving a pending entry.
    async fn claim(&self, stream: (&str, &str), subject: &str, key: &str) -> Result<Claim> {
        let entry = self.read_key(&entry_name(stream.0, stream.1, key)).await?;
        Ok(match entry.state {
            None => Claim::Free {
                revision: entry.revision,
            },
            Some(KeyState::Pending {
                after_seq,
                since_ms,
            }) => {
                let pending = (after_seq, since_ms, entry.revision);
                match self.resolve(stream, subject, key, pending).await? {
                    Resolved::Applied => Claim::Decided(RecordedOutcome::Applied),
                    Resolved::Abandoned { revision } => Claim::Free { revision },
                    Resolved::Changed => Claim::Again,
                }
            }
            Some(state) => match self.outcome(stream, &state).await? {
                Some(decided) => Claim::Decided(decided),
                None => Claim::Again,
            },
        })
    }

    /// Fails with [`Error::StreamMoved`] when `guard`'s stream has moved
    /// past its version, as read now.
    async fn check_guard(&self, guard: Option<&StreamAt>) -> Result<()> {
        let Some(guard) = guard else {
            return Ok(());
        };
        let (kind, id) = (&guard.aggregate_kind, guard.aggregate_id.as_str());
        let Some(subject) = self.subject(kind, id) else {
            return Ok(());
        };
        if self.read_head(kind, id, &subject).await?.version > guard.version {
            return Err(Error::StreamMoved {
                aggregate_kind: guard.aggregate_kind.clone(),
                aggregate_id: guard.aggregate_id.to_string(),
                version: guard.version,
            });
        }
        Ok(())
    }

    /// The head of the stream for an append at `expected`: the remembered
    /// one when it is at that version or past it (a stream never goes
    /// back), else the one read now.
    async fn head_for(&self, kind: &str, id: &str, subject: &str, expected: u64) -> Result<Known> {
        match self.heads.head(subject) {
            Some(head) if head.version >= expected => Ok(head),
            _ => self.read_head(kind, id, subject).await,
        }
    }

    /// One attempt at an append: `None` when the key was lost to a racing
    /// writer, or a marker moved the subject, and it must be tried again.
    async fn try_append(&self, request: &AppendRequest) -> Result<Option<AppendOutcome>> {
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        let subject = self
            .subject(kind, id)
            .ok_or_else(|| unstorable(request, "an empty aggregate kind".into()))?;
        let mut revision = 0;
        if let Some(key) = &request.idempotency_key {
            match self.claim((kind, id), &subject, key).await? {
                Claim::Decided(RecordedOutcome::Applied) => {
                    return Ok(Some(AppendOutcome::AlreadyApplied));
                }
                Claim::Decided(RecordedOutcome::Rejected(error)) => {
                    return Ok(Some(AppendOutcome::AlreadyRejected(error)));
                }
                Claim::Again => return Ok(None),
                Claim::Free { revision: free } => revision = free,
            }
        }
        self.check_guard(request.unless_moved.as_ref()).await?;
        let head = self
            .head_for(kind, id, &subject, request.expected_version)
            .await?;
        if head.version != request.expected_version {
            return Err(conflict(request));
        }
        // sealed with a key set counting at least the forgets of the message
        // it follows: a forget marker that moved the subject since makes
        // the publish fail, and the next attempt seals with fresh keys
        let sealed = self.seal_events(request, head.forgets).await?;
        let outgoing = commit::encode(request, head.version + 1, &sealed)?;
        let name = request
            .idempotency_key
            .as_deref()
            .map(|key| entry_name(kind, id, key));
        if let Some(name) = &name {
            let pending = KeyState::Pending {
                after_seq: head.seq,
                since_ms: now_ms(),
            };
            match self.write_key(name, &pending, revision).await? {
                Some(written) => revision = written,
                None => return Ok(None),
            }
        }
        let message = PublishMessage::build()
            .payload(outgoing.payload)
            .headers(outgoing.headers)
            .expected_last_subject_sequence(head.seq);
        let published = async { self.js.send_publish(subject.clone(), message).await?.await }.await;
        let ack = match published {
            Ok(ack) => ack,
            Err(e) => {
                let definite = matches!(
                    e.kind(),
                    PublishErrorKind::WrongLastSequence | PublishErrorKind::MaxPayloadExceeded
                );
                if let (Some(name), true) = (&name, definite) {
                    self.release_key(name, revision).await;
                }
                if e.kind() == PublishErrorKind::WrongLastSequence {
                    self.heads.stale(&subject);
                    // a marker moved the subject, not a commit: try again
                    let now = self.read_head(kind, id, &subject).await?;
                    if now.version == request.expected_version {
                        return Ok(None);
                    }
                }
                return Err(match e.kind() {
                    PublishErrorKind::WrongLastSequence => conflict(request),
                    PublishErrorKind::MaxPayloadExceeded => unstorable(request, e.to_string()),
                    _ => failed(format!("cannot publish a commit on {subject}"), e),
                });
            }
        };
        let count = request.events.len() as u64;
        self.heads.advance(
            &subject,
            Known {
                seq: ack.sequence,
                version: head.version + count,
                forgets: sealed.forgets,
            },
        );
        if let Some(name) = &name {
            // the commit stands; an entry left pending is resolved by the
            // next reader, which finds the commit
            let applied = KeyState::Applied { seq: ack.sequence };
            if let Err(e) = self.write_key(name, &applied, revision).await {
                tracing::warn!(key = %name, error = %e, "the key of a commit stays pending");
            }
        }
        let events = request
            .events
            .iter()
            .zip(outgoing.ids)
            .enumerate()
            .map(|(i, (event, id))| RecordedEvent {
                id,
                position: ack.sequence << 16 | i as u64,
                tx: ack.sequence,
                aggregate_kind: request.aggregate_kind.clone(),
                aggregate_id: request.aggregate_id.to_string(),
                version: head.version + 1 + i as u64,
                kind: event.kind.clone(),
                schema_version: event.schema_version,
                body: event.body.clone(),
                metadata: request.metadata.clone(),
                recorded_at: outgoing.at,
            })
            .collect();
        Ok(Some(AppendOutcome::Committed(events)))
    }

    /// One attempt at recording a refusal: `None` when the key was lost
    /// to a racing writer and must be read again.
    async fn try_refusal(&self, request: &RefusalRequest) -> Result<Option<RefusalOutcome>> {
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        let Some(subject) = self.subject(kind, id) else {
            return Ok(Some(RefusalOutcome::StreamMoved));
        };
        let key = &request.idempotency_key;
        let revision = match self.claim((kind, id), &subject, key).await? {
            Claim::Decided(decided) => return Ok(Some(RefusalOutcome::AlreadyDecided(decided))),
            Claim::Again => return Ok(None),
            Claim::Free { revision } => revision,
        };
        self.check_guard(request.unless_moved.as_ref()).await?;
        let head = self.read_head(kind, id, &subject).await?;
        if head.version > request.version {
            return Ok(Some(RefusalOutcome::StreamMoved));
        }
        let state = self
            .rejected((kind, id), head.forgets, &request.error)
            .await?;
        let written = self
            .write_key(&entry_name(kind, id, key), &state, revision)
            .await?;
        Ok(written.map(|_| RefusalOutcome::Recorded))
    }
}

/// The conflict of an append whose stream is not at its expected version.
fn conflict(request: &AppendRequest) -> Error {
    Error::Conflict {
        aggregate_kind: request.aggregate_kind.clone(),
        aggregate_id: request.aggregate_id.to_string(),
        expected_version: request.expected_version,
        attempts: 1,
    }
}

impl EventStore for NatsStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome> {
        request.validate()?;
        if request.events.is_empty() {
            return Ok(AppendOutcome::Committed(Vec::new()));
        }
        for _ in 0..KEY_ROUNDS {
            if let Some(outcome) = self.inner.try_append(&request).await? {
                if matches!(outcome, AppendOutcome::Committed(_)) {
                    self.inner.appended.send_modify(|count| *count += 1);
                }
                return Ok(outcome);
            }
        }
        Err(conflict(&request))
    }

    async fn load(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>> {
        let stream = (aggregate_kind, aggregate_id);
        self.inner
            .load_events(stream, after_version, usize::MAX, 0)
            .await
    }

    async fn load_page(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>> {
        let stream = (aggregate_kind, aggregate_id);
        let events = self
            .inner
            .load_events(stream, after_version, limit, 0)
            .await?;
        Ok(events.iter().map(StreamEvent::from).collect())
    }

    async fn load_snapshot(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<Option<Snapshot>> {
        self.inner.load_snapshot(aggregate_kind, aggregate_id).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        self.inner.save_snapshot(&snapshot).await
    }

    async fn idempotency_key_outcome(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        self.inner
            .key_outcome(aggregate_kind, aggregate_id, key)
            .await
    }

    async fn record_refusal(&self, request: RefusalRequest) -> Result<RefusalOutcome> {
        for _ in 0..KEY_ROUNDS {
            if let Some(outcome) = self.inner.try_refusal(&request).await? {
                return Ok(outcome);
            }
        }
        Err(Error::backend(
            format!(
                "cannot record the refusal under the idempotency key {:?} on {} {:?}",
                request.idempotency_key, request.aggregate_kind, request.aggregate_id
            ),
            format!("other writers took the key first {KEY_ROUNDS} times in a row"),
        ))
    }

    async fn forget(&self, request: &ForgetRequest) -> Result<Forgotten> {
        let inner = &*self.inner;
        forget::forget(inner, &inner.secrets, request).await
    }

    async fn load_stream(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> Result<LoadedStream> {
        let inner = &*self.inner;
        let stream = (aggregate_kind, aggregate_id);
        if inner.subject(aggregate_kind, aggregate_id).is_none() {
            return Ok(LoadedStream::default());
        }
        if let Some(key) = idempotency_key {
            let key_outcome = inner.key_outcome(aggregate_kind, aggregate_id, key).await?;
            if key_outcome.is_some() {
                return Ok(LoadedStream {
                    key_outcome,
                    ..LoadedStream::default()
                });
            }
        }
        // the count before the events: a forget after this read makes the
        // state's snapshot (saved with this count) be refused
        let forgets = inner.forgets(aggregate_kind, aggregate_id).await?.count;
        let snapshot = inner.snapshot_at(stream, forgets).await?;
        let after = snapshot.as_ref().map_or(0, |s| s.version);
        let events = inner.load_events(stream, after, limit, forgets).await?;
        Ok(LoadedStream {
            snapshot,
            events: events.iter().map(StreamEvent::from).collect(),
            key_outcome: None,
            forgets,
        })
    }
}
