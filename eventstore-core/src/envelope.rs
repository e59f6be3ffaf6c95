//! The envelope around an event: identity, stream, version, metadata, time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::event::schema::{Decoded, UpcastError};
use crate::event::{DecodeError, Event};
use crate::json::EventBody;

/// A globally unique, time-ordered event id: an [xid], 20 characters.
///
/// [xid]: https://github.com/rs/xid
///
/// ```
/// use eventstore_core::EventId;
/// let id = EventId::new();
/// assert_eq!(id.to_string().len(), 20);
/// assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(xid::Id);

impl EventId {
    /// A new id, later than every id made before it in this process.
    #[must_use]
    #[allow(clippy::new_without_default)] // a fresh id is not a "default"
    pub fn new() -> Self {
        Self(xid::new())
    }

    /// A new id that carries `time` (to the second) instead of now: for
    /// events brought in from another system, whose ids then sort by the
    /// events' own times. It is as unique as [`new`](Self::new): the rest of
    /// the id (machine, process, counter) comes from this process's next id.
    /// `None` for a time an xid cannot hold (before 1970, or from 2106 on).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use eventstore_core::EventId;
    /// let time = UNIX_EPOCH + Duration::from_secs(1_704_067_200); // 2024-01-01
    /// let (a, b) = (EventId::at(time).unwrap(), EventId::at(time).unwrap());
    /// assert_eq!(a.created_at(), time);
    /// assert!(a < b);
    /// assert!(EventId::at(time + Duration::from_secs(1)).unwrap() > b);
    /// assert!(EventId::at(UNIX_EPOCH - Duration::from_secs(1)).is_none());
    /// ```
    #[must_use]
    pub fn at(time: SystemTime) -> Option<Self> {
        let seconds = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        let seconds = u32::try_from(seconds).ok()?;
        let xid::Id(mut raw) = xid::new();
        raw[..4].copy_from_slice(&seconds.to_be_bytes());
        Some(Self(xid::Id(raw)))
    }

    /// When the id was made, to the second.
    ///
    /// ```
    /// use eventstore_core::EventId;
    /// let age = EventId::new().created_at().elapsed().unwrap_or_default();
    /// assert!(age.as_secs() < 2);
    /// ```
    #[must_use]
    pub fn created_at(&self) -> SystemTime {
        self.0.time()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0)
    }
}

/// A text that is not an xid.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an event id (20 base32hex characters)")]
pub struct ParseEventIdError(String);

impl FromStr for EventId {
    type Err = ParseEventIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse()
            .map(Self)
            .map_err(|_| ParseEventIdError(s.to_owned()))
    }
}

/// Who and what caused an event: stored beside it, never part of its body.
///
/// ```
/// use eventstore_core::Metadata;
/// let m = Metadata::default()
///     .correlation_id("transfer-7")
///     .causation_id("evt-1")
///     .actor("alice")
///     .with("channel", "web");
/// assert_eq!(m.extra["channel"], "web");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// Groups every event of one business process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The id of the event or command that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// The user or service that issued the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Free key/values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Metadata {
    /// Sets the correlation id.
    #[must_use]
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets the causation id.
    #[must_use]
    pub fn causation_id(mut self, id: impl Into<String>) -> Self {
        self.causation_id = Some(id.into());
        self
    }

    /// Sets the actor.
    #[must_use]
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Adds a free key/value.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// An event about to be appended: its kind, the schema version of its
/// body, and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The kind name.
    pub kind: String,
    /// The schema version the body is written at (see
    /// [`schema`](crate::schema)); 1 for a kind that never changed.
    pub schema_version: u32,
    /// The body, a JSON object.
    pub body: EventBody,
}

impl NewEvent {
    /// Encodes a typed event, at its kind's current schema version.
    ///
    /// # Errors
    /// [`Error::Encode`] when the payload does not encode to a JSON object.
    pub fn encode<E: Event>(event: &E) -> Result<Self> {
        Ok(Self {
            kind: event.kind().to_owned(),
            schema_version: event.schema_version(),
            body: event.to_body()?,
        })
    }

    /// An event of kind `kind`, schema version 1, whose body is already
    /// an [`EventBody`].
    ///
    /// ```
    /// use eventstore_core::EventBody;
    /// use eventstore_core::backend::NewEvent;
    /// let event = NewEvent::of("Closed", EventBody::empty());
    /// assert_eq!((event.kind.as_str(), event.schema_version), ("Closed", 1));
    /// ```
    #[must_use]
    pub fn of(kind: impl Into<String>, body: EventBody) -> Self {
        Self {
            kind: kind.into(),
            schema_version: 1,
            body,
        }
    }

    /// The same event, written at schema version `version`: for tools
    /// and tests that write rows as an older release did.
    ///
    /// ```
    /// use eventstore_core::backend::NewEvent;
    /// let old = NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" }))?.schema_version(2);
    /// assert_eq!(old.schema_version, 2);
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn schema_version(mut self, version: u32) -> Self {
        self.schema_version = version;
        self
    }

    /// An event of kind `kind`, schema version 1, whose body is `body`,
    /// which must be a JSON object: for tools and tests that write events
    /// without their type.
    ///
    /// ```
    /// use eventstore_core::backend::NewEvent;
    /// let event = NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" }))?;
    /// assert_eq!(event.body.as_str(), r#"{"owner":"Ada"}"#);
    /// assert!(NewEvent::new("Opened", &serde_json::json!([1])).is_err());
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Encode`] naming the kind when `body` is not an object.
    pub fn new(kind: impl Into<String>, body: &Value) -> Result<Self> {
        let kind = kind.into();
        match EventBody::try_from(body) {
            Ok(body) => Ok(Self::of(kind, body)),
            Err(_) => Err(Error::Encode { kind, source: None }),
        }
    }
}

/// Where a reader is in the global log, in commit order: the committing
/// transaction first, then the position within it.
///
/// ```
/// use eventstore_core::Checkpoint;
/// let a = Checkpoint { tx: 7, position: 40 };
/// let b = Checkpoint { tx: 8, position: 12 }; // committed later, numbered earlier
/// assert!(a < b);
/// assert!(Checkpoint::BEGINNING < a);
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Checkpoint {
    /// The id of the transaction that wrote the event.
    pub tx: u64,
    /// The global position of the event.
    pub position: u64,
}

impl Checkpoint {
    /// Before the first event.
    pub const BEGINNING: Self = Self { tx: 0, position: 0 };
}

/// An event as stored: the envelope and its body, still JSON text (decode
/// it with [`decode`](Self::decode)).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Unique, time-ordered id.
    pub id: EventId,
    /// Global position, unique and increasing in numbering order (not
    /// necessarily in commit order: see [`Checkpoint`]).
    pub position: u64,
    /// The transaction that wrote it.
    pub tx: u64,
    /// The aggregate kind of its stream.
    pub aggregate_kind: String,
    /// The aggregate id of its stream.
    pub aggregate_id: String,
    /// Its version in the stream, from 1.
    pub version: u64,
    /// Its kind name.
    pub kind: String,
    /// The schema version its body was written at.
    pub schema_version: u32,
    /// Its body, a JSON object, as text.
    pub body: EventBody,
    /// Who and what caused it.
    pub metadata: Metadata,
    /// When it was recorded.
    pub recorded_at: SystemTime,
}

impl RecordedEvent {
    /// Where a reader stands once it has read this event.
    #[must_use]
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tx: self.tx,
            position: self.position,
        }
    }

    /// Decodes the typed event, straight from the body's text when the row
    /// is of its kind's current schema version, through its upcasters
    /// when it is older.
    ///
    /// ```
    /// # use eventstore_core::doc::{AccountEvent, MoneyWithdrawn};
    /// use eventstore_core::{Error, EventBody, EventStore, MemoryStore};
    /// use eventstore_core::backend::{AppendRequest, NewEvent};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventstore_core::Result<()> {
    /// let store = MemoryStore::new();
    /// let withdrawn = NewEvent::encode(&AccountEvent::from(MoneyWithdrawn { amount: 5 }))?;
    /// let unknown = NewEvent::of("Teleported", EventBody::empty());
    /// store.append(AppendRequest::new("Account", "acc-1".parse()?, 0).event(withdrawn).event(unknown)).await?;
    /// let events = store.load("Account", "acc-1", 0).await?;
    ///
    /// let first: AccountEvent = events[0].decode()?;
    /// assert_eq!(first, MoneyWithdrawn { amount: 5 }.into());
    /// let error = events[1].decode::<AccountEvent>().unwrap_err();
    /// assert_eq!(error.to_string(), r#"unknown event kind "Teleported" in Account "acc-1" at version 2"#);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownEventKind`], [`Error::UndecodableBody`] or
    /// [`Error::Upcast`] (also for a row that an upcaster split), naming
    /// this event's stream, version and kind.
    pub fn decode<E: Event>(&self) -> Result<E> {
        self.row().decode()
    }

    /// Decodes the events this row reads as: one, unless an upcaster
    /// split the row (or dropped it, see [`schema`](crate::schema)).
    ///
    /// # Errors
    /// As [`decode`](Self::decode), and [`Error::Upcast`] when the row is
    /// of an older version that cannot be brought to the current one.
    pub fn decode_all<E: Event>(&self) -> Result<Decoded<E>> {
        self.row().decode_all()
    }

    fn row(&self) -> Row<'_> {
        Row {
            aggregate_kind: &self.aggregate_kind,
            aggregate_id: &self.aggregate_id,
            version: self.version,
            kind: &self.kind,
            schema_version: self.schema_version,
            body: &self.body,
        }
    }
}

/// An event of a stream as a load folds it: its version, kind and body,
/// without the rest of its envelope, which a store need not read for it
/// (see [`EventStore::load_page`](crate::EventStore::load_page)).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// Its version in the stream, from 1.
    pub version: u64,
    /// Its kind name.
    pub kind: String,
    /// The schema version its body was written at.
    pub schema_version: u32,
    /// Its body, a JSON object, as text.
    pub body: EventBody,
}

impl StreamEvent {
    /// Decodes the typed event of the stream `aggregate_kind`
    /// `aggregate_id` (which the caller read it from), straight from the
    /// body's text.
    ///
    /// ```
    /// # use eventstore_core::doc::{AccountEvent, MoneyWithdrawn};
    /// use eventstore_core::backend::StreamEvent;
    /// let event = StreamEvent { version: 3, kind: "Teleported".into(), schema_version: 1, body: "{}".parse()? };
    /// let error = event.decode::<AccountEvent>("Account", "acc-1").unwrap_err();
    /// assert_eq!(error.to_string(), r#"unknown event kind "Teleported" in Account "acc-1" at version 3"#);
    /// # Ok::<(), eventstore_core::BodyError>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownEventKind`], [`Error::UndecodableBody`] or
    /// [`Error::Upcast`] (also for a row that an upcaster split), naming
    /// the stream, this event's version and its kind.
    pub fn decode<E: Event>(&self, aggregate_kind: &str, aggregate_id: &str) -> Result<E> {
        self.row(aggregate_kind, aggregate_id).decode()
    }

    /// Decodes the events this row reads as: one, unless an upcaster
    /// split the row (or dropped it, see [`schema`](crate::schema)).
    ///
    /// # Errors
    /// As [`decode`](Self::decode), and [`Error::Upcast`] when the row is
    /// of an older version that cannot be brought to the current one.
    pub fn decode_all<E: Event>(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<Decoded<E>> {
        self.row(aggregate_kind, aggregate_id).decode_all()
    }

    fn row<'a>(&'a self, aggregate_kind: &'a str, aggregate_id: &'a str) -> Row<'a> {
        Row {
            aggregate_kind,
            aggregate_id,
            version: self.version,
            kind: &self.kind,
            schema_version: self.schema_version,
            body: &self.body,
        }
    }
}

impl From<&RecordedEvent> for StreamEvent {
    fn from(event: &RecordedEvent) -> Self {
        Self {
            version: event.version,
            kind: event.kind.clone(),
            schema_version: event.schema_version,
            body: event.body.clone(),
        }
    }
}

/// A stored row as decoding sees it, with what its errors name.
struct Row<'a> {
    aggregate_kind: &'a str,
    aggregate_id: &'a str,
    version: u64,
    kind: &'a str,
    schema_version: u32,
    body: &'a EventBody,
}

impl Row<'_> {
    /// The events the row reads as.
    fn decode_all<E: Event>(&self) -> Result<Decoded<E>> {
        E::from_stored(self.kind, self.schema_version, self.body).map_err(|e| match e {
            DecodeError::UnknownKind => Error::UnknownEventKind {
                aggregate_kind: self.aggregate_kind.to_owned(),
                aggregate_id: self.aggregate_id.to_owned(),
                version: self.version,
                kind: self.kind.to_owned(),
            },
            DecodeError::Body(source) => Error::UndecodableBody {
                aggregate_kind: self.aggregate_kind.to_owned(),
                aggregate_id: self.aggregate_id.to_owned(),
                version: self.version,
                kind: self.kind.to_owned(),
                source,
            },
            DecodeError::Upcast(source) => self.upcast_error(source),
        })
    }

    /// The one event the row reads as; a row that an upcaster split into
    /// several, or dropped, is an error.
    fn decode<E: Event>(&self) -> Result<E> {
        self.decode_all()?.single().map_err(|events| {
            self.upcast_error(UpcastError::new(format!(
                "the row reads as {} events, not one: decode it with decode_all",
                events.len()
            )))
        })
    }

    fn upcast_error(&self, source: UpcastError) -> Error {
        Error::Upcast {
            aggregate_kind: self.aggregate_kind.to_owned(),
            aggregate_id: self.aggregate_id.to_owned(),
            version: self.version,
            kind: self.kind.to_owned(),
            schema_version: self.schema_version,
            source,
        }
    }
}
