//! The forwarder from PostgreSQL to JetStream, and the reader that catches
//! up from both: every event in the stream once, in commit order, across a
//! NATS outage and a forwarder that starts over; a reader of a stream that
//! dropped old messages sees what a reader of the store sees.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use async_nats::jetstream::Context;
use async_nats::jetstream::stream::StorageType;
use eventstore_core::backend::conformance::reactor::running::{Running, fast};
use eventstore_core::backend::{AppendRequest, NewEvent};
use eventstore_core::reactor::{ReactorStore, Runner};
use eventstore_core::{
    Checkpoint, EventBody, EventFilter, EventId, EventStore, Metadata, RecordedEvent, Tracker,
};
use eventstore_nats::forward::{CatchUp, Delivery, Events, Forwarder, header};
use eventstore_postgres::PgEventStore;
use eventstore_tests::nats_server::{NatsServer, shared_jetstream};
use eventstore_tests::postgres::fresh_store;
use futures_util::StreamExt as _;

/// Runs `test`, failing it when it takes longer than `limit`.
async fn within<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"))
}

/// Appends `appends` commits of one or two events to the aggregates
/// `<writer>-0` to `<writer>-4`, `pause` apart.
async fn write(store: PgEventStore, writer: &str, appends: u64, pause: Duration) {
    let mut versions = [0_u64; 5];
    for n in 0..appends {
        let slot = usize::try_from(n % 5).expect("below 5");
        let id = format!("{writer}-{slot}");
        let events = 1 + n % 2;
        let mut request = AppendRequest::new("Account", id.parse().expect("an id"), versions[slot])
            .metadata(Metadata::default().correlation_id(format!("{writer}/{n}")));
        for e in 0..events {
            let body = EventBody::encode(&serde_json::json!({ "n": n, "e": e })).expect("a body");
            request = request.event(NewEvent::of("Deposited", body));
        }
        store.append(request).await.expect("an append");
        versions[slot] += events;
        tokio::time::sleep(pause).await;
    }
}

/// Every event of the store, in commit order.
async fn store_events(store: &PgEventStore) -> Vec<RecordedEvent> {
    store
        .read_after(Checkpoint::BEGINNING, &EventFilter::all(), 10_000)
        .await
        .expect("read the store")
}

/// The stream's last sequence, waiting (at most `limit`) until it is
/// `wanted`.
async fn wait_for_last_sequence(jetstream: &Context, stream: &str, wanted: u64, limit: Duration) {
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < limit {
        if let Ok(mut s) = jetstream.get_stream(stream).await {
            if let Ok(info) = s.info().await {
                last = info.state.last_sequence;
                if last >= wanted {
                    assert_eq!(
                        last, wanted,
                        "stream {stream} holds more messages than events"
                    );
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("stream {stream} reached sequence {last}, not {wanted}, within {limit:?}");
}

/// The event ids of the stream's messages, in stream order (by the
/// `Nats-Msg-Id` header), with each message's aggregate id and version.
async fn stream_messages(jetstream: &Context, stream: &str) -> Vec<(String, String, u64)> {
    let s = jetstream.get_stream(stream).await.expect("the stream");
    let state = s.cached_info().state.clone();
    let mut messages = Vec::new();
    for sequence in state.first_sequence..=state.last_sequence {
        let message = s.get_raw_message(sequence).await.expect("a message");
        let text = |name: &str| {
            message
                .headers
                .get(name)
                .unwrap_or_else(|| panic!("message {sequence} has no {name} header"))
                .as_str()
                .to_owned()
        };
        let version = text(header::VERSION).parse().expect("a version");
        messages.push((text(header::MSG_ID), text(header::AGGREGATE_ID), version));
    }
    messages
}

/// The reader's next event, failing when none comes within 10 s.
async fn next_of<S: Tracker>(reader: &mut Events<S>, read: usize) -> Delivery {
    tokio::time::timeout(Duration::from_secs(10), reader.next())
        .await
        .unwrap_or_else(|_| panic!("no event after the {read} read, within 10 s"))
        .expect("the next event")
}

/// A stream name of its own for a test on the shared server.
fn stream_name(test: &str) -> String {
    format!("{TEST_STREAM_PREFIX}{test}_{}", EventId::new())
}

/// What the names of this file's streams on the shared server start with.
const TEST_STREAM_PREFIX: &str = "FWD_TEST_";

/// The shared server, without the streams that this file's tests left
/// there more than an hour ago (a failing test keeps its stream for a
/// look).
async fn shared_server() -> Context {
    let jetstream = shared_jetstream().await;
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut streams = jetstream.streams();
    let mut stale = Vec::new();
    while let Some(info) = streams.next().await {
        // another test may delete a stream while this one lists them:
        // the sweep is best effort
        let Ok(info) = info else { break };
        let created = SystemTime::from(info.created);
        if info.config.name.starts_with(TEST_STREAM_PREFIX) && created < hour_ago {
            stale.push(info.config.name);
        }
    }
    for name in stale {
        let _ = jetstream.delete_stream(&name).await;
    }
    jetstream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_is_in_the_stream_once_in_commit_order_across_a_nats_restart() {
    within(Duration::from_secs(150), async {
        let mut server = NatsServer::start().await;
        let store = fresh_store().await;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(1))
            .connect(server.url())
            .await
            .expect("connect to the test's NATS server");
        let mut jetstream = async_nats::jetstream::new(client);
        jetstream.set_timeout(Duration::from_secs(1));
        let forwarder = Forwarder::new(jetstream.clone(), "FORWARDED", "events");
        forwarder.ensure_stream().await.expect("the stream");
        let options = Forwarder::runner_options()
            .poll_interval(Duration::from_millis(50))
            .backoff(Duration::from_millis(50), Duration::from_millis(500));
        let running = Running::start(Runner::new(store.clone(), forwarder).options(options));

        let writers: Vec<_> = ["w0", "w1", "w2", "w3"]
            .into_iter()
            .map(|w| tokio::spawn(write(store.clone(), w, 120, Duration::from_millis(30))))
            .collect();
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.stop().await;
        let before_outage = store_events(&store).await.len();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after_outage = store_events(&store).await.len();
        // what NATS never acknowledged is not behind the checkpoint
        let head = store.head().await.expect("the store's head");
        let status = Runner::new(
            store.clone(),
            Forwarder::new(jetstream.clone(), "FORWARDED", "events"),
        )
        .status()
        .await
        .expect("the forwarder's status");
        assert!(
            status.partitions[0].checkpoint < head,
            "the checkpoint {:?} passed events written while NATS was down (head {head:?})",
            status.partitions[0].checkpoint
        );
        server.start_again().await;
        let after_restart = store_events(&store).await.len();
        for writer in writers {
            writer.await.expect("a writer");
        }
        assert!(
            after_outage > before_outage,
            "events must be written while NATS is down: {before_outage} then {after_outage}"
        );
        assert!(
            after_restart < 720,
            "events must be written after NATS is back: {after_restart} were before"
        );

        let events = store_events(&store).await;
        assert_eq!(events.len(), 4 * (60 + 120), "every append is in the store");
        let total = u64::try_from(events.len()).expect("a count");
        wait_for_last_sequence(&jetstream, "FORWARDED", total, Duration::from_secs(60)).await;
        // a late publish would show now
        tokio::time::sleep(Duration::from_millis(500)).await;
        running.stop().await;
        let messages = stream_messages(&jetstream, "FORWARDED").await;

        let ids: Vec<String> = messages.iter().map(|(id, _, _)| id.clone()).collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "an event was published twice");
        let stored: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(
            ids, stored,
            "the stream holds the store's events in commit order"
        );
        let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, aggregate, version) in &messages {
            let last = versions.entry(aggregate).or_default();
            assert_eq!(*version, *last + 1, "{aggregate}'s events in version order");
            *last = *version;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarder_that_starts_over_after_the_duplicate_window_adds_nothing() {
    within(Duration::from_secs(60), async {
        let store = fresh_store().await;
        let jetstream = shared_server().await;
        let stream = stream_name("FWD_OVER");
        let prefix = format!("over.{}", EventId::new());
        let forwarder = |name: &str| {
            Forwarder::new(jetstream.clone(), &stream, &prefix)
                .name(name)
                .storage(StorageType::Memory)
                .duplicate_window(Duration::from_millis(500))
        };
        write(store.clone(), "a", 10, Duration::ZERO).await;
        let first =
            Running::start(Runner::new(store.clone(), forwarder("first")).options(fast("first")));
        wait_for_last_sequence(&jetstream, &stream, 15, Duration::from_secs(20)).await;
        first.stop().await;
        // JetStream has forgotten the message ids by now
        tokio::time::sleep(Duration::from_secs(1)).await;

        let again =
            Running::start(Runner::new(store.clone(), forwarder("again")).options(fast("again")));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        write(store.clone(), "b", 2, Duration::ZERO).await;
        wait_for_last_sequence(&jetstream, &stream, 18, Duration::from_secs(20)).await;
        again.stop().await;
        let ids: Vec<String> = stream_messages(&jetstream, &stream)
            .await
            .into_iter()
            .map(|m| m.0)
            .collect();
        let stored: Vec<String> = store_events(&store)
            .await
            .iter()
            .map(|e| e.id.to_string())
            .collect();
        assert_eq!(ids, stored);
        jetstream
            .delete_stream(&stream)
            .await
            .expect("delete the test's stream");
    })
    .await;
}

/// What a projection keeps: per aggregate, how many events and their ids
/// in order.
fn project(events: &[RecordedEvent]) -> BTreeMap<String, (usize, Vec<EventId>)> {
    let mut projection: BTreeMap<String, (usize, Vec<EventId>)> = BTreeMap::new();
    for event in events {
        let entry = projection.entry(event.aggregate_id.clone()).or_default();
        entry.0 += 1;
        entry.1.push(event.id);
    }
    projection
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_catches_up_from_a_short_stream_sees_what_the_store_holds() {
    within(Duration::from_secs(90), async {
        let store = fresh_store().await;
        let jetstream = shared_server().await;
        let stream = stream_name("FWD_CATCH_UP");
        let forwarder = Forwarder::new(
            jetstream.clone(),
            &stream,
            format!("catch.{}", EventId::new()),
        )
        .storage(StorageType::Memory)
        .max_messages(15);
        let running = Running::start(Runner::new(store.clone(), forwarder).options(fast("f")));
        for writer in ["a", "b", "c", "d"] {
            write(store.clone(), writer, 20, Duration::ZERO).await;
        }
        wait_for_last_sequence(&jetstream, &stream, 120, Duration::from_secs(30)).await;

        // the stream holds only the last 15; more are written while the reader reads
        let mut reader = CatchUp::new(store.clone(), jetstream.clone(), &stream)
            .page_size(7)
            .start()
            .await
            .expect("start reading");
        let later = tokio::spawn(write(store.clone(), "e", 40, Duration::from_millis(10)));
        let mut deliveries = Vec::new();
        while deliveries.len() < 180 {
            deliveries.push(next_of(&mut reader, deliveries.len()).await);
        }
        later.await.expect("the writer");
        running.stop().await;

        let events: Vec<RecordedEvent> = deliveries.iter().map(|d| d.event.clone()).collect();
        let stored = store_events(&store).await;
        assert_eq!(stored.len(), 180);
        assert_eq!(project(&events), project(&stored));
        assert_eq!(
            events, stored,
            "the same events, in commit order, envelopes and all"
        );
        let from_store = deliveries
            .iter()
            .filter(|d| d.stream_sequence.is_none())
            .count();
        let first_from_stream = deliveries.iter().find_map(|d| d.stream_sequence);
        assert!(
            from_store >= 105,
            "the dropped messages come from the store: {from_store}"
        );
        assert!(
            first_from_stream.is_some_and(|s| s > 1),
            "the stream dropped its first messages: {first_from_stream:?}"
        );

        // resuming after the 150th event gives the last 30
        let mut resumed = CatchUp::new(store.clone(), jetstream.clone(), &stream)
            .after(events[149].checkpoint())
            .start()
            .await
            .expect("resume reading");
        for (read, expected) in events[150..].iter().enumerate() {
            assert_eq!(&next_of(&mut resumed, read).await.event, expected);
        }
        assert_eq!(resumed.checkpoint(), events[179].checkpoint());
        jetstream
            .delete_stream(&stream)
            .await
            .expect("delete the test's stream");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarder_in_one_of_several_partitions_publishes_nothing() {
    within(Duration::from_secs(60), async {
        let store = fresh_store().await;
        let jetstream = shared_server().await;
        let stream = stream_name("FWD_PARTS");
        let forwarder = Forwarder::new(
            jetstream.clone(),
            &stream,
            format!("parts.{}", EventId::new()),
        )
        .name("parts")
        .storage(StorageType::Memory);
        forwarder.ensure_stream().await.expect("the stream");
        write(store.clone(), "a", 4, Duration::ZERO).await;
        let running = Running::start(
            Runner::new(store.clone(), forwarder).options(fast("p").partitions(2).max_attempts(1)),
        );
        let started = Instant::now();
        while store.parked_count("parts").await.expect("count parked") < 6 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the events are parked within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        running.stop().await;
        let parked = store
            .parked("parts", 0, 10)
            .await
            .expect("the parked events");
        assert!(
            parked
                .iter()
                .all(|p| p.error.contains("run it with one partition")),
            "{parked:?}"
        );
        let mut info = jetstream.get_stream(&stream).await.expect("the stream");
        assert_eq!(info.info().await.expect("its state").state.messages, 0);
        jetstream
            .delete_stream(&stream)
            .await
            .expect("delete the test's stream");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_falls_behind_a_short_stream_reads_what_it_dropped_from_the_store() {
    within(Duration::from_secs(120), async {
        let store = fresh_store().await;
        let jetstream = shared_server().await;
        let stream = stream_name("FWD_BEHIND");
        let forwarder = Forwarder::new(
            jetstream.clone(),
            &stream,
            format!("behind.{}", EventId::new()),
        )
        .storage(StorageType::Memory)
        .max_messages(10);
        let running = Running::start(Runner::new(store.clone(), forwarder).options(fast("f")));
        write(store.clone(), "a", 4, Duration::ZERO).await;
        wait_for_last_sequence(&jetstream, &stream, 6, Duration::from_secs(20)).await;
        let mut reader = CatchUp::new(store.clone(), jetstream.clone(), &stream)
            .start()
            .await
            .expect("start reading");
        let mut deliveries = Vec::new();
        while deliveries.len() < 6 {
            deliveries.push(next_of(&mut reader, deliveries.len()).await);
        }
        // the reader stops reading while far more is forwarded than its
        // consumer holds for it and than the stream keeps
        let writers: Vec<_> = ["b", "c"]
            .into_iter()
            .map(|w| tokio::spawn(write(store.clone(), w, 200, Duration::ZERO)))
            .collect();
        for writer in writers {
            writer.await.expect("a writer");
        }
        wait_for_last_sequence(&jetstream, &stream, 606, Duration::from_secs(60)).await;
        while deliveries.len() < 606 {
            deliveries.push(next_of(&mut reader, deliveries.len()).await);
        }
        running.stop().await;

        let events: Vec<RecordedEvent> = deliveries.iter().map(|d| d.event.clone()).collect();
        assert_eq!(events, store_events(&store).await);
        let first_from_stream = deliveries
            .iter()
            .position(|d| d.stream_sequence.is_some())
            .expect("some events come from the stream");
        assert!(
            deliveries[first_from_stream..]
                .iter()
                .any(|d| d.stream_sequence.is_none()),
            "after reading from the stream, the reader fills what the stream dropped from the store"
        );
        jetstream
            .delete_stream(&stream)
            .await
            .expect("delete the test's stream");
    })
    .await;
}
