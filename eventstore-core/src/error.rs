//! The one error type of this crate and of its backends, and how to
//! print it with its causes.

mod import;
mod upcast;

use std::borrow::Cow;
use std::fmt;

pub use import::ImportProblem;
pub use upcast::UpcastError;

/// Why an aggregate id was refused (what [`IdProblem::of`] finds). With
/// serde, so that a domain error that quotes it can be recorded under an
/// idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum IdProblem {
    /// The id is the empty string.
    Empty,
    /// The id is longer than [`MAX_ID_BYTES`](crate::MAX_ID_BYTES).
    TooLong {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The id contains a control character (newline, NUL, escape...).
    ControlCharacter {
        /// The byte offset of the first one.
        at: usize,
    },
}

/// The result type of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while storing, loading or deciding.
///
/// Every variant names the value or row it is about. Domain rejections come
/// back as [`Outcome::Rejected`](crate::Outcome::Rejected), which
/// [`Outcome::into_result`](crate::Outcome::into_result) turns into
/// [`Error::Rejected`] for callers that propagate them with `?`. Print an
/// error with its causes with [`ErrorChain`]; [`is_transient`](Self::is_transient)
/// says whether a retry as it is may succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An aggregate id was refused before anything was written.
    #[error("invalid aggregate id {id:?}: {problem}")]
    InvalidId {
        /// The id as given (cut to 300 bytes when very long).
        id: String,
        /// What is wrong with it.
        problem: IdProblem,
    },

    /// A stored event has a kind that the event type does not know.
    #[error(
        "unknown event kind {kind:?} in {aggregate_kind} {aggregate_id:?} at version {version}"
    )]
    UnknownEventKind {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version of the event in its stream.
        version: u64,
        /// The unknown kind name.
        kind: String,
    },

    /// A stored event body does not decode into its payload type.
    #[error(
        "cannot decode the body of {kind:?} in {aggregate_kind} {aggregate_id:?} at version {version}"
    )]
    UndecodableBody {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version of the event in its stream.
        version: u64,
        /// The event kind.
        kind: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },

    /// A stored event of an older schema version (or an old kind name)
    /// could not be brought to the current one: no upcaster reads it, one
    /// failed, or they loop.
    #[error(
        "cannot upcast {kind:?} (schema version {schema_version}) in {aggregate_kind} \
         {aggregate_id:?} at version {version}"
    )]
    Upcast {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version of the event in its stream.
        version: u64,
        /// The stored kind name.
        kind: String,
        /// The schema version the row was written at.
        schema_version: u32,
        /// What went wrong, and where in the chain.
        #[source]
        source: UpcastError,
    },

    /// An event to append has schema version 0; versions start at 1.
    #[error("event {kind:?} has schema version 0; schema versions start at 1")]
    ZeroSchemaVersion {
        /// The event kind.
        kind: String,
    },

    /// An event could not be encoded as a JSON object.
    #[error("cannot encode event {kind:?} as a JSON object")]
    Encode {
        /// The event kind.
        kind: String,
        /// What serde said, when serde failed; `None` when the payload
        /// encoded to something that is not a JSON object.
        #[source]
        source: Option<serde_json::Error>,
    },

    /// The metadata of an append could not be encoded as JSON.
    #[error("cannot encode the metadata of an append to {aggregate_kind} {aggregate_id:?}")]
    EncodeMetadata {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },

    /// Another writer appended to the stream first.
    #[error(
        "version conflict on {aggregate_kind} {aggregate_id:?}: expected version {expected_version} \
         was already taken (after {attempts} attempt(s))"
    )]
    Conflict {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version the writer expected the stream to be at.
        expected_version: u64,
        /// How many times the command was decided before giving up.
        attempts: u32,
    },

    /// The stream that an append's
    /// [`unless_moved`](crate::backend::AppendRequest::unless_moved) names has events
    /// after the version it names: nothing was written.
    #[error(
        "{aggregate_kind} {aggregate_id:?} has moved past version {version}, which the \
         command required"
    )]
    StreamMoved {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The version it was required to be at.
        version: u64,
    },

    /// The command was rejected by its aggregate: the domain error that
    /// [`Outcome::into_result`](crate::Outcome::into_result) turned into
    /// this one error type. Nothing was written; get it back with
    /// [`Error::rejection`].
    #[error("the command was rejected: {0}")]
    Rejected(Box<dyn std::error::Error + Send + Sync>),

    /// A command with an idempotency key was refused, but its domain error
    /// does not encode as JSON, so the refusal cannot be recorded under the
    /// key: nothing was written.
    #[error(
        "cannot record the refusal of a command on {aggregate_kind} {aggregate_id:?} under the \
         idempotency key {key:?}: its domain error does not encode as JSON"
    )]
    UnrecordableRejection {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The idempotency key.
        key: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },

    /// The refusal recorded under an idempotency key does not decode into
    /// the command's domain error type (which changed since, or is another
    /// command's): nothing was written.
    #[error(
        "cannot decode the refusal recorded on {aggregate_kind} {aggregate_id:?} under the \
         idempotency key {key:?}"
    )]
    UndecodableRejection {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// The idempotency key.
        key: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },

    /// A stored event row cannot be read: a column holds what the store's
    /// own code never writes (an id that is no event id, metadata of another
    /// shape). A reactor parks it and goes on.
    #[error(
        "unreadable event row at position {position} ({aggregate_kind} {aggregate_id:?} \
         version {version}): {problem}"
    )]
    CorruptRow {
        /// The row's global position.
        position: u64,
        /// The aggregate kind of its stream.
        aggregate_kind: String,
        /// The aggregate id of its stream.
        aggregate_id: String,
        /// Its version in the stream, as stored.
        version: i64,
        /// What is wrong with it.
        problem: String,
    },

    /// The database returned what the backend's own statements never
    /// return, where no event row can be named (a missing row, a column
    /// whose row is unknown): the tables were changed by other means.
    #[error("unexpected reply from the database: {problem}")]
    UnexpectedReply {
        /// What was wrong.
        problem: String,
    },

    /// A bulk import refused a line of its input: nothing of the input was
    /// imported.
    #[error("cannot import line {line}: {problem}; nothing was imported")]
    Import {
        /// The line's number in the input, from 1.
        line: u64,
        /// What is wrong with it.
        problem: ImportProblem,
    },

    /// An option was given a value that cannot work.
    #[error("invalid option {option} = {value}: allowed {allowed}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// The value given.
        value: String,
        /// The values allowed.
        allowed: &'static str,
    },

    /// A runner was started with another partition count than the live
    /// runners of the same reactor: they would split the streams
    /// differently and deliver some events twice and others never.
    #[error(
        "reactor {reactor:?} runs with {running} partition(s) now; a runner with {requested} \
         cannot join: stop every runner first, then start them all with the new count"
    )]
    PartitionCountMismatch {
        /// The reactor.
        reactor: String,
        /// The count of the live runners (or of the stored checkpoints).
        running: u32,
        /// The count this runner was started with.
        requested: u32,
    },

    /// A reactor's stored checkpoint is ahead of anything the database has
    /// handed out: it was restored from a logical dump, whose transaction
    /// ids start lower. Reading on would see no new event.
    #[error(
        "reactor {reactor:?} partition {partition}: checkpoint transaction {checkpoint_tx} is \
         ahead of the database's next transaction id {next_tx}, as after a restore from a \
         logical dump; reset the reactor's checkpoints (Runner::reset, `sagas reactor reset`)"
    )]
    CheckpointAhead {
        /// The reactor.
        reactor: String,
        /// The partition.
        partition: u32,
        /// The transaction id of the stored checkpoint.
        checkpoint_tx: u64,
        /// The next transaction id the database will hand out.
        next_tx: u64,
    },

    /// An operation that needs a reactor's runners stopped found some live.
    #[error("reactor {reactor:?} has {live} live runner(s): stop them first")]
    RunnersLive {
        /// The reactor.
        reactor: String,
        /// How many runners are live.
        live: u32,
    },

    /// A number does not fit where it must be stored or compared.
    #[error("{what} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// What the number is.
        what: &'static str,
        /// The value given.
        value: String,
        /// The values allowed.
        allowed: &'static str,
    },

    /// The store cannot hold the JSON of an append: PostgreSQL's `jsonb`
    /// refuses `\u0000` in a string, a lone UTF-16 surrogate and a number
    /// beyond `numeric`, which serde writes (the in-memory store holds any
    /// JSON). Nothing was written; the same append fails again.
    #[error(
        "the store cannot hold the JSON of an append to {aggregate_kind} {aggregate_id:?}: {problem}"
    )]
    UnstorableJson {
        /// The aggregate kind of the stream.
        aggregate_kind: String,
        /// The aggregate id of the stream.
        aggregate_id: String,
        /// What the store said of it.
        problem: String,
    },

    /// The backend's database failed: connection lost, database down,
    /// timeout, a statement refused. Built by a backend with
    /// [`Error::backend`] or [`Error::transient`].
    #[error("{what}")]
    #[non_exhaustive]
    Backend {
        /// What failed, in a few words ("cannot connect to PostgreSQL").
        what: Cow<'static, str>,
        /// Whether the same call may succeed when made again: see
        /// [`Error::is_transient`].
        transient: bool,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether this is a version [`Conflict`](Error::Conflict), which a
    /// retry with fresh state may resolve.
    ///
    /// ```
    /// # use eventstore_core::Error;
    /// let e = Error::Conflict {
    ///     aggregate_kind: "Account".into(),
    ///     aggregate_id: "a-1".into(),
    ///     expected_version: 3,
    ///     attempts: 1,
    /// };
    /// assert!(e.is_conflict());
    /// ```
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Whether the same call may succeed when made again as it is: a
    /// [`Conflict`](Error::Conflict) (after a fresh load, which
    /// [`Repository::execute`](crate::Repository::execute) makes), or a
    /// [`Backend`](Error::Backend) failure that its backend marked
    /// transient (a lost connection, a timeout, a serialization failure or
    /// deadlock). Everything else fails again the same way: an invalid id
    /// or option, a rejection, a corrupt row, a number out of range.
    ///
    /// ```
    /// # use eventstore_core::Error;
    /// let lost = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// assert!(Error::transient("the query failed", lost).is_transient());
    /// let refused = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    /// assert!(!Error::backend("the query failed", refused).is_transient());
    /// ```
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Conflict { .. } => true,
            Self::Backend { transient, .. } => *transient,
            _ => false,
        }
    }

    /// A failure of the backend's database that will happen again when the
    /// call is made again (a statement refused, a URL that does not parse):
    /// `what` says what failed, in a few words, and `source` is the
    /// database's error.
    ///
    /// ```
    /// # use eventstore_core::{Error, ErrorChain};
    /// let error = Error::backend("cannot read the stream", "permission denied");
    /// assert_eq!(ErrorChain(&error).to_string(), "cannot read the stream: permission denied");
    /// assert!(!error.is_transient());
    /// ```
    pub fn backend(
        what: impl Into<Cow<'static, str>>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            what: what.into(),
            transient: false,
            source: source.into(),
        }
    }

    /// A failure of the backend's database that the same call may not meet
    /// again: a lost connection, I/O, a pool or statement timeout, a
    /// serialization failure or deadlock.
    ///
    /// ```
    /// # use eventstore_core::Error;
    /// let error = Error::transient("cannot connect to the database", "connection refused");
    /// assert!(error.is_transient());
    /// ```
    pub fn transient(
        what: impl Into<Cow<'static, str>>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            what: what.into(),
            transient: true,
            source: source.into(),
        }
    }

    /// The domain error of a [`Rejected`](Error::Rejected) command, when it
    /// is a `D`.
    ///
    /// ```
    /// # use eventstore_core::doc::{Account, AccountError};
    /// use eventstore_core::{MemoryStore, Options, Repository};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let repo = Repository::new(MemoryStore::new());
    /// let withdraw = |a: &Account| a.withdraw(5);
    /// let error = repo.execute("acc-1", Options::default(), withdraw).await?.into_result().unwrap_err();
    /// assert_eq!(error.rejection::<AccountError>(), Some(&AccountError::NotOpen));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rejection<D: std::error::Error + 'static>(&self) -> Option<&D> {
        match self {
            Self::Rejected(rejection) => rejection.downcast_ref(),
            _ => None,
        }
    }
}

/// An error and its causes on one line, separated by `": "`: what a log
/// line or a command-line program prints.
///
/// ```
/// use eventstore_core::{Error, ErrorChain};
/// let error = Error::backend("cannot connect to the database", "connection refused");
/// assert_eq!(error.to_string(), "cannot connect to the database");
/// assert_eq!(
///     ErrorChain(&error).to_string(),
///     "cannot connect to the database: connection refused"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
