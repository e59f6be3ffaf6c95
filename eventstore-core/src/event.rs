//! The [`Event`] trait: a closed set of event kinds with JSON bodies.

use crate::json::EventBody;

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

    /// The stable kind name of this event.
    fn kind(&self) -> &'static str;

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
}
