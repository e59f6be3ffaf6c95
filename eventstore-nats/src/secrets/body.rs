//! Sealing and opening against one copy of a key set: the top-level fields
//! of event bodies, and whole values (a snapshot's state, a refusal's
//! error).
//!
//! A field holding `null` stays `null`: it holds nothing to protect, and
//! that lets a forget count the rows that lose a value without opening
//! them. Every other field becomes the JSON string that
//! [`cipher::seal`] makes of its JSON text (kept
//! exactly as written: an integer beyond `u64` stays that integer).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::cipher;
use super::error::SecretsError;
use super::key_set::{KeySet, Slot};
use super::object::Object;

/// What opening found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<T> {
    /// What was sealed.
    Value(T),
    /// The value `label` names a key id this copy of the key set is too
    /// old to know: read a fresher copy and open again.
    Stale {
        /// The field, or `(state)` / `(refusal)`.
        label: String,
    },
}

/// The top-level fields of the JSON object `text`, each value's text as
/// written (the last of duplicate keys wins, as in `jsonb`).
///
/// # Errors
/// serde's message, when `text` is not a JSON object.
pub(crate) fn fields(text: &str) -> Result<BTreeMap<String, &RawValue>, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The sealed text of `value` in the field `field` of a key set entry's
/// value, or `None` for `null`.
///
/// # Errors
/// What is wrong, for anything but a string or `null`.
pub(crate) fn sealed_text(value: &RawValue) -> Result<Option<Cow<'_, str>>, String> {
    let text = value.get();
    // borrowed unless escaped, which no sealed value is
    match serde_json::from_str::<Option<&str>>(text) {
        Ok(sealed) => Ok(sealed.map(Cow::Borrowed)),
        Err(_) => serde_json::from_str::<Option<String>>(text)
            .map(|sealed| sealed.map(Cow::Owned))
            .map_err(|_| format!("not a sealed value: {text}")),
    }
}

/// The body `text` of an event of kind `kind` at schema version `version`
/// with every non-null field sealed, giving `set` the keys it lacks.
///
/// # Errors
/// [`SecretsError::CorruptBody`] when `text` is not an object, and the
/// errors of [`KeySet::ensure`] and [`cipher::seal`].
pub(crate) fn seal_body(
    set: &mut KeySet,
    aggregate: &str,
    (kind, version): (&str, u32),
    text: &str,
) -> Result<String, SecretsError> {
    let fields = fields(text).map_err(|problem| corrupt_body(aggregate, problem))?;
    let mut sealed = Object::with_capacity(2 * text.len());
    for (field, value) in &fields {
        if value.get() == "null" {
            sealed.field(field, "null");
        } else {
            let slot = Slot::Field {
                kind,
                version,
                field,
            };
            let text = seal_with(set, aggregate, slot, field, value.get())?;
            sealed.sealed_field(field, &text);
        }
    }
    Ok(sealed.finish())
}

/// The body `text` that [`seal_body`] made, opened with `set`.
///
/// # Errors
/// [`SecretsError::CorruptBody`] when `text` is not an object and
/// [`SecretsError::CorruptValue`] naming the first field that does not
/// open.
pub(crate) fn open_body(
    set: &KeySet,
    aggregate: &str,
    text: &str,
) -> Result<Found<String>, SecretsError> {
    let fields = fields(text).map_err(|problem| corrupt_body(aggregate, problem))?;
    let mut opened = Object::with_capacity(text.len());
    for (field, value) in &fields {
        let corrupt = |problem| corrupt(aggregate, field, problem);
        let plain = match sealed_text(value).map_err(corrupt)? {
            None => None,
            Some(sealed) => match open_with(set, aggregate, field, &sealed)? {
                Found::Value(plain) => plain,
                Found::Stale { label } => return Ok(Found::Stale { label }),
            },
        };
        match plain {
            Some(plain) => {
                let value = RawValue::from_string(plain).map_err(|e| corrupt(e.to_string()))?;
                opened.field(field, value.get());
            }
            None => opened.field(field, "null"),
        }
    }
    Ok(Found::Value(opened.finish()))
}

/// `plain` sealed with the key of `slot`, bound to `label`, giving `set`
/// the key when it lacks it.
///
/// # Errors
/// Those of [`KeySet::ensure`] and [`cipher::seal`], and
/// [`SecretsError::CorruptKeySet`].
pub(crate) fn seal_with(
    set: &mut KeySet,
    aggregate: &str,
    slot: Slot<'_>,
    label: &str,
    plain: &str,
) -> Result<String, SecretsError> {
    let id = set.ensure(slot)?;
    let cipher = set
        .cipher(id)
        .and_then(|cipher| cipher.ok_or_else(|| format!("key {id} is missing")))
        .map_err(|problem| corrupt_set(aggregate, problem))?;
    cipher::seal(id, cipher, label, plain.as_bytes())
}

/// The plain text of `sealed`, bound to `label`, opened with `set`;
/// `None` when its key was destroyed.
///
/// # Errors
/// [`SecretsError::CorruptValue`] naming `label`, when it does not open.
pub(crate) fn open_with(
    set: &KeySet,
    aggregate: &str,
    label: &str,
    sealed: &str,
) -> Result<Found<Option<String>>, SecretsError> {
    let corrupt = |problem| corrupt(aggregate, label, problem);
    let parsed = cipher::parse(sealed).map_err(corrupt)?;
    let cipher = set
        .cipher(parsed.id)
        .map_err(|problem| corrupt_set(aggregate, problem))?;
    let Some(cipher) = cipher else {
        return Ok(if set.destroyed(parsed.id) {
            Found::Value(None)
        } else {
            Found::Stale {
                label: label.to_owned(),
            }
        });
    };
    let plain = cipher::open(parsed, cipher, label).map_err(corrupt)?;
    String::from_utf8(plain)
        .map(|plain| Found::Value(Some(plain)))
        .map_err(|_| corrupt("the plain text is not UTF-8".to_owned()))
}

/// A body that is not a JSON object.
fn corrupt_body(aggregate: &str, problem: String) -> SecretsError {
    SecretsError::CorruptBody {
        aggregate: aggregate.to_owned(),
        problem,
    }
}

/// A value that does not open.
fn corrupt(aggregate: &str, label: &str, problem: String) -> SecretsError {
    SecretsError::CorruptValue {
        aggregate: aggregate.to_owned(),
        field: label.to_owned(),
        problem,
    }
}

/// A key set that does not hold what it says.
fn corrupt_set(aggregate: &str, problem: String) -> SecretsError {
    SecretsError::CorruptKeySet {
        aggregate: aggregate.to_owned(),
        problem,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use eventstore_core::ForgetRequest;

    use super::*;

    const AGGREGATE: &str = "Account \"a-1\"";

    /// `sealed` with one byte of its ciphertext changed.
    pub(crate) fn flip_a_byte(sealed: &str) -> String {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let (id, text) = sealed.split_once(':').unwrap();
        let mut bytes = STANDARD.decode(text).unwrap();
        bytes[14] ^= 0x40;
        format!("{id}:{}", STANDARD.encode(bytes))
    }

    /// Each field's JSON text, as `open_body` gives it.
    fn raw(set: &KeySet, text: &str) -> BTreeMap<String, String> {
        let Found::Value(opened) = open_body(set, AGGREGATE, text).unwrap() else {
            panic!("stale");
        };
        let fields = fields(&opened).unwrap();
        fields
            .into_iter()
            .map(|(k, v)| (k, v.get().to_owned()))
            .collect()
    }

    #[test]
    fn fields_open_as_written_and_as_null_once_forgotten() {
        let mut set = KeySet::default();
        let big = "340282366920938463463374607431768211455";
        let body =
            format!(r#"{{"owner": "Ada ✓", "big": {big}, "none": null, "list": [1, 2.50]}}"#);
        let sealed = seal_body(&mut set, AGGREGATE, ("Opened", 1), &body).unwrap();
        assert!(!sealed.contains("Ada") && !sealed.contains(big), "{sealed}");
        assert!(
            sealed.contains(r#""none":null"#),
            "null stays null: {sealed}"
        );
        let expected = |owner: &str| {
            let fields = [
                ("owner", owner),
                ("big", big),
                ("none", "null"),
                ("list", "[1, 2.50]"),
            ];
            fields.map(|(k, v)| (k.to_owned(), v.to_owned())).into()
        };
        let opened: BTreeMap<String, String> = raw(&set, &sealed);
        assert_eq!(opened, expected("\"Ada ✓\""), "every value's text exactly");
        let stale = KeySet::default();
        assert!(matches!(
            open_body(&stale, AGGREGATE, &sealed).unwrap(),
            Found::Stale { .. }
        ));
        let request = ForgetRequest::of_kind("Account", "a-1".parse().unwrap())
            .event_fields("Opened", ["owner"]);
        set.forget(&request, 1);
        assert_eq!(raw(&set, &sealed), expected("null"));
    }

    #[test]
    fn a_sealed_text_reads_borrowed_or_unescaped() {
        let raw = |json: &str| RawValue::from_string(json.to_owned()).unwrap();
        let plain = raw(r#""1:ab+/""#);
        assert!(matches!(
            sealed_text(&plain),
            Ok(Some(Cow::Borrowed("1:ab+/")))
        ));
        let escaped = raw(r#""1:a\/b""#);
        assert_eq!(sealed_text(&escaped).unwrap().as_deref(), Some("1:a/b"));
        assert_eq!(sealed_text(&raw("null")).unwrap(), None);
        let error = sealed_text(&raw("[1]")).unwrap_err();
        assert_eq!(error, "not a sealed value: [1]");
    }

    #[test]
    fn a_tampered_field_is_an_error_naming_it() {
        let mut set = KeySet::default();
        let sealed = seal_body(&mut set, AGGREGATE, ("Opened", 1), r#"{"owner":"Ada"}"#).unwrap();
        let mut fields: BTreeMap<String, String> = serde_json::from_str(&sealed).unwrap();
        fields.insert("owner".into(), flip_a_byte(&fields["owner"]));
        let tampered = serde_json::to_string(&fields).unwrap();
        let error = open_body(&set, AGGREGATE, &tampered).unwrap_err();
        assert!(
            matches!(&error, SecretsError::CorruptValue { field, .. } if field == "owner"),
            "{error}"
        );
        let error = open_body(&set, AGGREGATE, r#"{"owner": 5}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the sealed \"owner\" of Account \"a-1\" cannot be opened: not a sealed value: 5"
        );
        assert!(matches!(
            open_body(&set, AGGREGATE, "[1]"),
            Err(SecretsError::CorruptBody { .. })
        ));
    }
}
