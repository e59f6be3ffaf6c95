//! Crypto-shredding on JetStream: personal values never reach a message of
//! the stream or of a bucket in plain text, and a forget, which rewrites no
//! message, leaves them unrecoverable by any process while everything else
//! still loads. Against the server at 127.0.0.1:4222 (`scripts/ensure-nats`).

use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use eventstore_core::backend::conformance::account::{
    Account, AccountEvent, Decision, OwnerUpdated,
};
use eventstore_core::backend::conformance::eventually::snapshot_when;
use eventstore_core::backend::{AppendOutcome, AppendRequest, NewEvent, RecordedOutcome};
use eventstore_core::{
    EventStore, ForgetRequest, Forgotten, Options, Outcome, RecordedEvent, Repository,
};
use eventstore_nats::NatsStore;
use eventstore_tests::nats::{fresh_store, fresh_store_with};
use serde_json::{Value, json};

/// A stream or bucket of one test holds a few dozen messages at most.
const MAX_MESSAGES: u64 = 1_000;

/// Runs `decide` on the account `id` and expects it done.
async fn done(repo: &Repository<NatsStore>, id: &str, decide: impl Fn(&Account) -> Decision) {
    let outcome = repo
        .execute(id, Options::default(), |a: &Account| decide(a))
        .await
        .unwrap_or_else(|e| panic!("command on {id}: {e}"));
    assert!(matches!(outcome, Outcome::Done(_)), "{id}: {outcome:?}");
}

/// The headers (in name order: the map has none) and payload of
/// `message`, as bytes.
fn raw_bytes(message: &StreamMessage) -> Vec<u8> {
    let mut headers: Vec<_> = message
        .headers
        .iter()
        .map(|(name, values)| (name.to_string(), values))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut bytes = Vec::new();
    for (name, values) in headers {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(b':');
        for value in values {
            bytes.extend_from_slice(value.as_str().as_bytes());
            bytes.push(b'\n');
        }
    }
    bytes.extend_from_slice(&message.payload);
    bytes
}

/// Every message of the stream `name`, read one by one by its sequence.
async fn raw_messages(store: &NatsStore, name: &str) -> Vec<StreamMessage> {
    let mut stream = store
        .jetstream()
        .get_stream(name)
        .await
        .unwrap_or_else(|e| panic!("the stream {name}: {e}"));
    let state = stream.info().await.expect("stream info").state.clone();
    assert!(state.last_sequence < MAX_MESSAGES, "{name}: {state:?}");
    let mut messages = Vec::new();
    for sequence in state.first_sequence..=state.last_sequence {
        // a bucket's replaced values are gone from its stream
        if let Ok(message) = stream.get_raw_message(sequence).await {
            messages.push(message);
        }
    }
    assert_eq!(
        messages.len() as u64,
        state.messages,
        "{name}: every message read"
    );
    messages
}

/// The event stream's and every bucket's stream's name.
fn every_stream(store: &NatsStore) -> Vec<String> {
    let options = store.options();
    let mut names = vec![options.stream_name().to_owned()];
    for bucket in [
        options.idempotency_bucket(),
        options.snapshot_bucket(),
        options.secrets_bucket(),
    ] {
        names.push(format!("KV_{bucket}"));
    }
    names
}

/// Whether `haystack` holds `needle` anywhere.
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Panics when any message of the stream or of a bucket holds one of
/// `needles`, naming where.
async fn assert_nowhere(store: &NatsStore, needles: &[&str]) {
    for name in every_stream(store) {
        for message in raw_messages(store, &name).await {
            let bytes = raw_bytes(&message);
            for needle in needles {
                assert!(
                    !holds(&bytes, needle),
                    "{needle:?} in plain text in {name} at {}: {}",
                    message.sequence,
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
}

/// The keys (base64) of the key sets in the secrets bucket's messages.
async fn stored_keys(store: &NatsStore) -> Vec<String> {
    let name = format!("KV_{}", store.options().secrets_bucket());
    let mut keys = Vec::new();
    for message in raw_messages(store, &name).await {
        let set: Value = serde_json::from_slice(&message.payload).expect("a key set");
        let held = set["keys"].as_object().expect("keys by id");
        keys.extend(
            held.values()
                .map(|k| k.as_str().expect("base64").to_owned()),
        );
    }
    keys
}

/// The owner field of each event's body.
fn owners(events: &[RecordedEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|e| e.body.to_value().expect("a body")["owner"].clone())
        .collect()
}

/// Another handle on the same stream and buckets: another process, with
/// caches of its own.
async fn another_process(store: &NatsStore) -> NatsStore {
    fresh_store_with(store.options().clone()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn personal_values_are_never_stored_in_plain_and_a_forget_makes_them_unrecoverable() {
    let store = fresh_store().await;
    let repo = Repository::new(store.clone()).snapshot_every(2);
    done(&repo, "acc-ada", |a| a.open("Ada Lovelace", 100)).await;
    done(&repo, "acc-ada", |a| a.update_owner("Ada King")).await;
    done(&repo, "acc-ada", |a| a.deposit(5, "t-deposit-1")).await;
    let refused = repo
        .execute("acc-ada", Options::idempotent("w-1"), |a: &Account| {
            a.withdraw(1_000, "t-withdraw-1")
        })
        .await
        .expect("execute");
    assert!(matches!(refused, Outcome::Rejected(_)), "{refused:?}");
    let snapshot = snapshot_when(&store, "Account", "acc-ada", |_| true).await;
    assert!(snapshot.state.to_string().contains("Ada"), "{snapshot:?}");
    let before = store.load("Account", "acc-ada", 0).await.expect("load");
    assert_eq!(
        owners(&before)[..2],
        [json!("Ada Lovelace"), json!("Ada King")]
    );
    let refusal = store
        .idempotency_key_outcome("Account", "acc-ada", "w-1")
        .await
        .expect("outcome");
    assert!(
        matches!(refusal, Some(RecordedOutcome::Rejected(Some(_)))),
        "{refusal:?}"
    );

    // every value is sealed: names, the deposit's transaction, the refusal's
    // error, the snapshot's state (needles that base64 cannot hold by chance)
    let plain = [
        "Ada Lovelace",
        "Ada King",
        "t-deposit-1",
        "InsufficientFunds",
    ];
    assert_nowhere(&store, &plain).await;
    let history = raw_messages(&store, store.options().stream_name()).await;
    let keys_before = stored_keys(&store).await;

    let forgotten = store
        .forget(&ForgetRequest::personal::<Account>(
            "acc-ada".parse().unwrap(),
        ))
        .await
        .expect("forget");
    assert_eq!(
        forgotten,
        Forgotten {
            events: 2,
            snapshots: 1,
            copies: 1
        }
    );

    // the history stays as it was, one forget marker after it
    let after = raw_messages(&store, store.options().stream_name()).await;
    assert_eq!(
        after.len(),
        history.len() + 1,
        "one message more: the marker"
    );
    for (old, new) in history.iter().zip(&after) {
        assert_eq!(old.sequence, new.sequence);
        assert!(
            raw_bytes(old) == raw_bytes(new),
            "message {} changed: {:?} became {:?}",
            old.sequence,
            String::from_utf8_lossy(&raw_bytes(old)),
            String::from_utf8_lossy(&raw_bytes(new))
        );
    }
    let marker = after.last().expect("the marker");
    assert_eq!(
        marker.headers.get("Es-Count").map(|v| v.as_str()),
        Some("0")
    );
    assert_eq!(
        marker.headers.get("Es-Forget").map(|v| v.as_str()),
        Some("1")
    );
    assert!(marker.payload.is_empty());

    // the destroyed keys are nowhere in the secrets bucket's stream
    let keys_after = stored_keys(&store).await;
    let destroyed: Vec<_> = keys_before
        .iter()
        .filter(|key| !keys_after.contains(key))
        .collect();
    assert!(
        destroyed.len() >= 4,
        "owner ×2, state, refusals: {destroyed:?}"
    );
    for key in &destroyed {
        assert_nowhere(&store, &[key.as_str()]).await;
    }

    // this process, and another one, read null where the names were
    for reader in [store.clone(), another_process(&store).await] {
        let events = reader.load("Account", "acc-ada", 0).await.expect("load");
        assert_eq!(events.len(), before.len());
        assert_eq!(owners(&events)[..2], [Value::Null, Value::Null]);
        assert_eq!(
            events[0].body.to_value().unwrap()["initial_balance"],
            json!(100),
            "the other fields stay"
        );
        assert_eq!(events[2].body, before[2].body, "the deposit stays");
        assert_eq!(
            reader.load_snapshot("Account", "acc-ada").await.unwrap(),
            None
        );
        let refusal = reader
            .idempotency_key_outcome("Account", "acc-ada", "w-1")
            .await
            .expect("outcome");
        assert_eq!(refusal, Some(RecordedOutcome::Rejected(None)));
        let loaded = Repository::new(reader)
            .load::<Account>("acc-ada")
            .await
            .expect("load");
        assert_eq!((loaded.state.owner, loaded.state.balance), (None, 105));
    }

    // a name given after the forget is sealed with a new key and reads back
    done(&repo, "acc-ada", |a| a.update_owner("Ada Byron")).await;
    for reader in [store.clone(), another_process(&store).await] {
        let events = reader.load("Account", "acc-ada", 0).await.expect("load");
        assert_eq!(owners(&events).last(), Some(&json!("Ada Byron")));
    }
    assert_nowhere(&store, &["Ada Byron", "Ada Lovelace", "Ada King"]).await;
}

fn owner_updated(owner: &str) -> NewEvent {
    let event = AccountEvent::from(OwnerUpdated {
        owner: Some(owner.into()),
    });
    NewEvent::encode(&event).expect("an event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_that_cached_keys_before_a_forget_neither_reads_nor_writes_with_them() {
    let store = fresh_store().await;
    done(&Repository::new(store.clone()), "acc-1", |a| {
        a.open("Ada Lovelace", 1)
    })
    .await;
    // another process appends and reads: it caches the aggregate's key set
    // and its head
    let writer = another_process(&store).await;
    done(&Repository::new(writer.clone()), "acc-1", |a| {
        a.update_owner("Ada King")
    })
    .await;
    let reader = another_process(&store).await;
    assert_eq!(
        owners(&reader.load("Account", "acc-1", 0).await.unwrap()),
        [json!("Ada Lovelace"), json!("Ada King")]
    );

    let forget = ForgetRequest::personal::<Account>("acc-1".parse().unwrap());
    assert_eq!(store.forget(&forget).await.expect("forget").events, 2);

    // the reader's cached key set is dropped at the forget's marker
    assert_eq!(
        owners(&reader.load("Account", "acc-1", 0).await.unwrap()),
        [Value::Null, Value::Null]
    );
    // the writer appends at the version it knows, with the keys it cached:
    // the marker moved the subject, so it seals again with new keys (or
    // gets a conflict, which a repository retries)
    let append = AppendRequest::new("Account", "acc-1".parse().unwrap(), 2)
        .event(owner_updated("Grace Hopper"));
    let appended = tokio::time::timeout(Duration::from_secs(30), writer.append(append))
        .await
        .expect("the append ends");
    match appended {
        Ok(AppendOutcome::Committed(events)) => assert_eq!(events[0].version, 3),
        Err(eventstore_core::Error::Conflict { .. }) => {
            done(&Repository::new(writer.clone()), "acc-1", |a| {
                a.update_owner("Grace Hopper")
            })
            .await;
        }
        other => panic!("{other:?}"),
    }
    done(&Repository::new(writer.clone()), "acc-1", |a| {
        a.deposit(1, "t-1")
    })
    .await;
    for handle in [store.clone(), reader, writer, another_process(&store).await] {
        let events = handle.load("Account", "acc-1", 0).await.expect("load");
        assert_eq!(
            owners(&events)[..3],
            [Value::Null, Value::Null, json!("Grace Hopper")],
            "the name written after the forget reads back everywhere"
        );
    }
    assert_nowhere(&store, &["Grace Hopper", "Ada Lovelace", "Ada King"]).await;
}
