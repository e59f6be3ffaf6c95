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
    let message = stored(outgoing, 9);
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
            "Account",
            "a",
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
        headers: forget_marker("Account", "a", &at, 2),
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
