//! The secrets against a real NATS: sealing, opening, forgetting, the
//! bucket's history and concurrent writers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eventstore_core::backend::JsonText;
use eventstore_core::{EventBody, ForgetRequest};
use serde_json::{Value, json};

use super::*;
use crate::test_nats::TestBucket;

/// Values that must never be seen in what is stored.
const SECRETS: [&str; 5] = [
    "Ada Lovelace",
    "口座番号",
    "Ünïcødé Straße",
    "crab 🦀 owner",
    "31415926535897",
];

async fn bucket() -> (TestBucket, Secrets) {
    let bucket = TestBucket::new(Secrets::config).await;
    let secrets = Secrets::new(bucket.kv.clone());
    (bucket, secrets)
}

fn body(value: &Value) -> EventBody {
    EventBody::try_from(value).unwrap()
}

/// Seals one event of `kind` (schema version `version`) on Account `id`.
async fn seal_one(
    secrets: &Secrets,
    id: &str,
    (kind, version): (&str, u32),
    value: &Value,
) -> String {
    let body = body(value);
    let event = PlainEvent {
        kind,
        schema_version: version,
        body: &body,
    };
    let sealed = secrets
        .seal("Account", id, 0, &[event])
        .await
        .expect("seal");
    sealed.value.into_iter().next().expect("one body")
}

async fn open(secrets: &Secrets, id: &str, forgets: u64, sealed: &str) -> Value {
    secrets
        .open("Account", id, forgets, sealed)
        .await
        .expect("open")
        .to_value()
        .unwrap()
}

fn forget(id: &str) -> ForgetRequest {
    ForgetRequest::of_kind("Account", id.parse().unwrap())
}

/// Whether `haystack` holds `needle` anywhere.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn bodies_states_and_refusals_round_trip() {
    let (_bucket, secrets) = bucket().await;
    let value = json!({ "owner": "Ada", "balance": 5, "tags": ["a", {"b": null}], "none": null });
    let sealed = seal_one(&secrets, "a-1", ("Opened", 1), &value).await;
    assert_eq!(open(&secrets, "a-1", 0, &sealed).await, value);
    let fresh = Secrets::new(_bucket.kv.clone());
    assert_eq!(
        open(&fresh, "a-1", 0, &sealed).await,
        value,
        "another process"
    );

    let state = JsonText::parse(r#"{"owner": "Ada", "balance": 5}"#).unwrap();
    let sealed_state = secrets
        .seal_state("Account", "a-1", 0, &state)
        .await
        .unwrap();
    let opened = fresh
        .open_state("Account", "a-1", 0, &sealed_state.value)
        .await;
    assert_eq!(opened.unwrap(), Some(state));
    let error = JsonText::parse(r#"{"InsufficientFunds": {"owner": "Ada"}}"#).unwrap();
    let sealed_error = secrets
        .seal_refusal("Account", "a-1", 0, &error)
        .await
        .unwrap();
    assert_eq!(sealed_error.forgets, 0);
    let opened = fresh
        .open_refusal("Account", "a-1", 0, &sealed_error.value)
        .await;
    assert_eq!(opened.unwrap(), Some(error));
    assert!(
        fresh
            .open_state("Account", "a-1", 0, &sealed_error.value)
            .await
            .is_err(),
        "a refusal's value does not open as a state"
    );
}

#[tokio::test]
async fn no_plain_value_is_stored_anywhere() {
    let (bucket, secrets) = bucket().await;
    let mut stored = Vec::new();
    for (n, secret) in SECRETS.iter().enumerate() {
        let value =
            json!({ "owner": secret, format!("f{n}"): secret, "n": 31_415_926_535_897_u64 });
        stored.push(seal_one(&secrets, "a-1", ("Opened", 1), &value).await);
        let state = JsonText::encode(&value).unwrap();
        stored.push(
            secrets
                .seal_state("Account", "a-1", 0, &state)
                .await
                .unwrap()
                .value,
        );
        stored.push(
            secrets
                .seal_refusal("Account", "a-1", 0, &state)
                .await
                .unwrap()
                .value,
        );
    }
    let mut texts: Vec<Vec<u8>> = stored.iter().map(|s| s.clone().into_bytes()).collect();
    texts.extend(bucket.raw_messages().await);
    for secret in SECRETS {
        let json = serde_json::to_string(secret).unwrap();
        for text in &texts {
            assert!(
                !holds(text, secret.as_bytes()),
                "{secret:?} in {}",
                String::from_utf8_lossy(text)
            );
            assert!(!holds(text, json.as_bytes()), "{json} stored");
        }
    }
    let opened = open(&secrets, "a-1", 0, &stored[3]).await;
    assert_eq!(opened["owner"], SECRETS[1], "yet each opens");
}

#[tokio::test]
async fn a_forgotten_field_opens_as_null_and_nothing_else_does() {
    let (bucket, secrets) = bucket().await;
    let opened = seal_one(
        &secrets,
        "a-1",
        ("Opened", 1),
        &json!({ "owner": "Ada", "balance": 5 }),
    )
    .await;
    let updated = seal_one(
        &secrets,
        "a-1",
        ("OwnerUpdated", 1),
        &json!({ "owner": "Ada K" }),
    )
    .await;
    let noted = seal_one(&secrets, "a-1", ("Noted", 1), &json!({ "owner": "Ada N" })).await;
    let other = seal_one(&secrets, "a-2", ("Opened", 1), &json!({ "owner": "Grace" })).await;
    let elsewhere = Secrets::new(bucket.kv.clone());
    assert_eq!(
        open(&elsewhere, "a-1", 0, &opened).await["owner"],
        "Ada",
        "cached elsewhere"
    );

    let request = forget("a-1")
        .event_fields("Opened", ["owner"])
        .event_fields("OwnerUpdated", ["owner"]);
    let destroyed = secrets
        .forget(&request, 3)
        .await
        .unwrap()
        .expect("a key set");
    assert_eq!((destroyed.fields.len(), destroyed.forgets), (2, 1));
    assert_eq!(
        secrets.forgets("Account", "a-1").await.unwrap(),
        Forgets {
            count: 1,
            forgotten_at: 3
        }
    );
    assert_eq!(
        open(&secrets, "a-1", 1, &opened).await,
        json!({ "owner": null, "balance": 5 })
    );
    assert_eq!(
        open(&secrets, "a-1", 1, &updated).await,
        json!({ "owner": null })
    );
    assert_eq!(
        open(&secrets, "a-1", 1, &noted).await["owner"],
        "Ada N",
        "a kind not named"
    );
    assert_eq!(
        open(&secrets, "a-2", 0, &other).await["owner"],
        "Grace",
        "another aggregate"
    );
    // another process's cache still holds the key, until a message tells
    // it of the forget
    assert_eq!(open(&elsewhere, "a-1", 0, &opened).await["owner"], "Ada");
    assert_eq!(
        open(&elsewhere, "a-1", 1, &opened).await["owner"],
        Value::Null
    );

    let body = body(&json!({ "owner": "Ada New" }));
    let event = PlainEvent {
        kind: "Opened",
        schema_version: 1,
        body: &body,
    };
    let written = secrets.seal("Account", "a-1", 1, &[event]).await.unwrap();
    assert_eq!(written.forgets, 1);
    let again = &written.value[0];
    assert_eq!(
        open(&elsewhere, "a-1", 1, again).await["owner"],
        "Ada New",
        "a new key"
    );
    assert_eq!(
        open(&elsewhere, "a-1", 1, &opened).await["owner"],
        Value::Null
    );
    assert!(
        secrets.forget(&forget("a-9"), 0).await.unwrap().is_none(),
        "no key set"
    );
}

#[tokio::test]
async fn a_spared_triple_keeps_its_key() {
    let (_bucket, secrets) = bucket().await;
    let v1 = seal_one(
        &secrets,
        "p-1",
        ("Verified", 1),
        &json!({ "method": "+44 20 7946 0000" }),
    )
    .await;
    let v2 = seal_one(
        &secrets,
        "p-1",
        ("Verified", 2),
        &json!({ "method": "email", "contact": "a@b" }),
    )
    .await;
    let mut request = forget("p-1").event_fields("Verified", ["method", "contact"]);
    request
        .spared_fields
        .push(("Verified".into(), 2, "method".into()));
    secrets.forget(&request, 2).await.unwrap();
    assert_eq!(
        open(&secrets, "p-1", 1, &v1).await,
        json!({ "method": null })
    );
    assert_eq!(
        open(&secrets, "p-1", 1, &v2).await,
        json!({ "method": "email", "contact": null })
    );
}

#[tokio::test]
async fn a_destroyed_key_leaves_the_buckets_stream() {
    let (bucket, secrets) = bucket().await;
    seal_one(&secrets, "a-1", ("Opened", 1), &json!({ "owner": "Ada" })).await;
    seal_one(
        &secrets,
        "a-1",
        ("Opened", 1),
        &json!({ "owner": "Ada", "kept": 1 }),
    )
    .await;
    let before: KeySet =
        serde_json::from_slice(&bucket.kv.get("Account.a-1").await.unwrap().unwrap()).unwrap();
    let owner = before
        .current(Slot::Field {
            kind: "Opened",
            version: 1,
            field: "owner",
        })
        .unwrap();
    let key_text = before.keys[&owner].clone();
    let key_bytes = STANDARD.decode(&key_text).unwrap();
    let kept = before
        .keys
        .values()
        .find(|k| **k != key_text)
        .unwrap()
        .clone();
    let messages = bucket.raw_messages().await;
    assert!(
        messages.iter().any(|m| holds(m, key_text.as_bytes())),
        "the key is stored"
    );

    secrets
        .forget(&forget("a-1").event_fields("Opened", ["owner"]), 2)
        .await
        .unwrap();
    let messages = bucket.raw_messages().await;
    assert_eq!(messages.len(), 1, "history 1: one message per key set");
    for message in &messages {
        assert!(
            !holds(message, key_text.as_bytes()),
            "the destroyed key is still stored"
        );
        assert!(!holds(message, &key_bytes));
    }
    assert!(holds(&messages[0], kept.as_bytes()), "the other key stays");
}

#[tokio::test]
async fn concurrent_seals_making_keys_agree() {
    let (bucket, _secrets) = bucket().await;
    for round in 0..8 {
        let id = format!("a-{round}");
        let (one, two) = (
            Secrets::new(bucket.kv.clone()),
            Secrets::new(bucket.kv.clone()),
        );
        let value = json!({ "owner": "Ada", "email": "ada@example.org" });
        let (a, b) = tokio::join!(
            seal_one(&one, &id, ("Opened", 1), &value),
            seal_one(&two, &id, ("Opened", 1), &value)
        );
        let key_ids = |sealed: &str| -> Vec<u64> {
            let fields: std::collections::BTreeMap<String, String> =
                serde_json::from_str(sealed).unwrap();
            fields
                .values()
                .map(|v| cipher::parse(v).unwrap().id)
                .collect()
        };
        assert_eq!(key_ids(&a), key_ids(&b), "round {round}: one key per field");
        assert_eq!(open(&one, &id, 0, &b).await, value);
        assert_eq!(open(&two, &id, 0, &a).await, value);
        let stored: KeySet = serde_json::from_slice(
            &bucket
                .kv
                .get(format!("Account.{id}"))
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            stored.keys.len(),
            2,
            "round {round}: no key lost or doubled"
        );
    }
}

#[tokio::test]
async fn a_corrupt_value_is_an_error_naming_its_field() {
    let (_bucket, secrets) = bucket().await;
    let sealed = seal_one(
        &secrets,
        "a-1",
        ("Opened", 1),
        &json!({ "owner": "Ada", "n": 1 }),
    )
    .await;
    let mut fields: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&sealed).unwrap();
    fields.insert("owner".into(), body::tests::flip_a_byte(&fields["owner"]));
    let tampered = serde_json::to_string(&fields).unwrap();
    let error = secrets
        .open("Account", "a-1", 0, &tampered)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SecretsError::CorruptValue { field, .. } if field == "owner"),
        "{error}"
    );
    fields.insert(
        "owner".into(),
        "999:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );
    let unknown = serde_json::to_string(&fields).unwrap();
    let error = secrets
        .open("Account", "a-1", 0, &unknown)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the sealed \"owner\" of Account \"a-1\" cannot be opened: it names a key the aggregate never had"
    );
    let state = secrets
        .seal_state("Account", "a-1", 0, &JsonText::parse("[1]").unwrap())
        .await
        .unwrap();
    let error = secrets
        .open_state("Account", "a-1", 0, &body::tests::flip_a_byte(&state.value))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SecretsError::CorruptValue { field, .. } if field == STATE),
        "{error}"
    );
}
