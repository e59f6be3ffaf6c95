//! The start-up check and the runtime upcasting, on event families written
//! by hand: the derive refuses at compile time what these declare.

use serde_json::{Value, json};

use eventstore_core::schema::{
    Decoded, RawEvent, SchemaError, UpcastError, UpcastStep, Upcaster, check,
};
use eventstore_core::{DecodeError, Error, Event, EventBody, RecordedEvent};

/// The one event of the hand-written families: kind "A" (or "B"), with the
/// body it decoded from.
#[derive(Debug, PartialEq)]
struct Read(&'static str, Value);

/// A family of kinds "A" and "B" with the given versions, upcasters and
/// old names; both decode any object.
macro_rules! family {
    ($name:ident, versions: $versions:expr, upcasters: $upcasters:expr $(, aliases: $aliases:expr)?) => {
        #[derive(Debug, PartialEq)]
        struct $name(Read);
        impl Event for $name {
            const KINDS: &'static [&'static str] = &["A", "B"];
            const VERSIONS: &'static [(&'static str, u32)] = $versions;
            const UPCASTERS: &'static [Upcaster] = $upcasters;
            $(const ALIASES: &'static [(&'static str, &'static str)] = $aliases;)?
            fn kind(&self) -> &'static str {
                self.0.0
            }
            fn to_body(&self) -> eventstore_core::Result<EventBody> {
                Ok(EventBody::empty())
            }
            fn from_body(kind: &str, body: &EventBody) -> Result<Self, DecodeError> {
                let value: Value = body.decode().map_err(DecodeError::Body)?;
                match kind {
                    "A" => Ok(Self(Read("A", value))),
                    "B" => Ok(Self(Read("B", value))),
                    _ => Err(DecodeError::UnknownKind),
                }
            }
        }
    };
}

/// A body rewrite into version `to`.
const fn body(to: u32, rewrite: fn(Value) -> Result<Value, UpcastError>) -> UpcastStep {
    UpcastStep::Body { to, rewrite }
}

fn mark(mut value: Value) -> Result<Value, UpcastError> {
    let steps = value["steps"].as_u64().unwrap_or(0);
    value["steps"] = json!(steps + 1);
    Ok(value)
}

fn refuse(_: Value) -> Result<Value, UpcastError> {
    Err(UpcastError::new("no owner in the old body"))
}

family!(Chain, versions: &[("A", 3)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &[] },
    Upcaster { kind: "A", from: 2, step: body(3, mark), personal: &[] },
]);
family!(Gap, versions: &[("A", 3)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &[] },
]);
family!(Twice, versions: &[("A", 2)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &[] },
    Upcaster { kind: "A", from: 1, step: body(2, refuse), personal: &[] },
]);
family!(Loop, versions: &[("A", 4)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &[] },
    Upcaster { kind: "A", from: 2, step: body(1, mark), personal: &[] },
    Upcaster { kind: "A", from: 3, step: body(4, mark), personal: &[] },
]);
family!(Past, versions: &[("A", 2)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(5, mark), personal: &[] },
]);
family!(ReadsCurrent, versions: &[("A", 2)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &[] },
    Upcaster { kind: "A", from: 2, step: body(2, mark), personal: &[] },
]);
family!(Stranded, versions: &[], upcasters: &[
    Upcaster { kind: "Old", from: 1, step: body(2, mark), personal: &[] },
]);
family!(AliasOfKind, versions: &[], upcasters: &[], aliases: &[("B", "A")]);
family!(AliasOfNothing, versions: &[], upcasters: &[], aliases: &[("Old", "C")]);
family!(Zero, versions: &[("A", 0)], upcasters: &[]);
family!(Stranger, versions: &[("C", 2)], upcasters: &[]);

fn split(RawEvent { body, .. }: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    let part = body["part"].clone();
    Ok(vec![
        RawEvent::new("A", 1, json!({ "part": part })),
        RawEvent::new("B", 1, json!({ "part": part })),
    ])
}

fn echo(event: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![event])
}

fn drop_all(_: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![])
}

fn not_an_object(_: RawEvent) -> Result<Vec<RawEvent>, UpcastError> {
    Ok(vec![RawEvent::new("B", 1, json!([1, 2]))])
}

family!(Splits, versions: &[("A", 2)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &[] },
    Upcaster { kind: "Both", from: 1, step: UpcastStep::Events(split), personal: &[] },
    Upcaster { kind: "Echo", from: 1, step: UpcastStep::Events(echo), personal: &[] },
    Upcaster { kind: "Gone", from: 1, step: UpcastStep::Events(drop_all), personal: &[] },
    Upcaster { kind: "Array", from: 1, step: UpcastStep::Events(not_an_object), personal: &[] },
]);
family!(Refuses, versions: &[("A", 2)], upcasters: &[
    Upcaster { kind: "A", from: 1, step: body(2, refuse), personal: &[] },
]);

fn stored<E: Event>(kind: &str, version: u32, body: &Value) -> Result<Decoded<E>, DecodeError> {
    E::from_stored(
        kind,
        version,
        &EventBody::try_from(body).expect("an object"),
    )
}

#[test]
fn a_sound_schema_passes() {
    assert_eq!(check::<Chain>(), Ok(()));
    assert_eq!(check::<Splits>(), Ok(()));
    assert_eq!(check::<sagas_examples::account::AccountEvent>(), Ok(()));
}

#[test]
fn each_broken_rule_is_named_with_its_kind_and_versions() {
    let gap = SchemaError::Gap {
        kind: "A".into(),
        missing: 2,
        current: 3,
    };
    assert_eq!(check::<Gap>(), Err(gap.clone()));
    assert_eq!(
        gap.to_string(),
        "\"A\" is at schema version 3, but no upcaster reads version 2: rows written at it could \
         not be read"
    );
    assert_eq!(
        check::<Twice>(),
        Err(SchemaError::Duplicate {
            kind: "A".into(),
            version: 1
        })
    );
    assert_eq!(
        check::<Loop>(),
        Err(SchemaError::Cycle {
            kind: "A".into(),
            versions: vec![1, 2, 1]
        })
    );
    assert_eq!(
        check::<Past>(),
        Err(SchemaError::Beyond {
            kind: "A".into(),
            version: 5,
            current: 2
        })
    );
    assert_eq!(
        check::<ReadsCurrent>(),
        Err(SchemaError::Beyond {
            kind: "A".into(),
            version: 2,
            current: 2
        })
    );
    assert_eq!(
        check::<Stranded>(),
        Err(SchemaError::Stranded {
            kind: "Old".into(),
            version: 2
        })
    );
    assert_eq!(
        check::<AliasOfKind>(),
        Err(SchemaError::Alias {
            alias: "B".into(),
            kind: "A".into()
        })
    );
    assert_eq!(
        check::<AliasOfNothing>(),
        Err(SchemaError::Alias {
            alias: "Old".into(),
            kind: "C".into()
        })
    );
    assert_eq!(
        check::<Zero>(),
        Err(SchemaError::ZeroVersion { kind: "A".into() })
    );
    assert_eq!(
        check::<Stranger>(),
        Err(SchemaError::UnknownKind { kind: "C".into() })
    );
}

#[test]
fn a_chain_runs_each_step_once_and_the_current_version_none() {
    let read = stored::<Chain>("A", 1, &json!({})).unwrap();
    assert_eq!(read, Decoded::One(Chain(Read("A", json!({ "steps": 2 })))));
    let read = stored::<Chain>("A", 2, &json!({})).unwrap();
    assert_eq!(read, Decoded::One(Chain(Read("A", json!({ "steps": 1 })))));
    let read = stored::<Chain>("A", 3, &json!({})).unwrap();
    assert_eq!(read, Decoded::One(Chain(Read("A", json!({})))));
}

#[test]
fn a_row_no_upcaster_reads_is_refused_and_says_why() {
    let newer = stored::<Chain>("A", 4, &json!({})).unwrap_err();
    assert!(
        matches!(&newer, DecodeError::Upcast(e) if e.to_string().contains("newer than this code's version 3")),
        "{newer:?}"
    );
    let gap = stored::<Gap>("A", 2, &json!({})).unwrap_err();
    assert!(
        matches!(&gap, DecodeError::Upcast(e) if e.to_string() == "no upcaster reads \"A\" at schema version 2 (the current is 3)"),
        "{gap:?}"
    );
    assert!(matches!(
        stored::<Chain>("Z", 1, &json!({})),
        Err(DecodeError::UnknownKind)
    ));
    let refused = stored::<Refuses>("A", 1, &json!({})).unwrap_err();
    assert!(
        matches!(&refused, DecodeError::Upcast(e) if e.to_string() == "the upcaster of \"A\" at schema version 1: no owner in the old body"),
        "{refused:?}"
    );
}

#[test]
fn a_loop_through_events_upcasters_is_cut_off() {
    let looped = stored::<Loop>("A", 1, &json!({})).unwrap_err();
    assert!(
        matches!(&looped, DecodeError::Upcast(e) if e.to_string().contains("the upcasters loop")),
        "{looped:?}"
    );
    let echoed = stored::<Splits>("Echo", 1, &json!({})).unwrap_err();
    assert!(
        matches!(&echoed, DecodeError::Upcast(e) if e.to_string().contains("the upcasters loop")),
        "{echoed:?}"
    );
}

#[test]
fn a_split_row_reads_as_its_events_in_order_each_upcast_on() {
    let read = stored::<Splits>("Both", 1, &json!({ "part": 7 })).unwrap();
    assert_eq!(
        read,
        Decoded::Several(vec![
            Splits(Read("A", json!({ "part": 7, "steps": 1 }))),
            Splits(Read("B", json!({ "part": 7 }))),
        ])
    );
    assert_eq!(
        stored::<Splits>("Gone", 1, &json!({})).unwrap(),
        Decoded::Several(vec![])
    );
    let array = stored::<Splits>("Array", 1, &json!({})).unwrap_err();
    assert!(
        matches!(&array, DecodeError::Upcast(e) if e.to_string().contains("not a JSON object")),
        "{array:?}"
    );
}

#[test]
fn an_envelope_names_the_row_that_cannot_be_upcast() {
    let row = RecordedEvent {
        id: eventstore_core::EventId::new(),
        position: 9,
        tx: 1,
        aggregate_kind: "Thing".into(),
        aggregate_id: "t-1".into(),
        version: 4,
        kind: "A".into(),
        schema_version: 1,
        body: EventBody::empty(),
        metadata: eventstore_core::Metadata::default(),
        recorded_at: std::time::SystemTime::now(),
    };
    let error = row.decode::<Refuses>().unwrap_err();
    assert!(matches!(
        error,
        Error::Upcast {
            schema_version: 1,
            version: 4,
            ..
        }
    ));
    assert_eq!(
        eventstore_core::ErrorChain(&error).to_string(),
        "cannot upcast \"A\" (schema version 1) in Thing \"t-1\" at version 4: the upcaster of \
         \"A\" at schema version 1: no owner in the old body"
    );
    let split = RecordedEvent {
        kind: "Both".into(),
        ..row
    };
    assert_eq!(split.decode_all::<Splits>().unwrap().len(), 2);
    let error = split.decode::<Splits>().unwrap_err();
    assert!(
        error.to_string().starts_with("cannot upcast \"Both\""),
        "{error}"
    );
    assert!(
        eventstore_core::ErrorChain(&error)
            .to_string()
            .ends_with("the row reads as 2 events, not one: decode it with decode_all"),
        "{error}"
    );
}

#[test]
fn old_names_read_as_their_kind_at_their_own_version() {
    family!(Renamed, versions: &[("A", 2)], upcasters: &[
        Upcaster { kind: "A", from: 1, step: body(2, mark), personal: &["name"] },
    ], aliases: &[("Old", "A")]);
    assert_eq!(check::<Renamed>(), Ok(()));
    let read = stored::<Renamed>("Old", 1, &json!({})).unwrap();
    assert_eq!(
        read,
        Decoded::One(Renamed(Read("A", json!({ "steps": 1 }))))
    );
    let read = stored::<Renamed>("Old", 2, &json!({})).unwrap();
    assert_eq!(read, Decoded::One(Renamed(Read("A", json!({})))));
    assert_eq!(Renamed::stored_personal_fields("Old"), ["name"]);
}

family!(Huge, versions: &[("A", u32::MAX)], upcasters: &[]);

#[test]
fn a_huge_version_is_checked_at_once() {
    assert_eq!(
        check::<Huge>(),
        Err(SchemaError::Gap {
            kind: "A".into(),
            missing: 1,
            current: u32::MAX
        })
    );
}

#[test]
fn the_typed_shortcut_reads_as_the_value_path_does() {
    use eventstore_core::backend::conformance::profile::ProfileEvent;
    use eventstore_core::schema::decode_stored;
    use sagas_examples::account::AccountEvent;

    let opened = EventBody::try_from(&json!({ "owner": "Ada", "initial_balance": 5 })).unwrap();
    let fast = AccountEvent::from_stored("Opened", 1, &opened).unwrap();
    assert_eq!(
        fast,
        decode_stored::<AccountEvent>("Opened", 1, &opened).unwrap()
    );
    let registered = EventBody::try_from(&json!({ "name": "Ada King" })).unwrap();
    let fast = ProfileEvent::from_stored("Registered", 1, &registered).unwrap();
    assert_eq!(
        fast,
        decode_stored::<ProfileEvent>("Registered", 1, &registered).unwrap()
    );
    let erased = EventBody::try_from(&json!({ "owner": null, "initial_balance": 5 })).unwrap();
    let fast = AccountEvent::from_stored("Opened", 1, &erased).unwrap();
    assert_eq!(
        fast,
        decode_stored::<AccountEvent>("Opened", 1, &erased).unwrap()
    );
}
