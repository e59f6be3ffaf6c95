//! The memory store's idempotency keys: what each recorded, refusals
//! recorded under one, and their erasure by a forget.

use crate::error::{Error, Result};
use crate::keys::{RecordedOutcome, RefusalOutcome, RefusalRequest};

use super::Inner;

impl Inner {
    /// What `key` recorded on a stream.
    pub(super) fn key_outcome(&self, kind: &str, id: &str, key: &str) -> Option<RecordedOutcome> {
        self.stream(kind, id)?.keys.get(key).cloned()
    }

    /// See [`EventStore::record_refusal`](crate::EventStore::record_refusal);
    /// the caller holds the lock, so the checks and the write are one step.
    pub(super) fn record_refusal(&mut self, request: RefusalRequest) -> Result<RefusalOutcome> {
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        if let Some(recorded) = self.key_outcome(kind, id, &request.idempotency_key) {
            return Ok(RefusalOutcome::AlreadyDecided(recorded));
        }
        if let Some(guard) = request.unless_moved {
            if self.version(&guard.aggregate_kind, guard.aggregate_id.as_str()) > guard.version {
                return Err(Error::StreamMoved {
                    aggregate_kind: guard.aggregate_kind,
                    aggregate_id: guard.aggregate_id.into(),
                    version: guard.version,
                });
            }
        }
        if self.version(kind, id) > request.version {
            return Ok(RefusalOutcome::StreamMoved);
        }
        self.streams
            .entry(request.aggregate_kind)
            .or_default()
            .entry(request.aggregate_id.into())
            .or_default()
            .keys
            .insert(
                request.idempotency_key,
                RecordedOutcome::Rejected(Some(request.error)),
            );
        Ok(RefusalOutcome::Recorded)
    }

    /// Erases the domain errors of the refusals recorded on a stream, and
    /// says how many there were.
    pub(super) fn erase_refusals(&mut self, kind: &str, id: &str) -> u64 {
        let Some(stream) = self.streams.get_mut(kind).and_then(|s| s.get_mut(id)) else {
            return 0;
        };
        let mut erased = 0;
        for outcome in stream.keys.values_mut() {
            if let RecordedOutcome::Rejected(error @ Some(_)) = outcome {
                *error = None;
                erased += 1;
            }
        }
        erased
    }
}
