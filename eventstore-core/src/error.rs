//! The one error type of this crate.

/// Why an aggregate id was refused (what [`IdProblem::of`] finds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
/// Every variant names the value or row it is about. Domain rejections are
/// not errors: they come back as [`Outcome::Rejected`](crate::Outcome::Rejected).
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

    /// An option was given a value that cannot work.
    #[error("option {option} = {value} is out of range: allowed {allowed}")]
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

    /// The store itself failed: connection lost, database down, timeout.
    #[error("event store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
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
}

/// An error and its causes on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
