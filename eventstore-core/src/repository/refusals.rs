//! A command's refusal under its idempotency key: recorded as the key's
//! outcome, and given back to every later command with the key.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Outcome;
use crate::error::{Error, Result};
use crate::id::AggregateId;
use crate::json::JsonText;
use crate::keys::{RecordedOutcome, RefusalRequest};
use crate::stream_at::StreamAt;

/// The command with `key` on one stream.
pub(super) struct KeyedCommand<'a> {
    pub(super) aggregate_kind: &'static str,
    pub(super) aggregate_id: &'a AggregateId,
    pub(super) key: &'a str,
    /// The stream the command's writes are guarded by, if any.
    pub(super) unless_moved: Option<&'a StreamAt>,
}

impl KeyedCommand<'_> {
    /// The request that records `rejection`, decided on the stream at
    /// `version`, under the key, guarded as the command's append is. (Made before the store is called, so that
    /// the command's future holds no reference to the domain error across
    /// the call, and needs it `Send` only, not `Sync`.)
    ///
    /// # Errors
    /// [`Error::UnrecordableRejection`] when it does not encode (nothing is
    /// written).
    pub(super) fn refusal<D: Serialize>(
        &self,
        version: u64,
        rejection: &D,
    ) -> Result<RefusalRequest> {
        let error = JsonText::encode(rejection).map_err(|source| Error::UnrecordableRejection {
            aggregate_kind: self.aggregate_kind.to_owned(),
            aggregate_id: self.aggregate_id.to_string(),
            key: self.key.to_owned(),
            source,
        })?;
        let request = RefusalRequest::new(
            self.aggregate_kind,
            self.aggregate_id.clone(),
            self.key,
            version,
            error,
        );
        Ok(match self.unless_moved {
            Some(guard) => request.unless_moved(guard.clone()),
            None => request,
        })
    }

    /// What the key recorded, as the command's outcome.
    ///
    /// # Errors
    /// [`Error::UndecodableRejection`] when the recorded domain error does
    /// not decode into `D`.
    pub(super) fn recorded<D: DeserializeOwned>(
        &self,
        recorded: RecordedOutcome,
    ) -> Result<Outcome<D>> {
        match recorded {
            RecordedOutcome::Applied => Ok(Outcome::AlreadyApplied),
            RecordedOutcome::Rejected(None) => Ok(Outcome::AlreadyRejected(None)),
            RecordedOutcome::Rejected(Some(error)) => error
                .decode()
                .map(|d| Outcome::AlreadyRejected(Some(d)))
                .map_err(|source| Error::UndecodableRejection {
                    aggregate_kind: self.aggregate_kind.to_owned(),
                    aggregate_id: self.aggregate_id.to_string(),
                    key: self.key.to_owned(),
                    source,
                }),
        }
    }
}
