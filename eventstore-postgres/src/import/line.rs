//! One line of an import: a JSON object with an event's stream, kind,
//! version, schema version, body and time, read and checked without
//! copying what needs no unescaping.

use std::borrow::Cow;

use eventstore_core::{AggregateId, Error, ImportProblem, Metadata, Result};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::jsonb::refused_by_jsonb;
use super::time::Timestamp;

/// A line as JSON gives it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields<'a> {
    #[serde(borrow)]
    aggregate_kind: Cow<'a, str>,
    #[serde(borrow)]
    aggregate_id: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    version: u64,
    /// Read wider than the column, so that a number above it is refused
    /// in the import's own words.
    #[serde(default = "first_schema_version")]
    schema_version: u64,
    #[serde(borrow)]
    body: &'a RawValue,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: Option<&'a RawValue>,
}

/// The schema version of a line without one: a kind's first.
fn first_schema_version() -> u64 {
    1
}

/// A checked line: every field holds what the events table may hold.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    /// The line's number in the input, from 1.
    pub(crate) number: u64,
    pub(crate) aggregate_kind: Cow<'a, str>,
    /// A valid [`AggregateId`]'s text.
    pub(crate) aggregate_id: Cow<'a, str>,
    pub(crate) kind: Cow<'a, str>,
    /// 1 to `i64::MAX`.
    pub(crate) version: u64,
    /// The schema version the body was written at: 1 to `i32::MAX`.
    pub(crate) schema_version: i32,
    /// A JSON object's text.
    pub(crate) body: &'a str,
    pub(crate) time: Timestamp,
    /// A JSON object that reads as [`Metadata`], or `None`.
    pub(crate) metadata: Option<&'a str>,
}

impl<'a> Line<'a> {
    /// Reads and checks line `number`, `text` (without its line end).
    ///
    /// # Errors
    /// [`Error::Import`] naming the line: [`ImportProblem::Malformed`],
    /// [`ImportProblem::BodyNotObject`] or [`ImportProblem::InvalidId`].
    pub(crate) fn parse(number: u64, text: &'a [u8]) -> Result<Self> {
        let refused = |problem| Error::Import {
            line: number,
            problem,
        };
        let malformed = |reason: String| refused(ImportProblem::Malformed { reason });
        let fields: Fields<'a> = serde_json::from_slice(text)
            .map_err(|e| malformed(format!("not an event: {}", without_line(&e))))?;
        if let Err(Error::InvalidId { id, problem }) =
            AggregateId::new(fields.aggregate_id.as_ref())
        {
            return Err(refused(ImportProblem::InvalidId { id, problem }));
        }
        for (what, name) in [
            ("aggregate kind", &fields.aggregate_kind),
            ("kind", &fields.kind),
        ] {
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(malformed(format!(
                    "the {what} {name:?} is empty or has a control character"
                )));
            }
        }
        if fields.version == 0 {
            return Err(malformed("version 0: versions start at 1".to_owned()));
        }
        if i64::try_from(fields.version).is_err() {
            return Err(malformed(format!(
                "version {} is above the largest a store holds, {}",
                fields.version,
                i64::MAX
            )));
        }
        let schema_version = match i32::try_from(fields.schema_version) {
            Ok(0) => {
                return Err(malformed(
                    "schema version 0: schema versions start at 1".to_owned(),
                ));
            }
            Ok(schema_version) => schema_version,
            Err(_) => {
                return Err(malformed(format!(
                    "schema version {} is above the largest a store holds, {}",
                    fields.schema_version,
                    i32::MAX
                )));
            }
        };
        if !fields.body.get().starts_with('{') {
            return Err(refused(ImportProblem::BodyNotObject {
                kind: fields.kind.into_owned(),
            }));
        }
        if let Some(what) = refused_by_jsonb(fields.body.get()) {
            return Err(malformed(format!(
                "the body holds {what}, which PostgreSQL's jsonb cannot store"
            )));
        }
        let metadata = fields.metadata.filter(|m| m.get() != "null");
        if let Some(metadata) = metadata {
            // serde reads a struct from an array too: only an object is metadata
            let read = if metadata.get().starts_with('{') {
                serde_json::from_str::<Metadata>(metadata.get()).map_err(|e| without_line(&e))
            } else {
                Err("not an object".to_owned())
            };
            read.map_err(|why| {
                malformed(format!(
                    "the metadata is not an object of correlation_id, causation_id, actor \
                     and extra (strings): {why}"
                ))
            })?;
            if let Some(what) = refused_by_jsonb(metadata.get()) {
                return Err(malformed(format!(
                    "the metadata holds {what}, which PostgreSQL's jsonb cannot store"
                )));
            }
        }
        Ok(Self {
            number,
            time: Timestamp::parse(&fields.time).map_err(malformed)?,
            aggregate_kind: fields.aggregate_kind,
            aggregate_id: fields.aggregate_id,
            kind: fields.kind,
            version: fields.version,
            schema_version,
            body: fields.body.get(),
            metadata: metadata.map(RawValue::get),
        })
    }
}

/// serde's message without its "at line 1 column N" (a line is one line):
/// with the column alone.
fn without_line(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => format!("{} at column {}", &message[..at], error.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"aggregate_kind":"Account","aggregate_id":"acc-1","kind":"Opened","version":1,"body":{"owner":"Ada \"A\""},"time":"2024-01-01T00:00:00Z"}"#;

    fn problem(text: &str) -> String {
        match Line::parse(3, text.as_bytes()) {
            Err(Error::Import { line: 3, problem }) => problem.to_string(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn reads_a_line_borrowing_its_text() {
        let line = Line::parse(1, GOOD.as_bytes()).expect("a good line");
        assert_eq!(line.body, r#"{"owner":"Ada \"A\""}"#);
        assert!(matches!(line.aggregate_id, Cow::Borrowed("acc-1")));
        assert_eq!((line.version, line.metadata), (1, None));
        assert_eq!(line.schema_version, 1, "a line without one is version 1");
        let older = GOOD.replace(r#""version":1"#, r#""version":1,"schema_version":3"#);
        let line = Line::parse(1, older.as_bytes()).expect("a schema version");
        assert_eq!(line.schema_version, 3);
        let with_metadata = GOOD.replace(
            r#""version":1"#,
            r#""version":1,"metadata":{"actor":"importer"}"#,
        );
        let line = Line::parse(1, with_metadata.as_bytes()).expect("metadata");
        assert_eq!(line.metadata, Some(r#"{"actor":"importer"}"#));
        // what jsonb stores: an escaped backslash before u0000, a pair
        for body in [r#""C:\\u0000""#, r#""\ud83d\ude00 \u00e9\n""#] {
            let text = GOOD.replace(r#""Ada \"A\"""#, body);
            assert!(Line::parse(1, text.as_bytes()).is_ok(), "{text}");
        }
    }

    #[test]
    fn refuses_a_number_that_numeric_cannot_hold() {
        let line = GOOD.replace(r#""Ada \"A\"""#, r#"["\"1e9999999\"", 1e9999999]"#);
        let said = problem(&line);
        assert!(
            said.contains("the body holds the number 1e9999999, beyond"),
            "{said}"
        );
    }

    #[test]
    fn refuses_each_bad_field_naming_it() {
        let cases = [
            ("not json", "not an event: expected ident at column 2"),
            (r#"{"aggregate_kind":"Account"}"#, "missing field"),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"versoin":2"#),
                "unknown field `versoin`",
            ),
            (
                &GOOD.replace(r#""acc-1""#, r#""""#),
                r#"invalid aggregate id """#,
            ),
            (
                &GOOD.replace(r#""Opened""#, r#""""#),
                r#"the kind "" is empty"#,
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":0"#),
                "versions start at 1",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":-1"#),
                "invalid value: integer `-1`",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"schema_version":0"#),
                "schema version 0: schema versions start at 1",
            ),
            (
                &GOOD.replace(
                    r#""version":1"#,
                    r#""version":1,"schema_version":2147483648"#,
                ),
                "schema version 2147483648 is above the largest a store holds, 2147483647",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"schema_version":2.5"#),
                "invalid type: floating point `2.5`, expected u64",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"schema_version":"2""#),
                "invalid type: string \"2\", expected u64",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"schema_version":null"#),
                "invalid type: null, expected u64",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"schema_version":-1"#),
                "invalid value: integer `-1`, expected u64",
            ),
            (
                &GOOD.replace(r#"{"owner":"Ada \"A\""}"#, "[1]"),
                r#"the body of "Opened" is not a JSON object"#,
            ),
            (
                &GOOD.replace("00:00:00Z", "00:00:00"),
                "not an RFC 3339 time",
            ),
            (
                &GOOD.replace(r#""version":1"#, r#""version":1,"metadata":{"actor":7}"#),
                "the metadata is not an object",
            ),
            (
                &GOOD.replace(r#""Ada \"A\"""#, r#""a\u0000""#),
                r#"the body holds \u0000, which PostgreSQL's jsonb cannot store"#,
            ),
            (
                &GOOD.replace(r#""Ada \"A\"""#, r#""\uD83D\u0041""#),
                r#"the body holds \uD83D (a lone surrogate)"#,
            ),
            (
                &GOOD.replace(r#""Ada \"A\"""#, r#""\udc00""#),
                r#"the body holds \udc00 (a lone surrogate)"#,
            ),
            (
                &GOOD.replace(
                    r#""version":1"#,
                    r#""version":1,"metadata":{"actor":"\u0000"}"#,
                ),
                r#"the metadata holds \u0000"#,
            ),
        ];
        for (text, says) in cases {
            let said = problem(text);
            assert!(said.contains(says), "{text}: {said}");
        }
    }
}
