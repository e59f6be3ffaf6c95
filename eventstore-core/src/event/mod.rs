//! The [`Event`] trait: a closed set of event kinds with JSON bodies.

use serde_json::Value;

pub mod schema;

use crate::json::EventBody;
use schema::{Decoded, UpcastError, Upcaster, decode_stored};

/// A family of events, usually an enum with one variant per kind, each
/// wrapping a payload struct. Derive it with `#[derive(Event)]`.
///
/// Each variant has a stable kind name (the name stored beside the body) and
/// its payload is stored as a JSON object.
///
/// ```
/// use eventstore_core::Event;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// pub struct Renamed { pub name: Option<String> }
///
/// #[derive(Event, Debug, PartialEq)]
/// pub enum ProfileEvent {
///     #[event(kind = "profile.renamed", personal(name))]
///     Renamed(Renamed),
/// }
///
/// let event: ProfileEvent = Renamed { name: Some("Ada".into()) }.into();
/// assert_eq!(event.kind(), "profile.renamed");
/// let body = event.to_body().unwrap();
/// assert_eq!(body.as_str(), r#"{"name":"Ada"}"#);
/// assert_eq!(ProfileEvent::from_body("profile.renamed", &body).unwrap(), event);
/// assert_eq!(ProfileEvent::personal_fields("profile.renamed"), ["name"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an event type",
    label = "this type does not implement `Event`",
    note = "add `#[derive(Event)]` to an enum whose variants each wrap one payload struct"
)]
pub trait Event: Sized + Send + Sync + 'static {
    /// Every kind name of this family, in declaration order.
    const KINDS: &'static [&'static str];

    /// The fields of each kind's body that hold personal data, for the kinds
    /// that have some: `(kind, fields)`.
    const PERSONAL_FIELDS: &'static [(&'static str, &'static [&'static str])] = &[];

    /// The current schema version of each kind above version 1:
    /// `(kind, version)`. New rows are written at it; see
    /// [`schema`](crate::schema).
    const VERSIONS: &'static [(&'static str, u32)] = &[];

    /// Old kind names: `(old name, current kind)`. A row stored under an
    /// old name reads as the current kind, at its own version.
    const ALIASES: &'static [(&'static str, &'static str)] = &[];

    /// The upcasters that bring rows of older versions, and of kinds no
    /// variant has any more, to current events.
    const UPCASTERS: &'static [Upcaster] = &[];

    /// The stable kind name of this event.
    fn kind(&self) -> &'static str;

    /// The schema version this event is written at: its kind's current
    /// version.
    fn schema_version(&self) -> u32 {
        Self::current_version(self.kind())
    }

    /// The current schema version of `kind`: what [`VERSIONS`](Self::VERSIONS)
    /// says, or 1.
    #[must_use]
    fn current_version(kind: &str) -> u32 {
        Self::VERSIONS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(1, |(_, version)| *version)
    }

    /// Encodes the payload as a JSON object, in one pass.
    ///
    /// # Errors
    /// [`Error::Encode`](crate::Error::Encode) when serde fails or the payload
    /// is not encoded as an object.
    fn to_body(&self) -> crate::Result<EventBody>;

    /// Decodes an event from its kind name and body: the payload type of
    /// the kind straight from the body's JSON text, in one pass.
    ///
    /// # Errors
    /// [`DecodeError::UnknownKind`] or [`DecodeError::Body`]; a
    /// [`RecordedEvent`](crate::RecordedEvent) turns them into errors that
    /// name the stream and version.
    fn from_body(kind: &str, body: &EventBody) -> Result<Self, DecodeError>;

    /// Decodes an event of the current version of `kind` from a JSON
    /// value: what an upcaster's output is read with. The derive decodes
    /// the payload from the value; this default goes through its text.
    ///
    /// # Errors
    /// As [`from_body`](Self::from_body).
    fn from_value(kind: &str, body: Value) -> Result<Self, DecodeError> {
        let body = EventBody::try_from(&body).map_err(|_| {
            DecodeError::Upcast(UpcastError::new(format!(
                "an upcaster made a body of {kind:?} that is not a JSON object"
            )))
        })?;
        Self::from_body(kind, &body)
    }

    /// Decodes a stored row: kind `kind`, written at schema version
    /// `version`. A row of the kind's current version decodes straight
    /// from its text, as [`from_body`](Self::from_body); an older one, or
    /// one under an old kind name, goes through its upcasters and may
    /// read as several events, or none.
    ///
    /// # Errors
    /// [`DecodeError::UnknownKind`], [`DecodeError::Body`], or
    /// [`DecodeError::Upcast`] when no upcaster reads the row or one
    /// fails.
    fn from_stored(
        kind: &str,
        version: u32,
        body: &EventBody,
    ) -> Result<Decoded<Self>, DecodeError> {
        decode_stored::<Self>(kind, version, body)
    }

    /// Every field that holds personal data in some stored version of the
    /// rows stored as `kind` (a current kind, an old name of one, or a
    /// retired kind): the current version's first, then each older
    /// version's, once each. A forget erases them all, so that a field a
    /// later version renamed is erased from the old rows too.
    #[must_use]
    fn stored_personal_fields(kind: &str) -> Vec<&'static str> {
        let kind = schema::renamed::<Self>(kind).unwrap_or(kind);
        let older = Self::UPCASTERS
            .iter()
            .filter(|u| u.kind == kind)
            .flat_map(|u| u.personal.iter().copied());
        let mut fields: Vec<&'static str> = Vec::new();
        for field in Self::personal_fields(kind).iter().copied().chain(older) {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        fields
    }

    /// The personal fields of one kind (empty when it has none).
    #[must_use]
    fn personal_fields(kind: &str) -> &'static [&'static str] {
        Self::PERSONAL_FIELDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[], |(_, fields)| fields)
    }
}

/// Why [`Event::from_body`] failed, before the stream and version are known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The kind name is not one of [`Event::KINDS`].
    #[error("unknown event kind")]
    UnknownKind,
    /// The body does not match the payload type of the kind.
    #[error("undecodable event body")]
    Body(#[source] serde_json::Error),
    /// The row is of an older version (or an old kind) and could not be
    /// brought to the current one.
    #[error("cannot upcast the event")]
    Upcast(#[source] UpcastError),
}
