//! Commits and markers as messages: round trips, versions and positions,
//! what a commit cannot hold.

use eventstore_core::EventBody;
use eventstore_core::backend::NewEvent;

use super::*;

fn stored(outgoing: Outgoing, seq: u64) -> StreamMessage {
    StreamMessage {
        subject: "events.Account.a-1".into(),
        sequence: seq,
        headers: outgoing.headers,
        payload: outgoing.payload,
        time: async_nats::datetime::now(),
    }
}

#[test]
fn a_commit_round_trips_with_versions_and_positions() {
    let request = AppendRequest::new("Account", "a.1 *".parse().unwrap(), 4)
        .idempotency_key("t 1/x")
        .metadata(Metadata::default().actor("ada"))
        .event(NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" })).unwrap())
        .event(NewEvent::new("Closed", &serde_json::json!({})).unwrap());
    let bodies = request.events.iter().map(|e| e.body.to_string()).collect();
    let sealed = Sealed {
        value: bodies,
        forgets: 3,
    };
    let outgoing = encode(&request, 5, &sealed).unwrap();
    let ids = outgoing.ids.clone();
    let mut message = stored(outgoing, 9);
    message.subject = crate::subject::stream_subject("events", "Account", "a.1 *").into();
    assert_eq!(
        stream_of(&message).unwrap(),
        ("Account".to_owned(), "a.1 *".to_owned())
    );
    let commit = decode(&message).unwrap();
    assert_eq!(commit.head.key.as_deref(), Some("t 1/x"));
    assert_eq!(commit.head.forgets, 3);
    assert_eq!(commit.head.last_version(), 6);
    assert_eq!(
        commit.head.last_checkpoint(),
        Checkpoint {
            tx: 9,
            position: 9 << 16 | 1
        }
    );
    let versions: Vec<_> = commit
        .events
        .iter()
        .map(|e| (e.version, e.position))
        .collect();
    assert_eq!(versions, [(5, 9 << 16), (6, 9 << 16 | 1)]);
    assert_eq!(commit.events[1].id, ids[1]);
    assert_eq!(commit.events[0].sealed, sealed.value[0]);
    assert_eq!(commit.metadata, request.metadata);
}

#[test]
fn a_fence_is_a_marker_at_the_streams_version() {
    let message = StreamMessage {
        subject: "events.Account.a".into(),
        sequence: 3,
        headers: fence(
            &Known {
                seq: 2,
                version: 2,
                forgets: 1,
            },
            "k",
        ),
        payload: Bytes::new(),
        time: async_nats::datetime::now(),
    };
    let commit = decode(&message).unwrap();
    assert!(commit.events.is_empty());
    assert_eq!(commit.head.last_version(), 2);
    assert_eq!(commit.head.forgets, 1, "the count it follows");
    assert_eq!(
        commit.head.last_checkpoint(),
        Checkpoint {
            tx: 3,
            position: 3 << 16
        }
    );
}

#[test]
fn too_many_events_are_refused_naming_the_stream() {
    let mut request = AppendRequest::new("Account", "a-1".parse().unwrap(), 0);
    request.events = vec![NewEvent::of("E", EventBody::empty()); MAX_EVENTS + 1];
    let sealed = Sealed {
        value: vec!["{}".to_owned(); MAX_EVENTS + 1],
        forgets: 0,
    };
    match encode(&request, 1, &sealed) {
        Err(Error::UnstorableJson {
            aggregate_id,
            problem,
            ..
        }) => {
            assert_eq!(aggregate_id, "a-1");
            assert!(problem.contains("65536 events"), "{problem}");
        }
        other => panic!("{:?}", other.map(|o| o.ids.len())),
    }
}

#[test]
fn a_forget_marker_is_a_marker_that_counts_the_forget() {
    let at = Known {
        seq: 7,
        version: 4,
        forgets: 1,
    };
    let message = StreamMessage {
        subject: "events.Account.a".into(),
        sequence: 8,
        headers: forget_marker(&at, 2),
        payload: Bytes::new(),
        time: async_nats::datetime::now(),
    };
    let commit = decode(&message).unwrap();
    assert!(commit.events.is_empty(), "skipped by loads and the tracker");
    let after = Known {
        seq: 8,
        version: 4,
        forgets: 2,
    };
    assert_eq!(commit.head.known(), after, "a reader drops older key sets");
    assert_eq!(
        message.headers.get(header::FORGET).map(|v| v.as_str()),
        Some("2")
    );
}

#[test]
fn a_commit_body_is_the_array_of_its_bodies_and_headers_say_only_what_is_not_default() {
    let plain = AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
        .event(NewEvent::new("Opened", &serde_json::json!({ "owner": "x" })).unwrap());
    let sealed = Sealed {
        value: vec![r#"{"owner":"1:c2VhbGVk"}"#.to_owned()],
        forgets: 0,
    };
    let outgoing = encode(&plain, 1, &sealed).unwrap();
    assert_eq!(&outgoing.payload[..], br#"[{"owner":"1:c2VhbGVk"}]"#);
    for absent in [header::SCHEMA_VERSIONS, header::METADATA] {
        assert!(outgoing.headers.get(absent).is_none(), "{absent}");
    }
    let commit = decode(&stored(outgoing, 2)).unwrap();
    assert_eq!(commit.events[0].schema_version, 1);
    assert_eq!(commit.metadata, Metadata::default());

    let mut newer = NewEvent::new("Opened", &serde_json::json!({ "owner": "x" })).unwrap();
    newer.schema_version = 3;
    let mixed = AppendRequest::new("Account", "a-1".parse().unwrap(), 1)
        .metadata(Metadata::default().correlation_id("c,\n\"1\"").actor("é"))
        .event(NewEvent::new("Closed", &serde_json::json!({})).unwrap())
        .event(newer);
    let sealed = Sealed {
        value: vec!["{}".to_owned(), r#"{"owner":null}"#.to_owned()],
        forgets: 0,
    };
    let commit = decode(&stored(encode(&mixed, 2, &sealed).unwrap(), 3)).unwrap();
    let read: Vec<_> = commit
        .events
        .iter()
        .map(|e| (e.kind.as_str(), e.schema_version, e.sealed.as_str()))
        .collect();
    assert_eq!(
        read,
        [("Closed", 1, "{}"), ("Opened", 3, r#"{"owner":null}"#)]
    );
    assert_eq!(commit.metadata, mixed.metadata);
}

#[test]
fn a_commit_whose_headers_disagree_with_its_body_is_corrupt() {
    let request = AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
        .event(NewEvent::new("Opened", &serde_json::json!({})).unwrap());
    let sealed = Sealed {
        value: vec!["{}".to_owned()],
        forgets: 0,
    };
    let mut outgoing = encode(&request, 1, &sealed).unwrap();
    outgoing.headers.insert(header::KINDS, "Opened,Closed");
    let problem = decode(&stored(outgoing, 2)).unwrap_err();
    assert!(problem.contains(header::KINDS), "{problem}");
}
