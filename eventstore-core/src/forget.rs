//! Forgetting personal data: what to erase from one aggregate's events and
//! snapshots, and how many rows it changed.
//!
//! The history stays: every event keeps its row, version, position and id,
//! and only the named fields of its body become `null`. Snapshots of the
//! aggregate lose the named fields of their state, or are deleted (they are
//! a cache: the next snapshot is folded from the erased events).

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::json::{EventBody, JsonText};

use crate::aggregate::Aggregate;
use crate::event::Event;
use crate::event::schema::renamed;
use crate::id::AggregateId;

/// What [`EventStore::forget`](crate::EventStore::forget) erases from one
/// aggregate. Field names are top-level keys of the event bodies and of the
/// snapshot state; they are data, never part of a statement's text.
///
/// [`ForgetRequest::personal`] builds it from the fields that
/// `#[event(personal(...))]` declares; the builder methods name fields that
/// were not declared.
///
/// ```
/// # use eventstore_core::doc::Account;
/// use eventstore_core::ForgetRequest;
///
/// let request = ForgetRequest::new::<Account>("acc-1".parse()?)
///     .event_fields("Opened", ["owner", "email"])
///     .snapshot_fields(["owner"]);
/// assert_eq!(request.event_fields[0], ("Opened".to_string(), "owner".to_string()));
/// assert!(!request.delete_snapshots);
/// # Ok::<(), eventstore_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForgetRequest {
    /// The aggregate kind.
    pub aggregate_kind: String,
    /// The aggregate id.
    pub aggregate_id: AggregateId,
    /// `(event kind, field)` pairs: the field is erased from every event of
    /// that kind on the stream.
    pub event_fields: Vec<(String, String)>,
    /// `(event kind, schema version, field)` triples: the field is kept in
    /// the events of that kind written at that schema version, though
    /// `event_fields` names it. [`ForgetRequest::personal`] spares, at a
    /// kind's current version, the fields that only older versions
    /// declared personal: a later version may use the name for something
    /// else.
    pub spared_fields: Vec<(String, u32, String)>,
    /// Fields erased from the state of the aggregate's snapshots.
    pub snapshot_fields: Vec<String>,
    /// Whether the aggregate's snapshots are deleted instead.
    pub delete_snapshots: bool,
}

impl ForgetRequest {
    /// A request that erases nothing yet from the aggregate `A` with id
    /// `aggregate_id`.
    ///
    /// ```
    /// # use eventstore_core::doc::Account;
    /// use eventstore_core::ForgetRequest;
    /// let request = ForgetRequest::new::<Account>("acc-1".parse()?);
    /// assert_eq!(request.aggregate_kind, "Account");
    /// assert!(request.event_fields.is_empty() && request.snapshot_fields.is_empty());
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn new<A: Aggregate>(aggregate_id: AggregateId) -> Self {
        Self::of_kind(A::KIND, aggregate_id)
    }

    /// A request that erases nothing yet from the aggregate of kind
    /// `aggregate_kind` with id `aggregate_id`: for a kind known only at
    /// run time (a tool, a backend's tests); otherwise [`new`](Self::new)
    /// names the kind by its type.
    ///
    /// ```
    /// use eventstore_core::ForgetRequest;
    /// let request = ForgetRequest::of_kind("Profile", "p-1".parse()?);
    /// assert_eq!(request.aggregate_id, *"p-1");
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn of_kind(aggregate_kind: impl Into<String>, aggregate_id: AggregateId) -> Self {
        Self {
            aggregate_kind: aggregate_kind.into(),
            aggregate_id,
            event_fields: Vec::new(),
            spared_fields: Vec::new(),
            snapshot_fields: Vec::new(),
            delete_snapshots: false,
        }
    }

    /// Erases what the aggregate's events declare personal with
    /// `#[event(personal(...))]`, in every stored version of them (a field
    /// that a later version renamed is erased under its old name from the
    /// old rows, and under old kind names too), and deletes the
    /// aggregate's snapshots, whose state may hold a copy in any shape.
    /// The rows of a kind's current version lose only the fields that
    /// version declares: a field that only an older version declared
    /// personal may hold something else in them (see
    /// [`spared_fields`](Self::spared_fields)).
    ///
    /// ```
    /// # use eventstore_core::doc::Account;
    /// use eventstore_core::ForgetRequest;
    ///
    /// let request = ForgetRequest::personal::<Account>("acc-1".parse()?);
    /// assert_eq!(request.aggregate_kind, "Account");
    /// assert_eq!(request.event_fields, [("Opened".to_string(), "owner".to_string())]);
    /// assert!(request.delete_snapshots);
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn personal<A: Aggregate>(aggregate_id: AggregateId) -> Self {
        let mut request = Self::new::<A>(aggregate_id);
        for kind in stored_kinds::<A::Event>() {
            let fields = A::Event::stored_personal_fields(kind);
            if let Some((current, version)) = current_of::<A::Event>(kind) {
                let declared = A::Event::personal_fields(current);
                for field in fields.iter().filter(|f| !declared.contains(f)) {
                    let spared = (kind.to_owned(), version, (*field).to_owned());
                    request.spared_fields.push(spared);
                }
            }
            request = request.event_fields(kind, fields);
        }
        request.delete_snapshots()
    }

    /// Also erases `fields` from every event of kind `event_kind`; a pair
    /// named twice is kept once.
    ///
    /// ```
    /// use eventstore_core::ForgetRequest;
    /// let request = ForgetRequest::of_kind("Profile", "p-1".parse()?)
    ///     .event_fields("Created", ["email", "phone"])
    ///     .event_fields("EmailChanged", ["email"]);
    /// assert_eq!(request.event_fields.len(), 3);
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn event_fields<F: Into<String>>(
        mut self,
        event_kind: impl Into<String>,
        fields: impl IntoIterator<Item = F>,
    ) -> Self {
        let event_kind = event_kind.into();
        for field in fields {
            let pair = (event_kind.clone(), field.into());
            if !self.event_fields.contains(&pair) {
                self.event_fields.push(pair);
            }
        }
        self
    }

    /// Also erases `fields` from the state of the aggregate's snapshots.
    ///
    /// ```
    /// use eventstore_core::ForgetRequest;
    /// let request = ForgetRequest::of_kind("Profile", "p-1".parse()?).snapshot_fields(["email"]);
    /// assert_eq!(request.snapshot_fields, ["email"]);
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn snapshot_fields<F: Into<String>>(mut self, fields: impl IntoIterator<Item = F>) -> Self {
        for field in fields {
            let field = field.into();
            if !self.snapshot_fields.contains(&field) {
                self.snapshot_fields.push(field);
            }
        }
        self
    }

    /// Deletes the aggregate's snapshots instead of erasing fields of them.
    ///
    /// ```
    /// use eventstore_core::ForgetRequest;
    /// let request = ForgetRequest::of_kind("Profile", "p-1".parse()?).delete_snapshots();
    /// assert!(request.delete_snapshots);
    /// # Ok::<(), eventstore_core::Error>(())
    /// ```
    #[must_use]
    pub fn delete_snapshots(mut self) -> Self {
        self.delete_snapshots = true;
        self
    }

    /// The fields to erase from an event of `kind` written at schema
    /// version `version`.
    pub(crate) fn fields_of<'a>(
        &'a self,
        kind: &'a str,
        version: u32,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.event_fields
            .iter()
            .filter(move |(k, _)| k == kind)
            .map(|(_, field)| field.as_str())
            .filter(move |field| {
                !self
                    .spared_fields
                    .iter()
                    .any(|(k, v, f)| k == kind && *v == version && f == field)
            })
    }
}

/// Every kind name that rows of the family `E` may be stored under: its
/// kinds, their old names, and the retired kinds its upcasters read.
fn stored_kinds<E: Event>() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = E::KINDS.to_vec();
    let others = E::ALIASES
        .iter()
        .map(|(old, _)| *old)
        .chain(E::UPCASTERS.iter().map(|u| u.kind));
    for kind in others {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// The current kind that rows stored as `kind` read as (itself, or the
/// kind an old name renames to), and its current version; `None` for a
/// retired kind.
fn current_of<E: Event>(kind: &str) -> Option<(&'static str, u32)> {
    let current = E::KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .or_else(|| renamed::<E>(kind))?;
    Some((current, E::current_version(current)))
}

/// How many rows a [`forget`](crate::EventStore::forget) changed: rows that
/// already held no value in the named fields are not counted, so a repeated
/// request returns zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forgotten {
    /// Events whose body lost a value.
    pub events: u64,
    /// Snapshots whose state lost a value, or that were deleted.
    pub snapshots: u64,
    /// Parked events of the aggregate whose error text was overwritten, or
    /// whose copy of the body (in a store that keeps one) lost a value, and
    /// refusals recorded under an idempotency key on it whose domain error
    /// was erased.
    pub copies: u64,
}

impl Forgotten {
    /// All the rows changed.
    ///
    /// ```
    /// use eventstore_core::Forgotten;
    /// let forgotten = Forgotten { events: 2, snapshots: 1, copies: 0 };
    /// assert_eq!(forgotten.total(), 3);
    /// ```
    #[must_use]
    pub fn total(&self) -> u64 {
        self.events + self.snapshots + self.copies
    }
}

/// What a forget writes over the error text of a reactor's parked events
/// of the aggregate: an error may have quoted the personal data.
pub const ERASED_ERROR: &str = "error text erased by forget: it may have quoted personal data";

/// [`erase_fields`] on an event's body, parsed for it (forgets are rare);
/// whether anything changed.
pub(crate) fn erase_body_fields<'a>(
    body: &mut EventBody,
    fields: impl IntoIterator<Item = &'a str>,
) -> bool {
    // an erased object is still an object
    match erased(body.as_json(), fields).map(|text| EventBody::trusted(text.as_str())) {
        Some(Ok(erased)) => {
            *body = erased;
            true
        }
        _ => false,
    }
}

/// [`erase_fields`] on a snapshot's state, parsed for it; whether anything
/// changed.
pub(crate) fn erase_state_fields<'a>(
    state: &mut JsonText,
    fields: impl IntoIterator<Item = &'a str>,
) -> bool {
    match erased(state, fields) {
        Some(erased) => {
            *state = erased;
            true
        }
        None => false,
    }
}

/// The text of `json` with `fields` erased, or `None` when that changes
/// nothing (a text that is not an object holds no field to erase). Only
/// the top level is parsed: every other value keeps its text exactly, as
/// `jsonb ||` keeps it on PostgreSQL (a parsed value would turn an integer
/// beyond `u64` into a float).
fn erased<'a>(json: &JsonText, fields: impl IntoIterator<Item = &'a str>) -> Option<JsonText> {
    let mut fields = fields.into_iter().peekable();
    fields.peek()?;
    // duplicate keys: the last one stays, as in jsonb
    let mut object: BTreeMap<String, &RawValue> = serde_json::from_str(json.as_str()).ok()?;
    if !erase_fields(&mut object, fields) {
        return None;
    }
    JsonText::encode(&object).ok()
}

/// Sets each of `fields` that `object` holds with a value other than `null`
/// to `null`; whether anything changed.
fn erase_fields<'a>(
    object: &mut BTreeMap<String, &RawValue>,
    fields: impl IntoIterator<Item = &'a str>,
) -> bool {
    let mut changed = false;
    for field in fields {
        if let Some(value) = object.get_mut(field)
            && value.get().trim() != "null"
        {
            *value = RawValue::NULL;
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn erases_present_fields_only_and_says_whether_anything_changed() {
        let mut body =
            EventBody::parse(r#"{"owner": "Ada", "balance": 5, "o\"wner": "x"}"#).unwrap();
        assert!(erase_body_fields(&mut body, ["owner", "missing"]));
        assert_eq!(
            body,
            EventBody::try_from(json!({ "owner": null, "balance": 5, "o\"wner": "x" })).unwrap()
        );
        assert!(!erase_body_fields(&mut body, ["owner"]), "already erased");
        assert!(erase_body_fields(&mut body, ["o\"wner"]));
        let mut not_an_object = JsonText::parse(r#"["owner"]"#).unwrap();
        assert!(!erase_state_fields(&mut not_an_object, ["owner"]));
        let mut escaped = EventBody::parse(r#"{"own\u0065r": "Ada", "owner": "Bob"}"#).unwrap();
        assert!(erase_body_fields(&mut escaped, ["owner"]));
        assert_eq!(
            escaped.to_value().unwrap(),
            json!({ "owner": null }),
            "the last key stays"
        );
    }

    #[test]
    fn requests_name_each_field_once() {
        let request = ForgetRequest::of_kind("Account", "a".parse().unwrap())
            .event_fields("Opened", ["owner", "owner"])
            .event_fields("Renamed", ["owner"])
            .snapshot_fields(["owner", "owner"]);
        assert_eq!(request.event_fields.len(), 2);
        assert_eq!(
            request.fields_of("Opened", 1).collect::<Vec<_>>(),
            ["owner"]
        );
        assert_eq!(request.snapshot_fields, ["owner"]);
    }
}

#[cfg(test)]
mod exact_tests {
    use super::*;

    #[test]
    fn erasing_a_field_keeps_the_other_values_exactly() {
        let big = "340282366920938463463374607431768211455";
        let mut body =
            EventBody::parse(&format!(r#"{{"owner": "Ada", "big": {big}, "f": 1.50}}"#)).unwrap();
        assert!(erase_body_fields(&mut body, ["owner"]));
        assert_eq!(body.to_value().unwrap()["owner"], serde_json::Value::Null);
        assert!(body.as_str().contains(big), "the u128 kept: {body:?}");
        #[derive(serde::Deserialize)]
        struct Big {
            big: u128,
        }
        assert_eq!(body.decode::<Big>().unwrap().big, u128::MAX);

        // jsonb holds numbers that serde reads into no value: still erased
        let mut stored = EventBody::trusted(r#"{"owner": "Ada", "n": 1e400}"#).unwrap();
        assert!(erase_body_fields(&mut stored, ["owner"]));
        assert_eq!(stored.as_str(), r#"{"n":1e400,"owner":null}"#);
    }
}
