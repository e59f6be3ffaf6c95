//! What an idempotency key records: the first decision made under it,
//! refusals included, and the request that records a refusal.

use crate::id::AggregateId;
use crate::json::JsonText;
use crate::stream_at::StreamAt;

/// The first decision recorded under an idempotency key on a stream.
///
/// An append with the key records [`Applied`](Self::Applied); a command
/// with the key that its decision refused records
/// [`Rejected`](Self::Rejected), through [`EventStore::record_refusal`].
/// Whichever comes first stays: a later command with the key gets it back
/// and is not decided again.
///
/// [`EventStore::record_refusal`]: crate::EventStore::record_refusal
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedOutcome {
    /// An append with the key committed.
    Applied,
    /// A decision refused the command: its domain error as JSON, or `None`
    /// once a [forget](crate::EventStore::forget) of the stream erased it
    /// (it may have quoted personal data).
    Rejected(Option<JsonText>),
}

/// A refusal to record under an idempotency key, for
/// [`EventStore::record_refusal`](crate::EventStore::record_refusal).
///
/// ```
/// use eventstore_core::backend::{JsonText, RefusalRequest};
/// let error = JsonText::encode(&serde_json::json!({ "InsufficientFunds": { "balance": 3 } }))?;
/// let request = RefusalRequest::new("Account", "acc-1".parse()?, "tx-1/withdraw", 4, error);
/// assert_eq!((request.idempotency_key.as_str(), request.version), ("tx-1/withdraw", 4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RefusalRequest {
    /// The aggregate kind of the stream.
    pub aggregate_kind: String,
    /// The aggregate id of the stream.
    pub aggregate_id: AggregateId,
    /// The command's idempotency key.
    pub idempotency_key: String,
    /// The version of the stream the decision refused: the refusal is
    /// recorded only while the stream is still at it.
    pub version: u64,
    /// The domain error, as JSON.
    pub error: JsonText,
    /// Another stream that must not have moved past a version, as for the
    /// command's append ([`Options::unless_moved`](crate::Options::unless_moved)):
    /// the refusal is recorded only then, checked by the store in the same
    /// step; else it is [`Error::StreamMoved`](crate::Error::StreamMoved)
    /// (unless the key has an outcome, which stands).
    pub unless_moved: Option<StreamAt>,
}

impl RefusalRequest {
    /// The refusal, decided on `aggregate_kind`/`aggregate_id` at
    /// `version`, of the command with `idempotency_key`.
    #[must_use]
    pub fn new(
        aggregate_kind: impl Into<String>,
        aggregate_id: AggregateId,
        idempotency_key: impl Into<String>,
        version: u64,
        error: JsonText,
    ) -> Self {
        Self {
            aggregate_kind: aggregate_kind.into(),
            aggregate_id,
            idempotency_key: idempotency_key.into(),
            version,
            error,
            unless_moved: None,
        }
    }

    /// Records it only while `stream` has not moved past its version: see
    /// [`unless_moved`](Self#structfield.unless_moved).
    #[must_use]
    pub fn unless_moved(mut self, stream: StreamAt) -> Self {
        self.unless_moved = Some(stream);
        self
    }
}

/// What [`EventStore::record_refusal`](crate::EventStore::record_refusal)
/// did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefusalOutcome {
    /// The refusal is now the key's recorded outcome.
    Recorded,
    /// The key already had an outcome, which stands: nothing written.
    AlreadyDecided(RecordedOutcome),
    /// The stream has moved past the version the decision saw, and the
    /// key has no outcome yet: nothing written; decide again.
    StreamMoved,
}
