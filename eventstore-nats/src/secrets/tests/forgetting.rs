//! Forgetting: what opens as null afterwards, and what leaves the bucket.

use super::*;
use crate::secrets::set_key::SetKey;

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
    let key_text = before.keys[&owner].text().to_owned();
    let key_bytes = STANDARD.decode(&key_text).unwrap();
    let kept = before
        .keys
        .values()
        .map(SetKey::text)
        .find(|k| *k != key_text)
        .unwrap()
        .to_owned();
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
async fn a_forget_racing_a_seal_that_makes_keys_loses_neither() {
    let (bucket, _secrets) = bucket().await;
    for round in 0..8 {
        let id = format!("a-{round}");
        let (one, two) = (
            Secrets::new(bucket.kv.clone()),
            Secrets::new(bucket.kv.clone()),
        );
        let opened = seal_one(&one, &id, ("Opened", 1), &json!({ "owner": "Ada" })).await;
        let request = forget(&id).event_fields("Opened", ["owner"]);
        let email = json!({ "email": "ada@example.org" });
        let (forgotten, sealed) = tokio::join!(
            one.forget(&request, 1),
            seal_one(&two, &id, ("Opened", 1), &email)
        );
        assert_eq!(forgotten.unwrap().map(|d| d.fields.len()), Some(1));
        let fresh = Secrets::new(bucket.kv.clone());
        assert_eq!(open(&fresh, &id, 1, &opened).await["owner"], Value::Null);
        assert_eq!(open(&fresh, &id, 1, &sealed).await, email, "round {round}");
    }
}
