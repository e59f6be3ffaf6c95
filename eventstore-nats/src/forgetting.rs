//! What a forget (`forget.rs`) needs of the JetStream store: the
//! aggregate's stored events as sealed, its snapshot entry, the sealed
//! errors of its recorded refusals, the forget marker on its subject, and
//! the errors of its parked events.

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use eventstore_core::{Error, Result};
use futures_util::StreamExt;

use crate::commit::{self, forget_marker};
use crate::error::failed;
use crate::forget::{ForgetSource, StoredEvent, StoredSnapshot};
use crate::heads::Known;
use crate::inner::Inner;
use crate::keys::KeyState;
use crate::load::corrupt;
use crate::subject::encode_token;

/// How many times a forget marker is published again after the subject
/// moved under it.
const MARKER_ROUNDS: u32 = 50;

/// How many entries one fetch of an aggregate's idempotency keys asks for.
const KEYS_BATCH: usize = 256;

/// How long the server keeps the consumer of a listing that was not
/// deleted.
const CONSUMER_IDLE: Duration = Duration::from_secs(30);

/// The header a key-value deletion or purge carries.
const KV_OPERATION: &str = "KV-Operation";

impl Inner {
    /// The values of the idempotency key entries of the aggregate `kind`
    /// `id` (a short-lived consumer on the bucket's stream, filtered to the
    /// aggregate's entries; deleted entries left out).
    async fn key_values(&self, kind: &str, id: &str) -> Result<Vec<bytes::Bytes>> {
        let filter = format!(
            "{}{}.{}.>",
            self.keys.prefix,
            encode_token(kind),
            encode_token(id)
        );
        let what = || format!("cannot list the idempotency keys of {kind} {id:?}");
        let consumer = self
            .keys
            .stream
            .create_consumer(pull::Config {
                deliver_policy: DeliverPolicy::LastPerSubject,
                ack_policy: AckPolicy::None,
                filter_subject: filter,
                inactive_threshold: CONSUMER_IDLE,
                memory_storage: true,
                ..pull::Config::default()
            })
            .await
            .map_err(|e| failed(what(), e))?;
        let name = consumer.cached_info().name.clone();
        let pending = consumer.cached_info().num_pending;
        let mut values = Vec::new();
        let mut read = 0;
        let listed = async {
            while read < pending {
                let mut batch = consumer
                    .fetch()
                    .max_messages(KEYS_BATCH)
                    .messages()
                    .await
                    .map_err(|e| failed(what(), e))?;
                let before = read;
                while let Some(message) = batch.next().await {
                    let message = message.map_err(|e| Error::transient(what(), e))?;
                    read += 1;
                    let deleted = message
                        .headers
                        .as_ref()
                        .is_some_and(|h| h.get(KV_OPERATION).is_some());
                    if !deleted {
                        values.push(message.payload.clone());
                    }
                }
                if read == before {
                    // the entries the count included went away meanwhile
                    break;
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        if let Err(e) = self.keys.stream.delete_consumer(&name).await {
            tracing::debug!(consumer = %name, error = %e, "a listing's consumer is left to expire");
        }
        listed.map(|()| values)
    }
}

impl ForgetSource for Inner {
    async fn stored_events(&self, kind: &str, id: &str) -> Result<Vec<StoredEvent>> {
        let Some(subject) = self.subject(kind, id) else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        let mut from = 1;
        while let Some(message) = self.next_message(&subject, from).await? {
            from = message.sequence + 1;
            let commit = commit::decode(&message).map_err(|p| corrupt(kind, id, &message, p))?;
            events.extend(commit.events.into_iter().map(|event| StoredEvent {
                version: event.version,
                position: event.position,
                body: event.sealed,
            }));
        }
        Ok(events)
    }

    async fn snapshot(&self, kind: &str, id: &str) -> Result<Option<StoredSnapshot>> {
        if self.subject(kind, id).is_none() {
            return Ok(None);
        }
        self.stored_snapshot(kind, id).await
    }

    async fn replace_snapshot_state(
        &self,
        kind: &str,
        id: &str,
        revision: u64,
        state: String,
        forgets: u64,
    ) -> Result<bool> {
        Inner::replace_snapshot_state(self, (kind, id), revision, state, forgets).await
    }

    async fn delete_snapshot(&self, kind: &str, id: &str, revision: u64) -> Result<bool> {
        Inner::delete_snapshot(self, (kind, id), revision).await
    }

    async fn sealed_refusals(&self, kind: &str, id: &str) -> Result<Vec<String>> {
        if self.subject(kind, id).is_none() {
            return Ok(Vec::new());
        }
        let values = self.key_values(kind, id).await?;
        Ok(values
            .iter()
            .filter_map(|value| match serde_json::from_slice(value) {
                Ok(KeyState::Rejected { error }) => error,
                _ => None,
            })
            .collect())
    }

    async fn erase_parked_errors(&self, positions: &BTreeSet<u64>) -> Result<u64> {
        self.reactors.erase_parked_errors(positions).await
    }

    async fn publish_forget_marker(&self, kind: &str, id: &str, forgets: u64) -> Result<()> {
        let Some(subject) = self.subject(kind, id) else {
            return Ok(());
        };
        for _ in 0..MARKER_ROUNDS {
            let at = match self.last_message(&subject).await? {
                None => Known::default(),
                Some(message) => commit::head(&message)
                    .map_err(|p| corrupt(kind, id, &message, p))?
                    .known(),
            };
            let marker = PublishMessage::build()
                .headers(forget_marker(&at, forgets))
                .expected_last_subject_sequence(at.seq);
            let published =
                async { self.js.send_publish(subject.clone(), marker).await?.await }.await;
            match published {
                Ok(ack) => {
                    let known = Known {
                        seq: ack.sequence,
                        version: at.version,
                        forgets,
                    };
                    self.heads.advance(&subject, known);
                    return Ok(());
                }
                // a commit came in between: after it, then
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {}
                Err(e) => {
                    return Err(failed(
                        format!("cannot publish the forget marker on {subject}"),
                        e,
                    ));
                }
            }
        }
        Err(Error::transient(
            format!("cannot publish the forget marker on {subject}"),
            format!("the subject moved under each of {MARKER_ROUNDS} attempts"),
        ))
    }
}
