//! JSON as text: [`EventBody`], the body of an event, and [`JsonText`], a
//! snapshot's state. Both keep the JSON text as it was written or read, so
//! that a store hands it on without parsing it and a typed event or state
//! is decoded from it in one pass.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A JSON text, kept as text: cheap to clone (shared), decoded on demand.
///
/// Equality compares the JSON values, not the texts: `{"a": 1, "b": 2}`
/// equals `{"b":2,"a":1}` (a database may store JSON in a form of its own).
/// With serde it is the JSON value itself, not a string holding it.
///
/// ```
/// use eventstore_core::backend::JsonText;
/// let state = JsonText::parse(r#"{"balance": 5}"#)?;
/// assert_eq!(state.decode::<serde_json::Value>()?["balance"], 5);
/// assert_eq!(state, JsonText::from(&serde_json::json!({ "balance": 5 })));
/// assert!(JsonText::parse("{").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct JsonText(Arc<str>);

impl JsonText {
    /// Checks that `text` is JSON that parses into a value and keeps it.
    ///
    /// The check parses the value, not only the syntax: a number beyond
    /// `f64` (`1e400`) is JSON, but [`to_value`](Self::to_value), equality
    /// and serde could not read it back.
    ///
    /// # Errors
    /// serde's error when it is not.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str::<Value>(text)?;
        Ok(Self(text.into()))
    }

    /// Encodes a value as JSON.
    ///
    /// ```
    /// use eventstore_core::backend::JsonText;
    /// let text = JsonText::encode(&[1, 2])?;
    /// assert_eq!(text.as_str(), "[1,2]");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    /// serde's error when the value cannot be encoded (a map whose keys are
    /// not strings, a `Serialize` impl that fails).
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(|text| Self(text.into()))
    }

    /// A text that a database has already checked to be JSON (PostgreSQL's
    /// `jsonb`), kept without checking it again. Were it not JSON after
    /// all, decoding it would fail with serde's error, as for any text
    /// that does not match its type.
    pub(crate) fn trusted(text: &str) -> Self {
        Self(text.into())
    }

    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Decodes the text into `T`, in one pass.
    ///
    /// # Errors
    /// serde's error when the text does not match `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// The JSON value, parsed (for code that edits or inspects it).
    ///
    /// # Errors
    /// serde's error for a text that is not JSON (only a store that handed
    /// out text it had not checked makes one), or nested deeper than serde
    /// parses (128 levels).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        self.decode()
    }
}

impl From<&Value> for JsonText {
    fn from(value: &Value) -> Self {
        Self(value.to_string().into())
    }
}

impl From<Value> for JsonText {
    fn from(value: Value) -> Self {
        Self::from(&value)
    }
}

impl FromStr for JsonText {
    type Err = serde_json::Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
            || matches!(
                (self.to_value(), other.to_value()),
                (Ok(a), Ok(b)) if a == b
            )
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonText({})", self.0)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // through a value, so that every serde format gets the JSON value
        // (serde_json's raw values are a private protocol of serde_json)
        self.to_value()
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from)
    }
}

/// The body of an event: the JSON text of an object, kept as text.
///
/// A store hands the body on as it read it, and
/// [`RecordedEvent::decode`](crate::RecordedEvent::decode) decodes the typed
/// event from the text in one pass. Clones share the text. Equality
/// compares the JSON values, not the texts: PostgreSQL stores `jsonb` in a
/// form of its own (keys ordered, spaces after colons and commas).
///
/// ```
/// use eventstore_core::EventBody;
/// use serde_json::json;
/// let body = EventBody::parse(r#"{"amount": 5}"#)?;
/// assert_eq!(body, EventBody::try_from(json!({ "amount": 5 }))?);
/// assert_eq!(body.to_value()?, json!({ "amount": 5 }));
/// assert_eq!(body.to_string(), r#"{"amount": 5}"#);
/// assert!(EventBody::parse("[5]").is_err(), "not an object");
/// assert!(EventBody::try_from(json!(5)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct EventBody(JsonText);

impl EventBody {
    /// Checks that `text` is a JSON object and keeps it.
    ///
    /// # Errors
    /// [`BodyError::NotJson`] or [`BodyError::NotAnObject`].
    pub fn parse(text: &str) -> Result<Self, BodyError> {
        Self::object(JsonText::parse(text).map_err(BodyError::NotJson)?)
    }

    /// An empty object, `{}`.
    #[must_use]
    pub fn empty() -> Self {
        Self(JsonText::trusted("{}"))
    }

    /// Encodes a payload, which must encode as a JSON object.
    ///
    /// # Errors
    /// [`BodyError::NotJson`] when serde fails, [`BodyError::NotAnObject`]
    /// when the payload encodes as something else (a number, a list).
    pub fn encode<T: Serialize + ?Sized>(payload: &T) -> Result<Self, BodyError> {
        Self::object(JsonText::encode(payload).map_err(BodyError::NotJson)?)
    }

    /// Text that a database has already checked to be JSON, kept without
    /// parsing it: only that it is an object is checked, in constant time
    /// (a JSON text whose first character is `{` is an object).
    pub(crate) fn trusted(text: &str) -> Result<Self, BodyError> {
        Self::object(JsonText::trusted(text))
    }

    /// Keeps `json` if it is an object. Encoded or checked JSON holds no
    /// space before its value, so its first byte says.
    fn object(json: JsonText) -> Result<Self, BodyError> {
        if json.as_str().trim_start().starts_with('{') {
            Ok(Self(json))
        } else {
            Err(BodyError::NotAnObject)
        }
    }

    /// The JSON text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The body as JSON text of any kind.
    #[must_use]
    pub fn as_json(&self) -> &JsonText {
        &self.0
    }

    /// Decodes the text into `T`, in one pass.
    ///
    /// # Errors
    /// serde's error when the text does not match `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.0.decode()
    }

    /// The JSON object, parsed (for code that edits or inspects it).
    ///
    /// # Errors
    /// See [`JsonText::to_value`].
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        self.0.to_value()
    }
}

impl TryFrom<Value> for EventBody {
    type Error = BodyError;
    fn try_from(value: Value) -> Result<Self, BodyError> {
        Self::try_from(&value)
    }
}

impl TryFrom<&Value> for EventBody {
    type Error = BodyError;
    fn try_from(value: &Value) -> Result<Self, BodyError> {
        if value.is_object() {
            Ok(Self(JsonText::from(value)))
        } else {
            Err(BodyError::NotAnObject)
        }
    }
}

impl From<serde_json::Map<String, Value>> for EventBody {
    fn from(object: serde_json::Map<String, Value>) -> Self {
        Self(JsonText::from(Value::Object(object)))
    }
}

impl FromStr for EventBody {
    type Err = BodyError;
    fn from_str(text: &str) -> Result<Self, BodyError> {
        Self::parse(text)
    }
}

impl fmt::Display for EventBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for EventBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventBody({})", self.as_str())
    }
}

impl Serialize for EventBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::try_from(value).map_err(serde::de::Error::custom)
    }
}

/// An event body as a store reads it back: JSON text that its database has
/// already checked (PostgreSQL's `jsonb`), kept without parsing it again.
/// Only that it is an object is checked, in constant time; were the text
/// not JSON after all, decoding it would fail as for any body that does not
/// match its type ([`Error::UndecodableBody`](crate::Error::UndecodableBody)).
///
/// ```
/// use eventstore_core::backend::stored_body;
/// assert_eq!(stored_body(r#"{"amount": 5}"#)?.as_str(), r#"{"amount": 5}"#);
/// assert!(stored_body("[5]").is_err());
/// # Ok::<(), eventstore_core::BodyError>(())
/// ```
///
/// # Errors
/// [`BodyError::NotAnObject`].
pub fn stored_body(text: &str) -> Result<EventBody, BodyError> {
    EventBody::trusted(text)
}

/// A snapshot's state as a store reads it back: JSON text that its
/// database has already checked, kept without parsing it again (see
/// [`stored_body`]).
///
/// ```
/// use eventstore_core::backend::stored_json;
/// assert_eq!(stored_json("[1, 2]").as_str(), "[1, 2]");
/// ```
#[must_use]
pub fn stored_json(text: &str) -> JsonText {
    JsonText::trusted(text)
}

/// Why a text or value cannot be an [`EventBody`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The text is not JSON, or serde could not encode the payload.
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error("the JSON is not an object")]
    NotAnObject,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_values_are_equal_whatever_their_text() {
        let stored = EventBody::parse(r#"{"owner": "Ada", "balance": 5}"#).unwrap();
        let written = EventBody::try_from(json!({ "balance": 5, "owner": "Ada" })).unwrap();
        assert_eq!(stored, written);
        assert_ne!(
            stored,
            EventBody::try_from(json!({ "balance": 6, "owner": "Ada" })).unwrap()
        );
    }

    #[test]
    fn only_objects_are_bodies() {
        assert!(matches!(EventBody::parse("{"), Err(BodyError::NotJson(_))));
        for text in ["[]", "5", "\"{}\"", "null"] {
            assert!(
                matches!(EventBody::parse(text), Err(BodyError::NotAnObject)),
                "{text}"
            );
        }
        assert!(matches!(EventBody::encode(&5), Err(BodyError::NotAnObject)));
        assert!(matches!(
            EventBody::trusted("[1]"),
            Err(BodyError::NotAnObject)
        ));
        assert!(EventBody::parse(" {} ").is_ok());
        // JSON, but beyond what a value holds: to_value could not read it
        // back
        for text in [r#"{"owner": "Ada", "big": 1e400}"#, r#"{"n": -1e309}"#] {
            assert!(
                matches!(EventBody::parse(text), Err(BodyError::NotJson(_))),
                "{text}"
            );
        }
        assert_eq!(EventBody::encode(&json!({})).unwrap(), EventBody::empty());
    }

    #[test]
    fn serde_writes_and_reads_the_json_value() {
        let body = EventBody::parse(r#"{"a": [1, 2]}"#).unwrap();
        let envelope = json!({ "body": body });
        assert_eq!(envelope.to_string(), r#"{"body":{"a":[1,2]}}"#);
        let back: EventBody = serde_json::from_value(envelope["body"].clone()).unwrap();
        assert_eq!(back, body);
        assert!(serde_json::from_str::<EventBody>("[1]").is_err());
        let state: JsonText = serde_json::from_str("[1, 2]").unwrap();
        assert_eq!(state.as_str(), "[1,2]");
    }
}
