//! [`StreamAt`]: a stream that must not have moved past a version, the
//! guard of an append or a refusal.

use crate::aggregate::Aggregate;
use crate::id::AggregateId;

/// A stream and a version of it: see
/// [`AppendRequest::unless_moved`](crate::backend::AppendRequest::unless_moved)
/// and [`RefusalRequest::unless_moved`](crate::backend::RefusalRequest::unless_moved).
///
/// ```
/// # use eventstore_core::doc::Account;
/// use eventstore_core::StreamAt;
/// let account = StreamAt::of::<Account>("acc-1".parse()?, 1);
/// assert_eq!((account.aggregate_kind.as_str(), account.version), ("Account", 1));
/// # Ok::<(), eventstore_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAt {
    /// The aggregate kind of the stream.
    pub aggregate_kind: String,
    /// The aggregate id of the stream.
    pub aggregate_id: AggregateId,
    /// The version.
    pub version: u64,
}

impl StreamAt {
    /// The stream of the aggregate `A` with id `aggregate_id`, at `version`.
    #[must_use]
    pub fn of<A: Aggregate>(aggregate_id: AggregateId, version: u64) -> Self {
        Self::of_kind(A::KIND, aggregate_id, version)
    }

    /// The stream of kind `aggregate_kind` with id `aggregate_id`, at
    /// `version`: for a kind known only at run time (a tool, a backend's
    /// tests); otherwise [`of`](Self::of) names the kind by its type.
    ///
    /// ```
    /// use eventstore_core::StreamAt;
    /// let transfer = StreamAt::of_kind("Transfer", "tx-1".parse()?, 1);
    /// assert_eq!(transfer.aggregate_id, *"tx-1");
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn of_kind(
        aggregate_kind: impl Into<String>,
        aggregate_id: AggregateId,
        version: u64,
    ) -> Self {
        Self {
            aggregate_kind: aggregate_kind.into(),
            aggregate_id,
            version,
        }
    }
}
