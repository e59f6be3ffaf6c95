//! The one-pass decoding that `#[derive(Event)]` generates for typed
//! upcasters reads every stored row, under every name and at every
//! version, as the generic path ([`schema::decode_stored`]) does, and
//! fails as it does; and rows that a retired kind's function turns into
//! odd events are refused with errors that say why.

use eventstore_core::backend::StreamEvent;
use eventstore_core::schema::{self, RawEvent, UpcastError};
use eventstore_core::{DecodeError, Error, ErrorChain, Event, EventBody};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `Opened` at version 3.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Opened {
    holder: Option<String>,
    cents: u64,
}

/// Version 1 counted whole units and called the holder `owner`.
#[derive(Deserialize)]
struct OpenedV1 {
    owner: Option<String>,
    units: u64,
}

/// Version 2 counted cents.
#[derive(Deserialize)]
struct OpenedV2 {
    owner: Option<String>,
    cents: u64,
}

impl From<OpenedV1> for OpenedV2 {
    fn from(v1: OpenedV1) -> Self {
        Self {
            owner: v1.owner,
            cents: v1.units * 100,
        }
    }
}

impl From<OpenedV2> for Opened {
    fn from(v2: OpenedV2) -> Self {
        Self {
            holder: v2.owner,
            cents: v2.cents,
        }
    }
}

/// `Deposited` at version 2.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Deposited {
    cents: u64,
}

/// Version 1 of `Deposited` counted whole units.
fn deposited_v1(mut body: Value) -> Result<Value, UpcastError> {
    let units = body["units"]
        .as_u64()
        .ok_or_else(|| UpcastError::new("no units"))?;
    body["cents"] = json!(units * 100);
    Ok(body)
}

/// `Moved` reads as rows under old names, at old versions.
fn moved(RawEvent { body, .. }: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![
        RawEvent::new("Paid", 1, json!({ "units": body["units"] })),
        RawEvent::new("AccountOpened", 1, json!({ "owner": "Ada", "units": 1 })),
        RawEvent::new("AccountOpened", 2, json!({ "owner": "Bo", "cents": 7 })),
    ])
}

/// Reads as itself: a loop.
fn itself(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![RawEvent::new("Itself", 1, event.body)])
}

/// Reads as a version no release wrote yet.
fn ahead(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![RawEvent::new("Deposited", 9, event.body)])
}

/// Reads as version 0, which no row has.
fn zero(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![RawEvent::new("Deposited", 0, event.body)])
}

#[derive(Event, Debug, PartialEq)]
#[event(retired(kind = "Moved", events = moved))]
#[event(retired(kind = "Itself", events = itself))]
#[event(retired(kind = "Ahead", events = ahead))]
#[event(retired(kind = "Zero", events = zero))]
enum Ledger {
    #[event(version = 3, aliases = ["AccountOpened"], personal(holder),
            upcast(from = 1, typed = OpenedV1, personal(owner)),
            upcast(from = 2, typed = OpenedV2, personal(owner)))]
    Opened(Opened),
    #[event(version = 2, aliases = ["Paid"], upcast(from = 1, raw = deposited_v1))]
    Deposited(Deposited),
}

fn body(value: &Value) -> EventBody {
    EventBody::try_from(value).expect("an object")
}

#[test]
fn the_typed_shortcut_reads_every_row_as_the_generic_path() {
    let opened = |cents| {
        Ledger::from(Opened {
            holder: Some("Ada".into()),
            cents,
        })
    };
    let rows = [
        (
            "Opened",
            1,
            json!({ "owner": "Ada", "units": 5 }),
            vec![opened(500)],
        ),
        (
            "AccountOpened",
            1,
            json!({ "owner": "Ada", "units": 5 }),
            vec![opened(500)],
        ),
        (
            "Opened",
            2,
            json!({ "owner": "Ada", "cents": 5 }),
            vec![opened(5)],
        ),
        (
            "AccountOpened",
            2,
            json!({ "owner": "Ada", "cents": 5 }),
            vec![opened(5)],
        ),
        (
            "Opened",
            3,
            json!({ "holder": "Ada", "cents": 5 }),
            vec![opened(5)],
        ),
        (
            "AccountOpened",
            3,
            json!({ "holder": "Ada", "cents": 5 }),
            vec![opened(5)],
        ),
        (
            "Paid",
            1,
            json!({ "units": 5 }),
            vec![Deposited { cents: 500 }.into()],
        ),
        (
            "Paid",
            2,
            json!({ "cents": 5 }),
            vec![Deposited { cents: 5 }.into()],
        ),
        (
            "Moved",
            1,
            json!({ "units": 3 }),
            vec![
                Deposited { cents: 300 }.into(),
                opened(100),
                Opened {
                    holder: Some("Bo".into()),
                    cents: 7,
                }
                .into(),
            ],
        ),
    ];
    for (kind, version, value, expected) in rows {
        let body = body(&value);
        let fast = Ledger::from_stored(kind, version, &body).unwrap();
        let generic = schema::decode_stored::<Ledger>(kind, version, &body).unwrap();
        assert_eq!(fast, generic, "{kind} v{version}");
        assert_eq!(
            fast.into_iter().collect::<Vec<_>>(),
            expected,
            "{kind} v{version}"
        );
    }
}

#[test]
fn a_typed_row_that_does_not_decode_fails_as_its_upcaster_and_names_its_version() {
    for (kind, version, value) in [
        ("Opened", 1, json!({ "owner": 3, "units": 5 })),
        ("AccountOpened", 2, json!({ "owner": "Ada" })),
    ] {
        let body = body(&value);
        let fast = Ledger::from_stored(kind, version, &body).unwrap_err();
        let generic = schema::decode_stored::<Ledger>(kind, version, &body).unwrap_err();
        assert!(
            matches!(
                (&fast, &generic),
                (DecodeError::Upcast(_), DecodeError::Upcast(_))
            ),
            "{kind} v{version}: {fast:?} and {generic:?}"
        );
        // the shortcut read the text, so serde also says where
        let (fast, generic) = (
            ErrorChain(&fast).to_string(),
            ErrorChain(&generic).to_string(),
        );
        assert!(
            fast.starts_with(&generic),
            "{kind} v{version}: {fast} / {generic}"
        );
        let row = StreamEvent {
            version: 4,
            kind: kind.into(),
            schema_version: version,
            body,
        };
        let error = row.decode::<Ledger>("Account", "a-1").unwrap_err();
        assert!(
            matches!(&error, Error::Upcast { schema_version, version: 4, .. } if *schema_version == version),
            "{error:?}"
        );
        let text = ErrorChain(&error).to_string();
        assert!(
            text.contains(&format!(
                "the upcaster of \"Opened\" at schema version {version}"
            )),
            "{text}"
        );
    }
}

#[test]
fn odd_events_of_a_retired_kind_are_refused_with_why() {
    let body = body(&json!({ "cents": 1 }));
    for (kind, why) in [
        (
            "Itself",
            "upcaster steps, the last at \"Itself\" schema version 1: the upcasters loop",
        ),
        (
            "Ahead",
            "\"Deposited\" at schema version 9 is newer than this code's version 2",
        ),
        (
            "Zero",
            "no upcaster reads \"Deposited\" at schema version 0 (the current is 2)",
        ),
    ] {
        let error = Ledger::from_stored(kind, 1, &body).unwrap_err();
        assert!(matches!(error, DecodeError::Upcast(_)), "{kind}: {error:?}");
        let text = ErrorChain(&error).to_string();
        assert!(text.contains(why), "{kind}: {text}");
    }
}
