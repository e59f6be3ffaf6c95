//! Folding a stream into an aggregate's state, a page of events at a time,
//! so that a load holds at most one page in memory however long the stream.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Loaded;
use crate::aggregate::Aggregate;
use crate::envelope::StreamEvent;
use crate::error::{Error, Result};
use crate::id::AggregateId;
use crate::store::{EventStore, LoadedStream, Snapshot};

/// How many events a load reads and holds at once, unless set with
/// [`Repository::page_size`](crate::Repository::page_size): a longer
/// stream is read in pages of this many events, each folded into the state
/// before the next is read.
///
/// A page costs a round trip more than reading the stream in one go: on
/// PostgreSQL a replay of 100,000 events ran at 1.45x of a plain select
/// of its rows in pages of 4,096 and at 1.64x in one read, of 10,000 or
/// fewer alike (`cargo bench -p eventstore-postgres --bench store --
/// loads`), and grew the process by 0.9 MiB at its peak, where reading
/// the whole stream at once had grown it by 155 MiB (`--bench memory --
/// replay`).
pub const DEFAULT_PAGE_SIZE: usize = 4_096;

/// Reads and folds the pages of one stream.
pub(super) struct Replay<'a, S> {
    pub(super) store: &'a S,
    pub(super) aggregate_id: &'a AggregateId,
    pub(super) page_size: usize,
    /// Counts the snapshots a load could not use.
    pub(super) ignored_snapshots: &'a AtomicU64,
}

impl<S: EventStore> Replay<'_, S> {
    /// Turns a loaded stream (its first page of events) into state, reading
    /// the pages that follow, and falling back to a full replay when the
    /// snapshot is of another schema (that [`Aggregate::upcast_state`] does
    /// not read) or cannot be decoded. Also says whether the snapshot read
    /// should be replaced: it was of another schema (upcast or ignored), or
    /// could not be decoded.
    pub(super) async fn rebuild<A: Aggregate>(
        &self,
        stream: LoadedStream,
    ) -> Result<(Loaded<A>, bool)> {
        let Some(snapshot) = stream.snapshot else {
            let (mut state, mut version) = (A::default(), 0);
            self.fold(&mut state, &mut version, Some(stream.events))
                .await?;
            return Ok((Loaded { state, version }, false));
        };
        let replace = snapshot.schema_version != A::SNAPSHOT_VERSION;
        match restore::<A>(&snapshot) {
            Ok(mut state) => {
                let mut version = snapshot.version;
                self.fold(&mut state, &mut version, Some(stream.events))
                    .await?;
                Ok((Loaded { state, version }, replace))
            }
            Err(reason) => {
                self.ignored_snapshots.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    kind = A::KIND,
                    aggregate_id = self.aggregate_id.as_str(),
                    snapshot_version = snapshot.version,
                    reason,
                    "ignoring unreadable snapshot, replaying all events"
                );
                let (mut state, mut version) = (A::default(), 0);
                self.fold(&mut state, &mut version, None).await?;
                Ok((Loaded { state, version }, true))
            }
        }
    }

    /// Folds into `state`, which stands at `version`, the events after it:
    /// `first` (a page read with this replay's page size), or, when it is
    /// `None`, the first page read now; then page after page until a page
    /// is short. `version` follows each event folded, so that on an error
    /// (an event that does not decode, a page that cannot be read) `state`
    /// and `version` still agree: a state the stream had, which
    /// [`execute_from`](super::Repository::execute_from) leaves to its
    /// caller.
    pub(super) async fn fold<A: Aggregate>(
        &self,
        state: &mut A,
        version: &mut u64,
        first: Option<Vec<StreamEvent>>,
    ) -> Result<()> {
        let mut page = match first {
            Some(page) => page,
            None => self.page::<A>(*version).await?,
        };
        loop {
            let full = page.len() >= self.page_size;
            self.fold_page(state, version, &page)?;
            if !full {
                return Ok(());
            }
            // the page is folded: free it before the next one is read
            drop(std::mem::take(&mut page));
            page = self.page::<A>(*version).await?;
        }
    }

    /// Applies a page's events in order, moving `version` on with each.
    /// Each event must come after the one before (and the first after
    /// `version`): a store that returned them out of order would fold a
    /// wrong state, and a page that did not move on would be read again and
    /// again.
    fn fold_page<A: Aggregate>(
        &self,
        state: &mut A,
        version: &mut u64,
        events: &[StreamEvent],
    ) -> Result<()> {
        let id = self.aggregate_id.as_str();
        for event in events {
            if event.version <= *version {
                return Err(Error::UnexpectedReply {
                    problem: format!(
                        "the store returned version {} of {} {id:?} after version {version}",
                        event.version,
                        A::KIND
                    ),
                });
            }
            for decoded in event.decode_all::<A::Event>(A::KIND, id)? {
                state.apply(&decoded);
            }
            *version = event.version;
        }
        Ok(())
    }

    async fn page<A: Aggregate>(&self, after_version: u64) -> Result<Vec<StreamEvent>> {
        self.store
            .load_page(
                A::KIND,
                self.aggregate_id.as_str(),
                after_version,
                self.page_size,
            )
            .await
    }
}

/// Decodes a snapshot's state, straight from its JSON text when it is of
/// the current schema, through [`Aggregate::upcast_state`] when it is of
/// another; or says why it cannot be used.
fn restore<A: Aggregate>(snapshot: &Snapshot) -> std::result::Result<A, String> {
    if snapshot.schema_version == A::SNAPSHOT_VERSION {
        return snapshot.state.decode().map_err(|e| e.to_string());
    }
    let stale = || {
        format!(
            "schema version {} is not the current {}",
            snapshot.schema_version,
            A::SNAPSHOT_VERSION
        )
    };
    let state = snapshot.state.to_value().map_err(|e| e.to_string())?;
    A::upcast_state(snapshot.schema_version, state).ok_or_else(stale)
}
