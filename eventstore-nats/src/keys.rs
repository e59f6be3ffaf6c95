//! Idempotency keys, one entry per stream and key in the bucket
//! `<stream>_idempotency`, named `<kind>.<id>.<key>` (subject tokens).
//!
//! An entry is `pending` while its writer publishes (with the stream
//! sequence `after_seq` it expects the subject at), then `applied`, or
//! `rejected` when a decision refused the command. A pending entry whose
//! writer crashed or stalled is resolved by the next writer: the message
//! with the key, when the subject holds one after `after_seq`, makes it
//! applied; else, once the subject has moved past `after_seq` (so that a
//! stalled publish can no longer succeed) or a fence marker has moved it,
//! the entry is taken over by a compare-and-set on its revision.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use async_nats::jetstream::message::PublishMessage;
use eventstore_core::backend::{JsonText, RecordedOutcome};
use eventstore_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::commit::{self, fence};
use crate::error::failed;
use crate::heads::Known;
use crate::inner::Inner;
use crate::load::corrupt;
use crate::subject::encode_token;

/// What an entry holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeyState {
    /// A writer is publishing, expecting the subject at `after_seq`; it
    /// recorded the key at `since_ms` (milliseconds since 1970).
    Pending {
        /// The subject's last sequence when the key was recorded.
        after_seq: u64,
        /// When the key was recorded, by the writer's clock.
        since_ms: u64,
    },
    /// The commit with the key is at `seq`.
    Applied {
        /// Its stream sequence.
        seq: u64,
    },
    /// A decision refused the command: its domain error, sealed with the
    /// aggregate's refusals key (which a forget destroys: the error then
    /// opens as `None`).
    Rejected {
        /// The domain error, sealed.
        error: Option<String>,
    },
}

/// An entry as read, with its revision.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    /// What it holds; `None` when the key is unused (or its entry deleted).
    pub(crate) state: Option<KeyState>,
    /// The revision to compare and set on (0: none).
    pub(crate) revision: u64,
}

/// What a pending entry turned out to be.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// The commit with the key is in the stream.
    Applied,
    /// Its writer can no longer publish: the entry may be taken over at
    /// `revision`.
    Abandoned {
        /// The entry's revision.
        revision: u64,
    },
    /// The entry changed meanwhile: read it again.
    Changed,
}

/// The entry name of `key` on the stream `kind` `id`.
pub(crate) fn entry_name(kind: &str, id: &str, key: &str) -> String {
    format!(
        "{}.{}.{}",
        encode_token(kind),
        encode_token(id),
        encode_token(key)
    )
}

/// Milliseconds since 1970, by this machine's clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The value of an entry.
pub(crate) fn value(state: &KeyState) -> bytes::Bytes {
    // a KeyState always encodes: no maps with other keys than strings
    serde_json::to_vec(state).unwrap_or_default().into()
}

impl Inner {
    /// The recorded outcome of a decided entry of the stream `kind` `id`,
    /// a refusal's error opened.
    pub(crate) async fn outcome(
        &self,
        stream: (&str, &str),
        state: &KeyState,
    ) -> Result<Option<RecordedOutcome>> {
        Ok(match state {
            KeyState::Pending { .. } => None,
            KeyState::Applied { .. } => Some(RecordedOutcome::Applied),
            KeyState::Rejected { error: None } => Some(RecordedOutcome::Rejected(None)),
            KeyState::Rejected {
                error: Some(sealed),
            } => Some(RecordedOutcome::Rejected(
                self.open_refusal(stream, sealed).await?,
            )),
        })
    }

    /// A rejected entry's state for the stream `kind` `id`, its `error`
    /// sealed; `forgets` is the count of the stream's last message.
    pub(crate) async fn rejected(
        &self,
        stream: (&str, &str),
        forgets: u64,
        error: &JsonText,
    ) -> Result<KeyState> {
        let sealed = self.seal_refusal(stream, forgets, error).await?;
        Ok(KeyState::Rejected {
            error: Some(sealed),
        })
    }

    /// The entry `name`.
    pub(crate) async fn read_key(&self, name: &str) -> Result<KeyEntry> {
        let entry = self
            .keys
            .entry(name)
            .await
            .map_err(|e| failed(format!("cannot read the idempotency key {name}"), e))?;
        let Some(entry) = entry else {
            return Ok(KeyEntry {
                state: None,
                revision: 0,
            });
        };
        if matches!(entry.operation, Operation::Delete | Operation::Purge) {
            return Ok(KeyEntry {
                state: None,
                revision: entry.revision,
            });
        }
        let state = serde_json::from_slice(&entry.value).map_err(|e| {
            Error::backend(format!("the idempotency key {name} holds no key state"), e)
        })?;
        Ok(KeyEntry {
            state: Some(state),
            revision: entry.revision,
        })
    }

    /// Writes `state` to the entry `name` if it is still at `revision`
    /// (0: if it does not exist). Returns its new revision when written.
    pub(crate) async fn write_key(
        &self,
        name: &str,
        state: &KeyState,
        revision: u64,
    ) -> Result<Option<u64>> {
        let what = || format!("cannot write the idempotency key {name}");
        if revision == 0 {
            match self.keys.create(name, value(state)).await {
                Ok(written) => Ok(Some(written)),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(None),
                Err(e) => Err(failed(what(), e)),
            }
        } else {
            match self.keys.update(name, value(state), revision).await {
                Ok(written) => Ok(Some(written)),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(None),
                Err(e) => Err(failed(what(), e)),
            }
        }
    }

    /// Deletes the pending entry `name` at `revision`, whose writer knows
    /// that its publish failed; a later writer need not wait for it. A
    /// failure leaves it pending, which the next writer resolves.
    pub(crate) async fn release_key(&self, name: &str, revision: u64) {
        if let Err(e) = self.keys.delete_expect_revision(name, Some(revision)).await {
            tracing::debug!(key = name, error = %e, "a failed append left its key pending");
        }
    }

    /// The sequence of the message with `key` on `subject` after the
    /// sequence `after`, if there is one, and the last sequence read.
    async fn find_key(
        &self,
        stream: (&str, &str),
        subject: &str,
        after: u64,
        key: &str,
    ) -> Result<(Option<u64>, u64)> {
        let mut last = after;
        while let Some(message) = self.next_message(subject, last + 1).await? {
            last = message.sequence;
            let head =
                commit::head(&message).map_err(|p| corrupt(stream.0, stream.1, &message, p))?;
            if head.key.as_deref() == Some(key) {
                return Ok((Some(last), last));
            }
        }
        Ok((None, last))
    }

    /// What `key` recorded on the stream `kind` `id`, read without
    /// waiting: a pending entry reads as no outcome unless its commit is
    /// in the stream.
    pub(crate) async fn key_outcome(
        &self,
        kind: &str,
        id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        let Some(subject) = self.subject(kind, id) else {
            return Ok(None);
        };
        let name = entry_name(kind, id, key);
        let entry = self.read_key(&name).await?;
        match entry.state {
            None => Ok(None),
            Some(KeyState::Pending { after_seq, .. }) => {
                let (found, _) = self.find_key((kind, id), &subject, after_seq, key).await?;
                if let Some(seq) = found {
                    // best effort: a later read finds the commit again
                    let _ = self
                        .write_key(&name, &KeyState::Applied { seq }, entry.revision)
                        .await;
                }
                Ok(found.map(|_| RecordedOutcome::Applied))
            }
            Some(state) => self.outcome((kind, id), &state).await,
        }
    }

    /// Resolves the pending entry `name` (at `revision`, recorded at
    /// `since_ms` expecting the subject at `after_seq`) of `key` on the
    /// stream `kind` `id`: waits at most the grace for its writer, then
    /// fences the writer off.
    pub(crate) async fn resolve(
        &self,
        stream: (&str, &str),
        subject: &str,
        key: &str,
        pending: (u64, u64, u64),
    ) -> Result<Resolved> {
        let (after_seq, since_ms, revision) = pending;
        let name = entry_name(stream.0, stream.1, key);
        let age = Duration::from_millis(now_ms().saturating_sub(since_ms));
        let deadline = tokio::time::Instant::now() + self.options.pending_grace.saturating_sub(age);
        let mut pause = Duration::from_millis(5);
        loop {
            let (found, last) = self.find_key(stream, subject, after_seq, key).await?;
            if let Some(seq) = found {
                self.write_key(&name, &KeyState::Applied { seq }, revision)
                    .await?;
                return Ok(Resolved::Applied);
            }
            if last != after_seq {
                // a publish that expects `after_seq` can no longer succeed
                return Ok(Resolved::Abandoned { revision });
            }
            if tokio::time::Instant::now() < deadline {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
                if self.read_key(&name).await?.revision != revision {
                    return Ok(Resolved::Changed);
                }
                continue;
            }
            if self.fence(stream, subject, key, after_seq).await? {
                return Ok(Resolved::Abandoned { revision });
            }
            // something was published meanwhile: look again
        }
    }

    /// Publishes a fence marker for `key` on `subject`, expecting it at
    /// `after_seq`: the stream moves on, so that a writer that expects it
    /// there fails. Returns whether it was published (not when the
    /// subject had moved already).
    async fn fence(
        &self,
        stream: (&str, &str),
        subject: &str,
        key: &str,
        after_seq: u64,
    ) -> Result<bool> {
        let at = match self.last_message(subject).await? {
            None => Known::default(),
            Some(message) if message.sequence == after_seq => {
                let head =
                    commit::head(&message).map_err(|p| corrupt(stream.0, stream.1, &message, p))?;
                head.known()
            }
            Some(_) => return Ok(false),
        };
        let marker = PublishMessage::build()
            .headers(fence(&at, key))
            .expected_last_subject_sequence(after_seq);
        let published = async {
            self.js
                .send_publish(subject.to_owned(), marker)
                .await?
                .await
        }
        .await;
        match published {
            Ok(ack) => {
                let known = Known {
                    seq: ack.sequence,
                    ..at
                };
                self.heads.advance(subject, known);
                Ok(true)
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(false),
            Err(e) => Err(failed(format!("cannot publish a fence on {subject}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_in_the_designed_form_and_names_are_key_safe() {
        let pending = KeyState::Pending {
            after_seq: 7,
            since_ms: 1,
        };
        assert_eq!(
            std::str::from_utf8(&value(&pending)).unwrap(),
            r#"{"pending":{"after_seq":7,"since_ms":1}}"#
        );
        assert_eq!(
            std::str::from_utf8(&value(&KeyState::Applied { seq: 9 })).unwrap(),
            r#"{"applied":{"seq":9}}"#
        );
        let rejected = KeyState::Rejected {
            error: Some("3:c2VhbGVk".to_owned()),
        };
        assert_eq!(
            std::str::from_utf8(&value(&rejected)).unwrap(),
            r#"{"rejected":{"error":"3:c2VhbGVk"}}"#
        );
        assert_eq!(
            entry_name("Account", "a.1 >", "t-1/x"),
            "Account.a=2E1=20=3E.t-1=2Fx"
        );
    }
}
