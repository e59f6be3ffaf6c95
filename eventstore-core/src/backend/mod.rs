//! What only a backend implementer needs: the requests and results of
//! [`EventStore`](crate::EventStore), [`Tracker`](crate::Tracker) and
//! [`ReactorStore`](crate::reactor::ReactorStore) (the traits a backend
//! implements, which application code names too and so sit where it finds
//! them), the helpers that keep every backend alike, and, with the feature
//! `conformance`, the suites a backend must pass (the module `conformance`).
//!
//! ```
//! use eventstore_core::backend::{AppendOutcome, AppendRequest, NewEvent};
//! use eventstore_core::{EventStore, MemoryStore};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eventstore_core::Result<()> {
//! let store = MemoryStore::new();
//! let opened = NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" }))?;
//! let outcome = store.append(AppendRequest::new("Account", "acc-1".parse()?, 0).event(opened)).await?;
//! assert!(matches!(outcome, AppendOutcome::Committed(events) if events[0].version == 1));
//! # Ok(()) }
//! ```

pub use crate::deadlines::{DeadlineSummary, DeadlinesAt, PendingDeadline};
pub use crate::envelope::{NewEvent, StreamEvent};
pub use crate::forget::ERASED_ERROR;
pub use crate::json::{JsonText, stored_body, stored_json};
pub use crate::keys::{RecordedOutcome, RefusalOutcome, RefusalRequest};
pub use crate::partition::{Partition, stream_hash};
pub use crate::reactor::store::{
    Joined, Lease, Repartitioned, lowest_checkpoint, repartition_from,
};
pub use crate::store::{AppendOutcome, AppendRequest, LoadedStream, Snapshot};
pub use crate::tracker::{ReadPage, UnreadableEvent};
pub use crate::wakeups::Wakeups;

#[cfg(feature = "conformance")]
pub mod conformance;
