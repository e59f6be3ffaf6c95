//! The [`EventStore`] trait that every backend implements.

use std::future::Future;

use crate::envelope::{Metadata, NewEvent, RecordedEvent, StreamEvent};
use crate::error::{Error, Result};
use crate::forget::{ForgetRequest, Forgotten};
use crate::id::AggregateId;
use crate::json::JsonText;
use crate::keys::{RecordedOutcome, RefusalOutcome, RefusalRequest};
use crate::stream_at::StreamAt;

/// One atomic append to one stream.
///
/// ```
/// use eventstore_core::Metadata;
/// use eventstore_core::backend::{AppendRequest, NewEvent};
/// let request = AppendRequest::new("Account", "acc-1".parse()?, 0)
///     .idempotency_key("tx-1/open")
///     .metadata(Metadata::default().actor("alice"))
///     .event(NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" }))?);
/// assert_eq!(request.events.len(), 1);
/// # Ok::<(), eventstore_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AppendRequest {
    /// The aggregate kind of the stream.
    pub aggregate_kind: String,
    /// The aggregate id of the stream.
    pub aggregate_id: AggregateId,
    /// The version the stream must be at; the events get the next versions.
    pub expected_version: u64,
    /// When set, the append happens at most once per stream and key.
    pub idempotency_key: Option<String>,
    /// Stored with every event of the append.
    pub metadata: Metadata,
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// Another stream that must not have moved past a version: the append
    /// takes place only then, checked by the append itself.
    pub unless_moved: Option<StreamAt>,
}

impl AppendRequest {
    /// An append of no events yet, to the given stream at the given version.
    #[must_use]
    pub fn new(
        aggregate_kind: impl Into<String>,
        aggregate_id: AggregateId,
        expected_version: u64,
    ) -> Self {
        Self {
            aggregate_kind: aggregate_kind.into(),
            aggregate_id,
            expected_version,
            idempotency_key: None,
            metadata: Metadata::default(),
            events: Vec::new(),
            unless_moved: None,
        }
    }

    /// Appends only if `stream` has no event after its version, checked by
    /// the append itself: a command that depends on another aggregate's
    /// state (a saga step on a transfer that may have moved on) needs no
    /// read of it. When the stream has moved on, the append fails with
    /// [`Error::StreamMoved`] and writes nothing.
    ///
    /// The check sees the other stream as the append's own statement sees
    /// it: an event on it that commits while the append runs is not seen,
    /// as it would not be by a read just before. It takes no lock on that
    /// stream, so it orders the append after writes that came before it,
    /// not against concurrent ones.
    ///
    /// ```
    /// use eventstore_core::StreamAt;
    /// use eventstore_core::backend::AppendRequest;
    /// let request = AppendRequest::new("Account", "acc-1".parse()?, 3)
    ///     .unless_moved(StreamAt::of_kind("Transfer", "tx-1".parse()?, 1));
    /// assert_eq!(request.unless_moved.map(|s| s.version), Some(1));
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn unless_moved(mut self, stream: StreamAt) -> Self {
        self.unless_moved = Some(stream);
        self
    }

    /// Makes the append idempotent under this key.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sets the metadata stored with every event.
    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Adds one event.
    #[must_use]
    pub fn event(mut self, event: NewEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Checks what a store must refuse before writing that the types do
    /// not: that every event has a kind name and a schema version from 1
    /// (its body is an [`EventBody`](crate::EventBody), a JSON object, and
    /// the id an [`AggregateId`], each checked when it was made).
    ///
    /// # Errors
    /// [`Error::Encode`] for an empty kind, [`Error::ZeroSchemaVersion`].
    pub fn validate(&self) -> Result<()> {
        for event in &self.events {
            if event.kind.is_empty() {
                return Err(Error::Encode {
                    kind: event.kind.clone(),
                    source: None,
                });
            }
            if event.schema_version == 0 {
                return Err(Error::ZeroSchemaVersion {
                    kind: event.kind.clone(),
                });
            }
        }
        Ok(())
    }
}

/// What an append did.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// The events were written, with these envelopes.
    Committed(Vec<RecordedEvent>),
    /// The idempotency key was used by an append before on this stream:
    /// nothing written.
    AlreadyApplied,
    /// The idempotency key's first decision on this stream was a refusal
    /// ([`RecordedOutcome::Rejected`]): nothing written.
    AlreadyRejected(Option<JsonText>),
}

/// The state of an aggregate at a version, as a JSON document.
///
/// ```
/// use eventstore_core::{EventStore, MemoryStore};
/// use eventstore_core::backend::{JsonText, Snapshot};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let store = MemoryStore::new();
/// let at = |version| Snapshot {
///     aggregate_kind: "Account".into(),
///     aggregate_id: "acc-1".parse().unwrap(),
///     version,
///     forgets: 0,
///     schema_version: 1,
///     state: JsonText::from(serde_json::json!({ "balance": version })),
/// };
/// store.save_snapshot(at(20)).await?;
/// store.save_snapshot(at(10)).await?; // older: ignored
/// assert_eq!(store.load_snapshot("Account", "acc-1").await?.map(|s| s.version), Some(20));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The aggregate kind.
    pub aggregate_kind: String,
    /// The aggregate id.
    pub aggregate_id: AggregateId,
    /// The version of the last event folded into the state.
    pub version: u64,
    /// How many times the stream had been [forgotten](EventStore::forget)
    /// when the state was loaded ([`LoadedStream::forgets`]). A store
    /// refuses a snapshot with fewer than its count now: its state may hold
    /// what a later forget erased (a command that loaded before the forget
    /// and appended after it). A snapshot read from a store has the store's
    /// count.
    pub forgets: u64,
    /// [`Aggregate::SNAPSHOT_VERSION`](crate::Aggregate::SNAPSHOT_VERSION)
    /// of the code that wrote it.
    pub schema_version: u32,
    /// The serialized state, as JSON text: the repository decodes the
    /// aggregate from it in one pass.
    pub state: JsonText,
}

/// What the repository needs before it decides a command.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadedStream {
    /// The latest snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// The first events after the snapshot (after version 0 when there is
    /// none), in version order, at most as many as the read's limit: as
    /// many means that more may follow, which
    /// [`EventStore::load_page`] reads.
    pub events: Vec<StreamEvent>,
    /// What the command's idempotency key recorded on the stream, if it
    /// was used; when it was, the rest may be left empty.
    pub key_outcome: Option<RecordedOutcome>,
    /// How many times the stream had been forgotten when it was read, in the
    /// same read as the events (see [`Snapshot::forgets`]).
    pub forgets: u64,
}

/// A store of event streams, one per aggregate: the system of record.
///
/// Every method is atomic. Implementations are cheap handles (`Clone`) to
/// shared state, so that background work such as snapshotting can hold one.
///
/// What writes takes an [`AggregateId`], checked when it was made, so a
/// store does not check ids; the reads take the id as text, and an id that
/// no [`AggregateId`] can have matches no stream.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Appends the events of one command atomically, after checking the
    /// idempotency key, then the [`unless_moved`](AppendRequest::unless_moved)
    /// stream, then the expected version.
    ///
    /// An empty request writes nothing and returns `Committed(vec![])`.
    ///
    /// # Errors
    /// [`Error::StreamMoved`] when the `unless_moved` stream has moved on;
    /// [`Error::Conflict`] (with `attempts: 1`) when the stream is not at
    /// `expected_version`; [`Error::Encode`] from
    /// [`AppendRequest::validate`]; [`Error::Backend`].
    fn append(&self, request: AppendRequest) -> impl Future<Output = Result<AppendOutcome>> + Send;

    /// The events of one stream with a version above `after_version`, in
    /// version order, with their whole envelopes, in memory at once: for
    /// tools and tests. A load folds a stream a page at a time instead
    /// ([`load_page`](Self::load_page)).
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn load(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>>> + Send;

    /// A page of one stream's events as a load folds them (version, kind
    /// and body, without the rest of the envelope): the first `limit` with
    /// a version above `after_version`, in version order (none for a limit
    /// of 0). A page with fewer than `limit` events is the end of the
    /// stream as the read saw it.
    ///
    /// [`Repository`](crate::Repository) folds a stream a page at a time,
    /// each read after the last version of the page before, so that a long
    /// stream never sits in memory whole; an event appended between two
    /// reads only makes the stream longer.
    ///
    /// ```
    /// # use eventstore_core::doc::{AccountEvent, MoneyWithdrawn};
    /// use eventstore_core::{EventStore, MemoryStore};
    /// use eventstore_core::backend::{AppendRequest, NewEvent};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let store = MemoryStore::new();
    /// let withdrawn = NewEvent::encode(&AccountEvent::from(MoneyWithdrawn { amount: 5 }))?;
    /// let mut request = AppendRequest::new("Account", "acc-1".parse()?, 0);
    /// request.events = vec![withdrawn; 5];
    /// store.append(request).await?;
    /// let page = store.load_page("Account", "acc-1", 1, 3).await?;
    /// assert_eq!(page.iter().map(|e| e.version).collect::<Vec<_>>(), [2, 3, 4]);
    /// assert_eq!(page[0].decode::<AccountEvent>("Account", "acc-1")?, MoneyWithdrawn { amount: 5 }.into());
    /// assert_eq!(store.load_page("Account", "acc-1", 4, 3).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn load_page(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StreamEvent>>> + Send;

    /// The latest snapshot of one stream.
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn load_snapshot(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<Option<Snapshot>>> + Send;

    /// Stores a snapshot, unless a later one is already stored or the
    /// stream was [forgotten](Self::forget) at or after its version (its
    /// state was folded from events the forget erased).
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn save_snapshot(&self, snapshot: Snapshot) -> impl Future<Output = Result<()>> + Send;

    /// What was recorded under an idempotency key on the stream: `None`
    /// while the key is unused.
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn idempotency_key_outcome(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<RecordedOutcome>>> + Send;

    /// Records that a command with an idempotency key was refused by its
    /// decision, atomically: only while the key has no outcome (an append
    /// with it, or an earlier refusal) and the stream is still at the
    /// version the decision saw, and the stream its
    /// [`unless_moved`](RefusalRequest::unless_moved) names has not moved
    /// past its version. The first decision for a key wins, also against a
    /// concurrent append with the same key.
    ///
    /// ```
    /// use eventstore_core::backend::{JsonText, RecordedOutcome, RefusalOutcome, RefusalRequest};
    /// use eventstore_core::{EventStore, MemoryStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let error = JsonText::encode(&"NotOpen")?;
    /// let refusal = RefusalRequest::new("Account", "acc-1".parse()?, "tx-1/withdraw", 0, error.clone());
    /// assert_eq!(store.record_refusal(refusal.clone()).await?, RefusalOutcome::Recorded);
    /// let recorded = RecordedOutcome::Rejected(Some(error));
    /// assert_eq!(store.record_refusal(refusal).await?, RefusalOutcome::AlreadyDecided(recorded.clone()));
    /// let outcome = store.idempotency_key_outcome("Account", "acc-1", "tx-1/withdraw").await?;
    /// assert_eq!(outcome, Some(recorded));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::StreamMoved`] when the key has no outcome and the stream
    /// that `unless_moved` names has moved on; [`Error::Backend`]. Nothing
    /// is written then.
    fn record_refusal(
        &self,
        request: RefusalRequest,
    ) -> impl Future<Output = Result<RefusalOutcome>> + Send;

    /// Erases personal data from one aggregate, in one transaction: the
    /// request's fields of its events' bodies become `null` (rows, versions,
    /// positions and ids stay), its snapshots lose the request's fields or
    /// are deleted, and every other copy the store keeps of those bodies is
    /// erased alike. The domain errors of the refusals recorded under
    /// idempotency keys on the stream are erased too (they may quote
    /// personal data; each key keeps that it was refused:
    /// [`RecordedOutcome::Rejected`]`(None)`), counted as
    /// [`Forgotten::copies`]. The version the stream is at is recorded: a snapshot
    /// at or below it, folded before the forget, is not stored afterwards.
    /// Returns how many rows changed; a repeated request, or one for an
    /// aggregate the store does not hold, changes none.
    ///
    /// ```
    /// use eventstore_core::doc::{Account, AccountEvent, Opened};
    /// use eventstore_core::{AggregateId, EventStore, ForgetRequest, MemoryStore};
    /// use eventstore_core::backend::{AppendRequest, NewEvent};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let opened = AccountEvent::from(Opened { owner: Some("Ada".into()), balance: 5 });
    /// let id: AggregateId = "acc-1".parse()?;
    /// let request = AppendRequest::new("Account", id.clone(), 0).event(NewEvent::encode(&opened)?);
    /// store.append(request).await?;
    ///
    /// let forgotten = store.forget(&ForgetRequest::personal::<Account>(id.clone())).await?;
    /// assert_eq!(forgotten.events, 1);
    /// let body = &store.load("Account", "acc-1", 0).await?[0].body;
    /// assert_eq!(body.to_value()?, serde_json::json!({ "owner": null, "balance": 5 }));
    /// assert_eq!(store.forget(&ForgetRequest::personal::<Account>(id)).await?.total(), 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Backend`]; nothing is changed then.
    fn forget(&self, request: &ForgetRequest) -> impl Future<Output = Result<Forgotten>> + Send;

    /// Everything a command needs, in as few round trips as the backend can:
    /// the key check, the latest snapshot and the first `limit` events
    /// after it (see [`load_page`](Self::load_page) for what follows). The
    /// default calls the three methods above in turn.
    ///
    /// # Errors
    /// [`Error::Backend`].
    fn load_stream(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<LoadedStream>> + Send {
        async move {
            if let Some(key) = idempotency_key {
                let key_outcome = self
                    .idempotency_key_outcome(aggregate_kind, aggregate_id, key)
                    .await?;
                if key_outcome.is_some() {
                    return Ok(LoadedStream {
                        key_outcome,
                        ..LoadedStream::default()
                    });
                }
            }
            let snapshot = self.load_snapshot(aggregate_kind, aggregate_id).await?;
            let after = snapshot.as_ref().map_or(0, |s| s.version);
            let events = self
                .load_page(aggregate_kind, aggregate_id, after, limit)
                .await?;
            // without a snapshot this read cannot tell: 0 makes a store
            // refuse snapshots of a forgotten stream, which is safe
            let forgets = snapshot.as_ref().map_or(0, |s| s.forgets);
            Ok(LoadedStream {
                snapshot,
                events,
                key_outcome: None,
                forgets,
            })
        }
    }
}
