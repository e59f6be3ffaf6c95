//! [`Repository`]: load, decide, append, retry on conflict.

mod backoff;
mod options;
mod refusals;
mod replay;
mod snapshots;

pub use backoff::{Backoff, MAX_BACKOFF_CAP};
pub use options::{Committed, ErasedRejection, Loaded, Options, Outcome};
use refusals::KeyedCommand;
pub use replay::DEFAULT_PAGE_SIZE;
use replay::Replay;
use snapshots::{SnapshotPolicy, save_in_background};

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aggregate::Aggregate;
use crate::envelope::NewEvent;
use crate::error::{Error, Result};
use crate::id::{AggregateId, IntoAggregateId};
use crate::keys::{RecordedOutcome, RefusalOutcome};
use crate::store::{AppendOutcome, AppendRequest, EventStore, LoadedStream};

/// How many times [`Repository::execute`] decides a command before it gives
/// up on a contended aggregate, unless set with [`Repository::max_attempts`].
///
/// With the default [`Backoff`], 16 writers running commands without a
/// break on one aggregate on PostgreSQL (the `contention` benchmark) needed
/// up to about 40 attempts for their unluckiest command, and 3 on average:
/// a command that loses a race is as likely to lose the next one as a new
/// command is, so the tail is long. A command gives up after at most about
/// 2 s of pauses.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 50;

/// Runs commands against aggregates stored in an [`EventStore`].
///
/// ```
/// # use eventstore_core::doc::{Account, AccountError};
/// use eventstore_core::{MemoryStore, Options, Outcome, Repository};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let repo = Repository::new(MemoryStore::new()).snapshot_every(100);
///
/// let outcome = repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 100)).await?;
/// assert!(matches!(outcome, Outcome::Done(c) if c.version == 1));
///
/// // a rejected command writes nothing
/// let outcome = repo.execute("acc-1", Options::default(), |a: &Account| a.withdraw(500)).await?;
/// assert_eq!(outcome.rejection(), Some(AccountError::InsufficientFunds));
///
/// // an idempotent command takes effect once
/// for _ in 0..2 {
///     repo.execute("acc-1", Options::idempotent("tx-1"), |a: &Account| a.withdraw(30)).await?.into_result()?;
/// }
/// let loaded = repo.load::<Account>("acc-1").await?;
/// assert_eq!((loaded.state.balance, loaded.version), (70, 2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Repository<S> {
    store: S,
    max_attempts: u32,
    backoff: Backoff,
    snapshots: SnapshotPolicy,
    page_size: usize,
    ignored_snapshots: Arc<AtomicU64>,
}

impl<S: EventStore> Repository<S> {
    /// A repository over `store`: no snapshots, [`DEFAULT_MAX_ATTEMPTS`],
    /// the default [`Backoff`], loads in pages of [`DEFAULT_PAGE_SIZE`].
    #[must_use]
    pub fn new(store: S) -> Self {
        Self {
            store,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff: Backoff::default(),
            snapshots: SnapshotPolicy::default(),
            page_size: DEFAULT_PAGE_SIZE,
            ignored_snapshots: Arc::default(),
        }
    }

    /// How many loads found a snapshot they could not use (of another
    /// state schema that [`Aggregate::upcast_state`] did not read, or
    /// undecodable) and replayed the stream from its first event instead,
    /// since this repository was made; its clones share the count. Each
    /// such load also logs a warning that names the aggregate and why.
    ///
    /// ```
    /// # use eventstore_core::{MemoryStore, Repository};
    /// let repo = Repository::new(MemoryStore::new());
    /// assert_eq!(repo.ignored_snapshots(), 0);
    /// ```
    #[must_use]
    pub fn ignored_snapshots(&self) -> u64 {
        self.ignored_snapshots.load(Ordering::Relaxed)
    }

    /// How many events a load reads and holds at once (at least 1): a
    /// longer stream is read in pages of this many, each folded into the
    /// state before the next is read, so that a load's memory does not grow
    /// with the stream. See [`DEFAULT_PAGE_SIZE`].
    ///
    /// ```
    /// # use eventstore_core::{MemoryStore, Repository};
    /// let repo = Repository::new(MemoryStore::new()).page_size(1_000);
    /// ```
    #[must_use]
    pub fn page_size(mut self, events: usize) -> Self {
        self.page_size = events.max(1);
        self
    }

    /// How many times a command is decided when other writers keep winning
    /// the race (at least 1); then [`Error::Conflict`] is returned.
    ///
    /// ```
    /// # use eventstore_core::{MemoryStore, Repository};
    /// let repo = Repository::new(MemoryStore::new()).max_attempts(50);
    /// ```
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How long a command waits after a lost race before it loads the
    /// newer events and decides again: a random pause that grows with each
    /// lost race (see [`Backoff`]; [`Backoff::NONE`] retries at once).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use eventstore_core::{Backoff, MemoryStore, Repository};
    /// let backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(20))?;
    /// let repo = Repository::new(MemoryStore::new()).retry_backoff(backoff);
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn retry_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Snapshots every aggregate each time its version crosses a multiple of
    /// `versions` (0 turns snapshots off). Snapshots are written in the
    /// background and never fail a command.
    ///
    /// ```
    /// # use eventstore_core::{MemoryStore, Repository};
    /// let repo = Repository::new(MemoryStore::new()).snapshot_every(100);
    /// ```
    #[must_use]
    pub fn snapshot_every(mut self, versions: u64) -> Self {
        self.snapshots.every = versions;
        self
    }

    /// Overrides [`snapshot_every`](Self::snapshot_every) for the aggregate
    /// `A` (0 turns them off for it).
    ///
    /// ```
    /// # use eventstore_core::doc::Account;
    /// # use eventstore_core::{MemoryStore, Repository};
    /// let repo = Repository::new(MemoryStore::new())
    ///     .snapshot_every(100)
    ///     .snapshot_every_for::<Account>(0);
    /// ```
    #[must_use]
    pub fn snapshot_every_for<A: Aggregate>(mut self, versions: u64) -> Self {
        self.snapshots.per_kind.insert(A::KIND.to_owned(), versions);
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Loads an aggregate: the latest readable snapshot, then the later
    /// events, folded a page at a time ([`page_size`](Self::page_size)).
    /// The id is text, checked here, or an [`AggregateId`] (see
    /// [`IntoAggregateId`]).
    ///
    /// # Errors
    /// [`Error::InvalidId`], [`Error::UnknownEventKind`],
    /// [`Error::UndecodableBody`], [`Error::Backend`]; [`Error::UnexpectedReply`]
    /// when the store returns events out of version order.
    pub async fn load<A: Aggregate>(
        &self,
        aggregate_id: impl IntoAggregateId,
    ) -> Result<Loaded<A>> {
        let aggregate_id = aggregate_id.into_aggregate_id()?;
        let stream = self
            .store
            .load_stream(A::KIND, aggregate_id.as_str(), None, self.page_size)
            .await?;
        self.rebuild(&aggregate_id, stream).await
    }

    /// Runs one command: loads the aggregate, calls `decide` with its state,
    /// and appends the events it returns at the next versions. When another
    /// writer got there first, it waits a short random pause
    /// ([`retry_backoff`](Self::retry_backoff)), loads the new events and
    /// decides again, up to [`max_attempts`](Self::max_attempts) times.
    ///
    /// With [`Options::idempotent`], the key records the command's first
    /// decision on the aggregate: the append of its events, or its refusal
    /// with the domain error (as JSON, hence `D: Serialize +
    /// DeserializeOwned`), recorded only while the aggregate is still at
    /// the version the decision saw (else it is decided again, as after a
    /// lost race), and not at all with [`Options::refusal_not_final`]. A later command with the key returns
    /// [`Outcome::AlreadyApplied`] or [`Outcome::AlreadyRejected`] without
    /// calling `decide`, also when commands with the same key race: the
    /// first decision wins, and the others return it.
    ///
    /// The id is text, checked here once, or an [`AggregateId`], not
    /// checked again (see [`IntoAggregateId`]).
    ///
    /// # Errors
    /// [`Error::InvalidId`] (nothing is read or written), [`Error::Conflict`]
    /// when every attempt lost the race, [`Error::StreamMoved`] when the
    /// stream that [`Options::unless_moved`] names has moved on, decode
    /// errors of stored events, [`Error::Encode`], [`Error::Backend`];
    /// with a key, [`Error::UnrecordableRejection`] when the domain error
    /// does not encode and [`Error::UndecodableRejection`] when the one
    /// recorded does not decode (nothing is written then).
    pub async fn execute<A, D>(
        &self,
        aggregate_id: impl IntoAggregateId,
        options: Options,
        decide: impl FnMut(&A) -> Result<Vec<A::Event>, D>,
    ) -> Result<Outcome<D>>
    where
        A: Aggregate,
        D: Serialize + DeserializeOwned,
    {
        let aggregate_id = aggregate_id.into_aggregate_id()?;
        // With `expect_new`, the state is assumed (the default at version
        // 0), not loaded, until the store or the decision says otherwise.
        let assumed = options.expect_new;
        let mut held = Loaded {
            state: A::default(),
            version: 0,
        };
        self.run(&aggregate_id, (&mut held, assumed), options, decide)
            .await
    }

    /// Runs one command on a state the caller already holds, as
    /// [`execute`](Self::execute) does but without loading first: `held`
    /// is the aggregate as the caller last saw it (from
    /// [`load`](Self::load), then folded with the events it committed
    /// since), so a caller that runs several commands on one aggregate in a
    /// row reads it once. The decision on `held` is appended at its version
    /// only if the stream is still there; when it has moved on, or the
    /// decision refuses or returns no event, the aggregate is loaded and
    /// the command decided again, exactly as `execute` would have (that
    /// first decision does not count as an attempt). With a key, a key
    /// already used returns what it recorded, as with `execute`.
    ///
    /// On return, `held` is a state the stream had (at `held.version`):
    /// after [`Outcome::Done`], the one the command left; after any other
    /// outcome, the latest one the command saw, which other writers may
    /// have moved on from. So it can be held for the next command.
    ///
    /// A snapshot due after such a command is stored as folded before any
    /// forget of the stream (the store drops it when the stream has been
    /// forgotten since).
    ///
    /// ```
    /// # use eventstore_core::doc::{Account, AccountError};
    /// use eventstore_core::{MemoryStore, Options, Outcome, Repository};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let repo = Repository::new(MemoryStore::new());
    /// repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 10)).await?.into_result()?;
    /// let mut held = repo.load::<Account>("acc-1").await?;
    /// // another writer withdraws in between: the held state is stale
    /// repo.execute("acc-1", Options::default(), |a: &Account| a.withdraw(4)).await?.into_result()?;
    /// let spend = |a: &Account| a.withdraw(8);
    /// let outcome = repo.execute_from("acc-1", &mut held, Options::default(), spend).await?;
    /// // accepted on the held balance of 10, but the stream had moved on:
    /// // decided again on the stored balance of 6
    /// assert_eq!(outcome.rejection(), Some(AccountError::InsufficientFunds));
    /// assert_eq!((held.state.balance, held.version), (6, 2));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    pub async fn execute_from<A, D>(
        &self,
        aggregate_id: impl IntoAggregateId,
        held: &mut Loaded<A>,
        options: Options,
        decide: impl FnMut(&A) -> Result<Vec<A::Event>, D>,
    ) -> Result<Outcome<D>>
    where
        A: Aggregate,
        D: Serialize + DeserializeOwned,
    {
        let aggregate_id = aggregate_id.into_aggregate_id()?;
        self.run(&aggregate_id, (held, true), options, decide).await
    }

    /// The command loop of [`execute`](Self::execute) and
    /// [`execute_from`](Self::execute_from): decides on `held` when it is
    /// `assumed` current, else on the loaded state; leaves in `held` the
    /// state it last decided on, moved on by the events it appended.
    async fn run<A, D>(
        &self,
        aggregate_id: &AggregateId,
        (held, assumed): (&mut Loaded<A>, bool),
        options: Options,
        mut decide: impl FnMut(&A) -> Result<Vec<A::Event>, D>,
    ) -> Result<Outcome<D>>
    where
        A: Aggregate,
        D: Serialize + DeserializeOwned,
    {
        let keyed = options.idempotency_key.as_deref().map(|key| KeyedCommand {
            aggregate_kind: A::KIND,
            aggregate_id,
            key,
            unless_moved: options.unless_moved.as_ref(),
        });
        // A held state is assumed, not loaded, until the store or the
        // decision says otherwise.
        let mut assumed = assumed;
        let mut must_load = !assumed;
        let Loaded { state, version } = held;
        // the forgets the loaded state was folded after: a snapshot of it
        // may hold what a later forget erased (Snapshot::forgets)
        let mut forgets = 0;
        let mut attempt = 1;
        loop {
            if must_load {
                must_load = false;
                match self.load_for::<A>(aggregate_id, &options).await? {
                    ControlFlow::Continue((loaded, seen)) => {
                        (*state, *version, forgets) = (loaded.state, loaded.version, seen);
                    }
                    ControlFlow::Break(recorded) => {
                        return keyed.map_or(Ok(Outcome::AlreadyApplied), |k| k.recorded(recorded));
                    }
                }
            }
            let decided = decide(state);
            if assumed && !matches!(&decided, Ok(events) if !events.is_empty()) {
                // refused, or nothing to do, on a state only assumed: decide
                // on the stored one
                (assumed, must_load) = (false, true);
                continue;
            }
            let events = match (decided, &keyed) {
                (Ok(events), _) => events,
                (Err(rejection), Some(keyed)) if !options.refusal_not_final => {
                    let refusal = keyed.refusal(*version, &rejection)?;
                    match self.store.record_refusal(refusal).await? {
                        RefusalOutcome::Recorded => return Ok(Outcome::Rejected(rejection)),
                        RefusalOutcome::AlreadyDecided(recorded) => {
                            return keyed.recorded(recorded);
                        }
                        RefusalOutcome::StreamMoved => {
                            self.after_lost_race(aggregate_id, state, version, &mut attempt)
                                .await?;
                            continue;
                        }
                    }
                }
                (Err(rejection), _) => return Ok(Outcome::Rejected(rejection)),
            };
            if events.is_empty() {
                return Ok(Outcome::Done(Committed {
                    version: *version,
                    events: Vec::new(),
                    attempts: attempt,
                }));
            }
            let request = AppendRequest {
                idempotency_key: options.idempotency_key.clone(),
                metadata: options.metadata.clone(),
                unless_moved: options.unless_moved.clone(),
                events: events.iter().map(NewEvent::encode).collect::<Result<_>>()?,
                ..AppendRequest::new(A::KIND, aggregate_id.clone(), *version)
            };
            match self.store.append(request).await {
                Ok(AppendOutcome::Committed(recorded)) => {
                    let new_version = *version + recorded.len() as u64;
                    events.iter().for_each(|e| state.apply(e));
                    if self.snapshots.is_due(A::KIND, *version, new_version) {
                        save_in_background(
                            &self.store,
                            aggregate_id,
                            (new_version, forgets),
                            state,
                        );
                    }
                    *version = new_version;
                    return Ok(Outcome::Done(Committed {
                        version: new_version,
                        events: recorded,
                        attempts: attempt,
                    }));
                }
                Ok(AppendOutcome::AlreadyApplied) => return Ok(Outcome::AlreadyApplied),
                Ok(AppendOutcome::AlreadyRejected(error)) => {
                    let recorded = RecordedOutcome::Rejected(error);
                    return keyed
                        .map_or(Ok(Outcome::AlreadyRejected(None)), |k| k.recorded(recorded));
                }
                Err(Error::Conflict { .. }) if assumed => {
                    // not new after all; this attempt does not count
                    (assumed, must_load) = (false, true);
                }
                Err(Error::Conflict { .. }) => {
                    self.after_lost_race(aggregate_id, state, version, &mut attempt)
                        .await?;
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// After the attempt `attempt` lost a race (a version conflict, or a
    /// refusal of a version that is no longer the latest): waits the
    /// backoff, counts the next attempt and folds the newer events into
    /// `state`; or gives up when that was the last attempt.
    ///
    /// # Errors
    /// [`Error::Conflict`] after the last attempt; decode and backend
    /// errors of the load.
    async fn after_lost_race<A: Aggregate>(
        &self,
        aggregate_id: &AggregateId,
        state: &mut A,
        version: &mut u64,
        attempt: &mut u32,
    ) -> Result<()> {
        if *attempt >= self.max_attempts {
            return Err(Error::Conflict {
                aggregate_kind: A::KIND.to_owned(),
                aggregate_id: aggregate_id.to_string(),
                expected_version: *version,
                attempts: *attempt,
            });
        }
        tracing::debug!(
            kind = A::KIND,
            aggregate_id = aggregate_id.as_str(),
            version = *version,
            attempt = *attempt,
            "the stream moved on, deciding again"
        );
        let pause = self.backoff.pause(*attempt);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        *attempt += 1;
        self.replay(aggregate_id).fold(state, version, None).await
    }

    /// What a command needs: the aggregate's state and how many forgets it
    /// was folded after, or what its idempotency key recorded when the key
    /// was used on it.
    async fn load_for<A: Aggregate>(
        &self,
        aggregate_id: &AggregateId,
        options: &Options,
    ) -> Result<ControlFlow<RecordedOutcome, (Loaded<A>, u64)>> {
        let key = options.idempotency_key.as_deref();
        let mut stream = self
            .store
            .load_stream(A::KIND, aggregate_id.as_str(), key, self.page_size)
            .await?;
        if let Some(recorded) = stream.key_outcome.take() {
            return Ok(ControlFlow::Break(recorded));
        }
        let forgets = stream.forgets;
        let loaded = self.rebuild(aggregate_id, stream).await?;
        Ok(ControlFlow::Continue((loaded, forgets)))
    }

    /// The state of a loaded stream. A snapshot of another state schema
    /// (upcast or ignored), or one that did not decode, is replaced, when
    /// this kind is snapshotted at all, by one of the state just rebuilt (in the background, as any snapshot), so that
    /// the next loads read it instead of upcasting or replaying again.
    async fn rebuild<A: Aggregate>(
        &self,
        aggregate_id: &AggregateId,
        stream: LoadedStream,
    ) -> Result<Loaded<A>> {
        let forgets = stream.forgets;
        let (loaded, replace) = self.replay(aggregate_id).rebuild(stream).await?;
        if replace && loaded.version > 0 && self.snapshots.every(A::KIND) > 0 {
            save_in_background(
                &self.store,
                aggregate_id,
                (loaded.version, forgets),
                &loaded.state,
            );
        }
        Ok(loaded)
    }

    /// Folds the events of one stream a page at a time.
    fn replay<'a>(&'a self, aggregate_id: &'a AggregateId) -> Replay<'a, S> {
        Replay {
            store: &self.store,
            aggregate_id,
            page_size: self.page_size,
            ignored_snapshots: &self.ignored_snapshots,
        }
    }
}
