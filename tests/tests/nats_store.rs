//! What is JetStream's own in the NATS store: one message per commit,
//! idempotency keys under racing and crashing writers, subjects of
//! awkward ids, commits no message can hold. Against the server at
//! 127.0.0.1:4222 (`scripts/ensure-nats`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use eventstore_core::backend::{
    AppendOutcome, AppendRequest, JsonText, NewEvent, RecordedOutcome, RefusalOutcome,
    RefusalRequest, StreamEvent,
};
use eventstore_core::{Checkpoint, Error, EventBody, EventFilter, EventStore, Tracker};
use eventstore_nats::NatsStore;
use eventstore_nats::subject::{encode_token, stream_subject};
use eventstore_tests::nats::{fresh_options, fresh_store, fresh_store_with};
use serde_json::json;

fn deposit(amount: u64) -> NewEvent {
    NewEvent::new("Deposited", &json!({ "amount": amount })).expect("an object")
}

fn keyed(id: &str, version: u64, key: &str) -> AppendRequest {
    AppendRequest::new("Account", id.parse().unwrap(), version)
        .idempotency_key(key)
        .event(deposit(1))
}

/// The idempotency bucket of `store`.
async fn key_bucket(store: &NatsStore) -> async_nats::jetstream::kv::Store {
    store
        .jetstream()
        .get_key_value(store.options().idempotency_bucket())
        .await
        .expect("the idempotency bucket")
}

/// The stream of `store`.
async fn stream(store: &NatsStore) -> async_nats::jetstream::stream::Stream {
    store
        .jetstream()
        .get_stream(store.options().stream_name())
        .await
        .expect("the stream")
}

/// The subject of `Account` `id` in `store`.
fn subject(store: &NatsStore, id: &str) -> String {
    let prefix = store.options().subjects();
    stream_subject(prefix.trim_end_matches(".>"), "Account", id)
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_racing_with_one_key_commit_once() {
    let store = fresh_store().await;
    store
        .append(AppendRequest::new("Account", "a-1".parse().unwrap(), 0).event(deposit(0)))
        .await
        .expect("open");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.append(keyed("a-1", 1, "same")).await })
        })
        .collect();
    let mut committed = 0;
    for task in tasks {
        let outcome = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every writer ends within 30 s")
            .expect("task");
        match outcome {
            Ok(AppendOutcome::Committed(_)) => committed += 1,
            Ok(AppendOutcome::AlreadyApplied) | Err(Error::Conflict { .. }) => {}
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    let versions: Vec<u64> = store
        .load("Account", "a-1", 0)
        .await
        .expect("load")
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(
        store
            .idempotency_key_outcome("Account", "a-1", "same")
            .await
            .expect("outcome"),
        Some(RecordedOutcome::Applied)
    );
}

/// A writer recorded its key (pending) and crashed, or stalls, before it
/// published: the next writer with the key waits out the grace, fences
/// the first off and commits once; the first one's late publish fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_recorded_by_a_writer_that_never_published_is_taken_over_once() {
    let store = fresh_store_with(fresh_options().pending_grace(Duration::from_millis(300))).await;
    let bucket = key_bucket(&store).await;
    let name = format!("Account.a-1.{}", encode_token("t-1/withdraw"));
    let pending = json!({ "pending": { "after_seq": 0, "since_ms": now_ms() } });
    bucket
        .create(&name, serde_json::to_vec(&pending).unwrap().into())
        .await
        .expect("the crashed writer's entry");
    assert_eq!(
        store
            .idempotency_key_outcome("Account", "a-1", "t-1/withdraw")
            .await
            .expect("outcome"),
        None,
        "a pending key without its commit has no outcome"
    );

    let second = tokio::time::timeout(
        Duration::from_secs(10),
        store.append(keyed("a-1", 0, "t-1/withdraw")),
    )
    .await
    .expect("the grace is 300 ms")
    .expect("append");
    assert!(
        matches!(second, AppendOutcome::Committed(ref e) if e.len() == 1),
        "{second:?}"
    );
    let again = store
        .append(keyed("a-1", 1, "t-1/withdraw"))
        .await
        .expect("append");
    assert_eq!(again, AppendOutcome::AlreadyApplied);

    // the stalled first writer publishes now, expecting the subject empty
    let late = PublishMessage::build()
        .payload("late".into())
        .expected_last_subject_sequence(0);
    let refused = async {
        store
            .jetstream()
            .send_publish(subject(&store, "a-1"), late)
            .await?
            .await
    }
    .await;
    assert_eq!(
        refused.map(|ack| ack.sequence).map_err(|e| e.kind()),
        Err(PublishErrorKind::WrongLastSequence)
    );
    let events = store.load("Account", "a-1", 0).await.expect("load");
    assert_eq!(events.len(), 1, "one commit: {events:?}");
}

/// A refusal decided while a stalled writer holds the key pending: the
/// fence alone (no commit follows it) makes the stalled publish fail, and
/// the key's outcome is the refusal; loads skip the marker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fence_alone_stops_a_stalled_writer() {
    let store = fresh_store_with(fresh_options().pending_grace(Duration::from_millis(300))).await;
    let bucket = key_bucket(&store).await;
    let pending = json!({ "pending": { "after_seq": 0, "since_ms": now_ms() } });
    bucket
        .create(
            "Account.a-1.k",
            serde_json::to_vec(&pending).unwrap().into(),
        )
        .await
        .expect("the stalled writer's entry");
    let error = JsonText::encode(&"NotOpen").unwrap();
    let refusal = RefusalRequest::new("Account", "a-1".parse().unwrap(), "k", 0, error.clone());
    let recorded = tokio::time::timeout(Duration::from_secs(10), store.record_refusal(refusal))
        .await
        .expect("the grace is 300 ms")
        .expect("record_refusal");
    assert_eq!(recorded, RefusalOutcome::Recorded);

    let late = PublishMessage::build()
        .payload("late".into())
        .expected_last_subject_sequence(0);
    let refused = async {
        store
            .jetstream()
            .send_publish(subject(&store, "a-1"), late)
            .await?
            .await
    }
    .await;
    assert_eq!(
        refused.map(|ack| ack.sequence).map_err(|e| e.kind()),
        Err(PublishErrorKind::WrongLastSequence),
        "the fence moved the subject"
    );
    assert!(
        store
            .load("Account", "a-1", 0)
            .await
            .expect("load")
            .is_empty()
    );
    assert_eq!(store.head().await.expect("head"), Checkpoint::BEGINNING);
    assert_eq!(
        store
            .idempotency_key_outcome("Account", "a-1", "k")
            .await
            .expect("outcome"),
        Some(RecordedOutcome::Rejected(Some(error)))
    );
    let committed = store
        .append(AppendRequest::new("Account", "a-1".parse().unwrap(), 0).event(deposit(1)))
        .await
        .expect("append after the marker");
    assert!(matches!(committed, AppendOutcome::Committed(ref e) if e[0].version == 1));
}

/// The stalled writer of a pending key publishes while the next writer
/// waits: the next one finds its commit and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_crashed_after_publishing_left_its_key_applied() {
    let store = fresh_store().await;
    store
        .append(keyed("a-1", 0, "k"))
        .await
        .expect("the first writer's commit");
    // as if it crashed before recording the key as applied
    let bucket = key_bucket(&store).await;
    let pending = json!({ "pending": { "after_seq": 0, "since_ms": now_ms() } });
    bucket
        .put(
            "Account.a-1.k",
            serde_json::to_vec(&pending).unwrap().into(),
        )
        .await
        .expect("back to pending");
    assert_eq!(
        store
            .idempotency_key_outcome("Account", "a-1", "k")
            .await
            .expect("outcome"),
        Some(RecordedOutcome::Applied)
    );
    let again = store.append(keyed("a-1", 1, "k")).await.expect("append");
    assert_eq!(again, AppendOutcome::AlreadyApplied);
    assert_eq!(
        store.load("Account", "a-1", 0).await.expect("load").len(),
        1
    );
}

#[tokio::test]
async fn awkward_kinds_and_ids_round_trip_through_append_load_and_tracker() {
    let store = fresh_store().await;
    let ids = ["a.b", "a b", "*", ">", "a.*.>", "ünï✓ 口座", "=41", "~"];
    for id in ids {
        let request = AppendRequest::new("Money.Transfer *", id.parse().unwrap(), 0)
            .idempotency_key("key.with >*")
            .event(deposit(1));
        store.append(request).await.expect("append");
        let loaded = store.load("Money.Transfer *", id, 0).await.expect("load");
        assert_eq!(loaded.len(), 1, "{id:?}");
        assert_eq!(loaded[0].aggregate_id, id);
        assert_eq!(
            store
                .idempotency_key_outcome("Money.Transfer *", id, "key.with >*")
                .await
                .expect("outcome"),
            Some(RecordedOutcome::Applied),
            "{id:?}"
        );
    }
    let filter = EventFilter::all().aggregate_kind("Money.Transfer *");
    let read = store
        .read_after(Checkpoint::BEGINNING, &filter, 100)
        .await
        .expect("read");
    let read_ids: Vec<&str> = read.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(read_ids, ids);
    assert!(read.iter().all(|e| e.aggregate_kind == "Money.Transfer *"));
}

#[tokio::test]
async fn a_commit_of_several_events_is_one_message_and_loads_whole() {
    let store = fresh_store().await;
    let request = AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
        .event(deposit(1))
        .event(deposit(2))
        .event(deposit(3));
    let AppendOutcome::Committed(written) = store.append(request).await.expect("append") else {
        panic!("not committed");
    };
    let stream = stream(&store).await;
    let info = stream.get_info().await.expect("info");
    assert_eq!(info.state.messages, 1, "one message for three events");
    let message = stream
        .get_raw_message(info.state.last_sequence)
        .await
        .expect("the message");
    assert_eq!(
        message.headers.get("Es-Count").map(|v| v.as_str()),
        Some("3")
    );
    assert_eq!(
        message.headers.get("Es-Version").map(|v| v.as_str()),
        Some("1")
    );
    let body: serde_json::Value = serde_json::from_slice(&message.payload).expect("JSON");
    assert_eq!(body.as_array().map(Vec::len), Some(3), "the bodies only");
    let sealed = body[2]["amount"].as_str().unwrap_or_default();
    assert!(
        sealed
            .split_once(':')
            .is_some_and(|(key, _)| key.parse::<u64>().is_ok()),
        "the field is sealed with a key of the aggregate: {body}"
    );
    assert_eq!(
        message.headers.get("Es-Forgets").map(|v| v.as_str()),
        Some("0")
    );

    let loaded = store.load("Account", "a-1", 0).await.expect("load");
    assert_eq!(loaded, written);
    let seq = message.sequence;
    let positions: Vec<u64> = loaded.iter().map(|e| e.position).collect();
    assert_eq!(positions, [seq << 16, seq << 16 | 1, seq << 16 | 2]);
    assert!(loaded.iter().all(|e| e.tx == seq));
}

#[tokio::test]
async fn a_commit_no_message_can_hold_is_a_typed_error_and_writes_nothing() {
    let store = fresh_store().await;
    let mut many = AppendRequest::new("Account", "a-1".parse().unwrap(), 0);
    many.events = vec![NewEvent::of("Tick", EventBody::empty()); 65_536];
    let big = json!({ "blob": "x".repeat(2 * 1024 * 1024) });
    let huge = AppendRequest::new("Account", "a-1".parse().unwrap(), 0)
        .event(NewEvent::new("Blob", &big).expect("an object"));
    for request in [many, huge] {
        match store.append(request).await {
            Err(Error::UnstorableJson {
                aggregate_id,
                problem,
                ..
            }) => {
                assert_eq!(aggregate_id, "a-1", "{problem}");
            }
            other => panic!("expected UnstorableJson, got {other:?}"),
        }
    }
    assert_eq!(store.head().await.expect("head"), Checkpoint::BEGINNING);
    assert!(
        store
            .load("Account", "a-1", 0)
            .await
            .expect("load")
            .is_empty()
    );
}

/// A reader is woken by an append of another process (another
/// connection), pushed by the server: no poll.
#[tokio::test]
async fn an_append_elsewhere_wakes_a_reader() {
    let store = fresh_store().await;
    let elsewhere = NatsStore::connect(store.options().clone())
        .await
        .expect("a second connection");
    let mut wakeups = store.wakeups();
    assert!(
        !wakeups.wait(Duration::from_millis(50)).await,
        "nothing appended yet"
    );
    elsewhere
        .append(AppendRequest::new("Account", "a-1".parse().unwrap(), 0).event(deposit(1)))
        .await
        .expect("append");
    assert!(
        wakeups.wait(Duration::from_secs(5)).await,
        "woken by the append"
    );
}

/// A process that remembers the head of a stream from before a marker
/// (another process's fence) still appends at the stream's version: a
/// marker moves the subject but not the version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_unseen_by_a_writer_is_no_conflict() {
    let store = fresh_store().await;
    let other = NatsStore::connect(store.options().clone())
        .await
        .expect("a second connection");
    store
        .append(AppendRequest::new("Account", "a-1".parse().unwrap(), 0).event(deposit(1)))
        .await
        .expect("append");
    // a key left pending long ago, fenced off by the other process
    let pending = json!({ "pending": { "after_seq": 1, "since_ms": 0 } });
    key_bucket(&store)
        .await
        .create(
            "Account.a-1.k",
            serde_json::to_vec(&pending).unwrap().into(),
        )
        .await
        .expect("an old pending key");
    let error = JsonText::encode(&"NotOpen").unwrap();
    let refusal = RefusalRequest::new("Account", "a-1".parse().unwrap(), "k", 1, error);
    assert_eq!(
        other.record_refusal(refusal).await.expect("record_refusal"),
        RefusalOutcome::Recorded
    );
    let info = stream(&store).await.get_info().await.expect("info");
    assert_eq!(
        info.state.last_sequence, 2,
        "the fence is the second message"
    );

    let appended = store
        .append(AppendRequest::new("Account", "a-1".parse().unwrap(), 1).event(deposit(2)))
        .await;
    assert!(
        matches!(appended, Ok(AppendOutcome::Committed(ref e)) if e[0].version == 2),
        "{appended:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_load_streams_every_event_in_order_and_pages_stop_where_asked() {
    let options = fresh_options();
    let writer = fresh_store_with(options.clone()).await;
    let mut written = Vec::new();
    for version in 0..30 {
        let request =
            AppendRequest::new("Account", "a-1".parse().unwrap(), version).event(deposit(version));
        let AppendOutcome::Committed(events) = writer.append(request).await.expect("append") else {
            panic!("not committed");
        };
        written.extend(events);
    }
    let request = AppendRequest::new("Account", "a-1".parse().unwrap(), 30)
        .event(deposit(30))
        .event(deposit(31))
        .event(deposit(32));
    let AppendOutcome::Committed(events) = writer.append(request).await.expect("append") else {
        panic!("not committed");
    };
    written.extend(events);

    // a handle of its own: nothing cached, every read starts at the subject's start
    let reader = fresh_store_with(options).await;
    let all = reader.load("Account", "a-1", 0).await.expect("load");
    assert_eq!(all, written, "every event, in order, as written");
    let seen = |events: &[StreamEvent]| -> Vec<(u64, String)> {
        events
            .iter()
            .map(|e| (e.version, e.body.to_string()))
            .collect()
    };
    let expected = |events: &[eventstore_core::RecordedEvent]| -> Vec<(u64, String)> {
        events
            .iter()
            .map(|e| (e.version, e.body.to_string()))
            .collect()
    };
    let middle = reader
        .load_page("Account", "a-1", 10, 5)
        .await
        .expect("page");
    assert_eq!(seen(&middle), expected(&written[10..15]));
    let across = reader
        .load_page("Account", "a-1", 29, 100)
        .await
        .expect("page");
    assert_eq!(
        seen(&across),
        expected(&written[29..]),
        "into the three-event commit"
    );

    let request = AppendRequest::new("Account", "a-1".parse().unwrap(), 33).event(deposit(33));
    let AppendOutcome::Committed(last) = writer.append(request).await.expect("append") else {
        panic!("not committed");
    };
    let after = reader.load("Account", "a-1", 0).await.expect("load");
    assert_eq!(after.len(), 34, "what was appended since");
    assert_eq!(after[33..], last);
}
