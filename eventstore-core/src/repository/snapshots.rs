//! When to snapshot, and writing snapshots off the command's path.

use std::collections::HashMap;

use crate::aggregate::Aggregate;
use crate::error::ErrorChain;
use crate::id::AggregateId;
use crate::json::JsonText;
use crate::store::{EventStore, Snapshot};

/// How often each aggregate kind is snapshotted, in versions; 0 is never.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SnapshotPolicy {
    pub(crate) every: u64,
    pub(crate) per_kind: HashMap<String, u64>,
}

impl SnapshotPolicy {
    /// How often `kind` is snapshotted, in versions; 0 is never.
    pub(crate) fn every(&self, kind: &str) -> u64 {
        self.per_kind.get(kind).copied().unwrap_or(self.every)
    }

    /// Whether moving from `before` to `after` crosses a snapshot boundary.
    pub(crate) fn is_due(&self, kind: &str, before: u64, after: u64) -> bool {
        let every = self.every(kind);
        every > 0 && before / every != after / every
    }
}

/// Serializes the state now and stores it in the background. Failures are
/// logged and never reach the command. `forgets` is how many times the
/// stream had been forgotten when the state was loaded.
pub(crate) fn save_in_background<A: Aggregate, S: EventStore>(
    store: &S,
    aggregate_id: &AggregateId,
    (version, forgets): (u64, u64),
    state: &A,
) {
    let state = match JsonText::encode(state) {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(kind = A::KIND, aggregate_id = aggregate_id.as_str(), version, %error, "cannot serialize snapshot");
            return;
        }
    };
    let snapshot = Snapshot {
        aggregate_kind: A::KIND.to_owned(),
        aggregate_id: aggregate_id.clone(),
        version,
        forgets,
        schema_version: A::SNAPSHOT_VERSION,
        state,
    };
    let store = store.clone();
    let write = async move {
        let (kind, id, version) = (
            snapshot.aggregate_kind.clone(),
            snapshot.aggregate_id.clone(),
            snapshot.version,
        );
        if let Err(error) = store.save_snapshot(snapshot).await {
            tracing::warn!(kind, aggregate_id = id.as_str(), version, error = %ErrorChain(&error), "snapshot write failed");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(write)),
        Err(_) => tracing::warn!(
            kind = A::KIND,
            aggregate_id = aggregate_id.as_str(),
            "no tokio runtime: snapshot skipped"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_a_multiple_is_crossed() {
        let policy = SnapshotPolicy {
            every: 10,
            per_kind: HashMap::from([("Rare".to_owned(), 0)]),
        };
        assert!(!policy.is_due("Any", 0, 9));
        assert!(policy.is_due("Any", 9, 10));
        assert!(policy.is_due("Any", 8, 12));
        assert!(!policy.is_due("Any", 10, 19));
        assert!(!policy.is_due("Rare", 0, 100));
        assert!(!SnapshotPolicy::default().is_due("Any", 0, 1_000));
    }
}
