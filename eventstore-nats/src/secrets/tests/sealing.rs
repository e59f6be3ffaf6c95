//! Sealing and opening: round trips, nothing plain stored, concurrent
//! writers, corrupt values.

use super::*;

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

#[tokio::test]
async fn a_seal_whose_keys_are_cached_reads_nothing() {
    let (bucket, secrets) = bucket().await;
    let value = json!({ "owner": "Ada" });
    let first = seal_one(&secrets, "a-1", ("Opened", 1), &value).await;
    // a value no read could take for a key set: only a seal that reads
    // nothing still works
    bucket
        .kv
        .put("Account.a-1", "garbage".into())
        .await
        .unwrap();
    let second = seal_one(&secrets, "a-1", ("Opened", 1), &value).await;
    let id = |sealed: &str| {
        let fields: std::collections::BTreeMap<String, String> =
            serde_json::from_str(sealed).unwrap();
        cipher::parse(&fields["owner"]).unwrap().id
    };
    assert_eq!(id(&first), id(&second), "the cached key");
    let body = body(&value);
    let event = PlainEvent {
        kind: "Opened",
        schema_version: 1,
        body: &body,
    };
    let error = secrets
        .seal("Account", "a-1", 1, &[event])
        .await
        .unwrap_err();
    assert!(
        matches!(error, SecretsError::CorruptKeySet { .. }),
        "told of a forget, the cache reads the set: {error}"
    );
}
