//! What a command carries besides its decision, and what it returns.

use crate::envelope::{Metadata, RecordedEvent};
use crate::error::{Error, Result};
use crate::stream_at::StreamAt;

/// Per-command options for [`Repository::execute`](crate::Repository::execute).
///
/// ```
/// use eventstore_core::{Metadata, Options};
/// let options = Options::idempotent("tx-42/withdraw")
///     .metadata(Metadata::default().correlation_id("tx-42"));
/// assert_eq!(options.idempotency_key.as_deref(), Some("tx-42/withdraw"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// When set, the command takes effect at most once per aggregate and key.
    pub idempotency_key: Option<String>,
    /// Stored with every event the command produces.
    pub metadata: Metadata,
    /// The aggregate is most likely new: see [`Options::expect_new`].
    pub expect_new: bool,
    /// Another stream that must not have moved on: see
    /// [`Options::unless_moved`].
    pub unless_moved: Option<StreamAt>,
    /// A refusal is not recorded under the key: see
    /// [`Options::refusal_not_final`].
    pub refusal_not_final: bool,
}

impl Options {
    /// Options for a command that must take effect at most once: the key
    /// records the command's first decision on the aggregate, a refusal
    /// included, and a second execute with the same key returns it
    /// ([`Outcome::AlreadyApplied`] or [`Outcome::AlreadyRejected`]) without
    /// deciding again, and writes nothing.
    #[must_use]
    pub fn idempotent(key: impl Into<String>) -> Self {
        Self {
            idempotency_key: Some(key.into()),
            ..Self::default()
        }
    }

    /// Says the aggregate is most likely new, as for a command that creates
    /// it: the first attempt skips the load and decides on the default
    /// state at version 0, saving a round trip. When the aggregate exists
    /// after all, that append conflicts (or finds the key used), and the
    /// command runs as usual: load, decide again. A decision that refuses
    /// the default state, or decides nothing on it, is also made again on
    /// the loaded state, so the outcome is the same as without the hint.
    ///
    /// ```
    /// # use eventstore_core::doc::{Account, AccountError};
    /// use eventstore_core::{MemoryStore, Options, Outcome, Repository};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let repo = Repository::new(MemoryStore::new());
    /// let open = |a: &Account| a.open("Ada", 10);
    /// let first = repo.execute("acc-1", Options::default().expect_new(), open).await?;
    /// assert!(matches!(first, Outcome::Done(_)));
    /// // not new after all: loaded, decided again, refused as without the hint
    /// let again = repo.execute("acc-1", Options::default().expect_new(), open).await?;
    /// assert_eq!(again.rejection(), Some(AccountError::AlreadyOpen));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn expect_new(mut self) -> Self {
        self.expect_new = true;
        self
    }

    /// With an idempotency key, a refusal is not the key's final outcome:
    /// it is not recorded, and a later command with the key is decided
    /// again (the key still records the command's append, which stays at
    /// most once). For a compensation that must take place in the end, and
    /// whose refusal waits for an operator to make it possible: recorded,
    /// that refusal would be given back to every retry.
    ///
    /// ```
    /// # use eventstore_core::doc::Account;
    /// use eventstore_core::{MemoryStore, Options, Outcome, Repository};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let repo = Repository::new(MemoryStore::new());
    /// repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 10)).await?.into_result()?;
    /// let refund = Options::idempotent("t-1/refund").refusal_not_final();
    /// let first = repo.execute("acc-1", refund.clone(), |a: &Account| a.withdraw(20)).await?;
    /// assert!(matches!(first, Outcome::Rejected(_)));
    /// let again = repo.execute("acc-1", refund, |a: &Account| a.withdraw(5)).await?;
    /// assert!(matches!(again, Outcome::Done(_)), "decided again");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn refusal_not_final(mut self) -> Self {
        self.refusal_not_final = true;
        self
    }

    /// Appends only while another stream has no event after a version,
    /// checked by the append itself, as
    /// [`AppendRequest::unless_moved`](crate::backend::AppendRequest::unless_moved)
    /// says:
    /// a saga step that must run only while its process is at a step needs
    /// no read of the process. When the stream has moved on, `execute`
    /// returns [`Error::StreamMoved`](crate::Error::StreamMoved) and writes
    /// nothing.
    ///
    /// ```
    /// # use eventstore_core::doc::Account;
    /// use eventstore_core::{Error, MemoryStore, Options, Repository, StreamAt};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let repo = Repository::new(MemoryStore::new());
    /// repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 10)).await?.into_result()?;
    /// let while_new = Options::default().unless_moved(StreamAt::of::<Account>("acc-1".parse()?, 0));
    /// let refused = repo.execute("acc-1", while_new, |a: &Account| a.withdraw(1)).await;
    /// assert!(matches!(refused, Err(Error::StreamMoved { version: 0, .. })));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn unless_moved(mut self, stream: StreamAt) -> Self {
        self.unless_moved = Some(stream);
        self
    }

    /// Sets the metadata stored with the events.
    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// What a command did.
///
/// ```
/// # use eventstore_core::doc::{Account, AccountError};
/// use eventstore_core::{MemoryStore, Options, Outcome, Repository};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let repo = Repository::new(MemoryStore::new());
/// let key = || Options::idempotent("open-once");
/// match repo.execute("acc-1", key(), |a: &Account| a.open("Ada", 10)).await? {
///     Outcome::Done(committed) => assert_eq!(committed.events[0].kind, "Opened"),
///     Outcome::AlreadyApplied | Outcome::AlreadyRejected(_) => unreachable!("first time"),
///     Outcome::Rejected(error) => panic!("{error:?}"),
/// }
/// let again = repo.execute("acc-1", key(), |a: &Account| a.open("Ada", 10)).await?;
/// assert_eq!(again, Outcome::AlreadyApplied);
/// let refused = repo.execute("acc-1", Options::default(), |a: &Account| a.open("Ada", 10)).await?;
/// assert_eq!(refused.rejection(), Some(AccountError::AlreadyOpen));
/// // a refusal under a key is recorded: the key gives it back, undecided
/// let refused = repo.execute("acc-1", key_2(), |a: &Account| a.withdraw(50)).await?;
/// assert_eq!(refused, Outcome::Rejected(AccountError::InsufficientFunds));
/// let again = repo.execute("acc-1", key_2(), |a: &Account| a.withdraw(5)).await?;
/// assert_eq!(again, Outcome::AlreadyRejected(Some(AccountError::InsufficientFunds)));
/// # Ok(()) }
/// # fn key_2() -> Options { Options::idempotent("withdraw-once") }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Outcome<D> {
    /// The decision's events were appended (none, if it decided nothing).
    Done(Committed),
    /// The idempotency key was used before on this aggregate by a command
    /// that was done: nothing written, nothing decided.
    AlreadyApplied,
    /// The decision refused the command: nothing written but, with an
    /// idempotency key, the refusal under the key.
    Rejected(D),
    /// The idempotency key's first decision on this aggregate was a
    /// refusal: its domain error, or `None` when a
    /// [forget](crate::EventStore::forget) of the aggregate erased it.
    /// Nothing written, nothing decided.
    AlreadyRejected(Option<D>),
}

impl<D> Outcome<D> {
    /// The domain error, if the command was rejected now or, under its
    /// idempotency key, before (`None` also when a forget erased that one).
    pub fn rejection(self) -> Option<D> {
        match self {
            Self::Rejected(d) | Self::AlreadyRejected(Some(d)) => Some(d),
            Self::Done(_) | Self::AlreadyApplied | Self::AlreadyRejected(None) => None,
        }
    }

    /// The outcome as the one error type, for callers that propagate a
    /// rejection with `?`: what was committed, `None` when the idempotency
    /// key was already used by a command that was done, or
    /// [`Error::Rejected`] carrying the domain error (which
    /// [`Error::rejection`] gives back) when the command was rejected, now
    /// or under its key before; an [`ErasedRejection`] in place of the
    /// domain error when a forget erased that one.
    ///
    /// ```
    /// # use eventstore_core::doc::{Account, AccountError};
    /// use eventstore_core::{MemoryStore, Options, Repository};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let repo = Repository::new(MemoryStore::new());
    /// let once = || Options::idempotent("open-once");
    /// let committed = repo.execute("acc-1", once(), |a: &Account| a.open("Ada", 10)).await?.into_result()?;
    /// assert_eq!(committed.map(|c| c.version), Some(1));
    /// let again = repo.execute("acc-1", once(), |a: &Account| a.open("Ada", 10)).await?.into_result()?;
    /// assert!(again.is_none(), "already applied");
    /// let refused = repo.execute("acc-1", Options::default(), |a: &Account| a.withdraw(50)).await?.into_result();
    /// assert_eq!(refused.unwrap_err().to_string(), "the command was rejected: not enough money");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Rejected`] when the command was rejected.
    pub fn into_result(self) -> Result<Option<Committed>>
    where
        D: std::error::Error + Send + Sync + 'static,
    {
        match self {
            Self::Done(committed) => Ok(Some(committed)),
            Self::AlreadyApplied => Ok(None),
            Self::Rejected(rejection) | Self::AlreadyRejected(Some(rejection)) => {
                Err(Error::Rejected(Box::new(rejection)))
            }
            Self::AlreadyRejected(None) => Err(Error::Rejected(Box::new(ErasedRejection))),
        }
    }
}

/// The domain error that [`Outcome::into_result`] puts in
/// [`Error::Rejected`] for [`Outcome::AlreadyRejected`]`(None)`: the command
/// was refused under its idempotency key before, and a forget erased why.
///
/// ```
/// use eventstore_core::{Error, ErasedRejection, Outcome};
/// let error = Outcome::<ErasedRejection>::AlreadyRejected(None).into_result().unwrap_err();
/// assert!(error.rejection::<ErasedRejection>().is_some());
/// assert_eq!(
///     error.to_string(),
///     "the command was rejected: it was refused before under the same idempotency key \
///      (the error was erased by a forget)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("it was refused before under the same idempotency key (the error was erased by a forget)")]
pub struct ErasedRejection;

/// The events a command appended.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The aggregate's version after the command.
    pub version: u64,
    /// The appended events, with their envelopes.
    pub events: Vec<RecordedEvent>,
    /// How many times [`execute`](crate::Repository::execute) decided the
    /// command: 1 when no other writer got in the way, one more for each
    /// version conflict it lost. (With [`Options::expect_new`], a decision
    /// on the assumed new state that turned out wrong does not count.)
    pub attempts: u32,
}

/// An aggregate's state and the version it is at.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<A> {
    /// The state.
    pub state: A,
    /// The version of the last event folded in (0 for a new aggregate).
    pub version: u64,
}
