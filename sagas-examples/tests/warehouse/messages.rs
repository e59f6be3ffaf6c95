//! Stock events on the wire: the headers and `Nats-Msg-Id` a publisher
//! sends, a publisher's retry stored once, and a malformed message reported
//! and terminated rather than retried.

use std::time::Duration;

use async_nats::HeaderMap;
use sagas_examples::warehouse::headers::{self, Stamp};
use sagas_examples::warehouse::{Applied, Problem, Thresholds, Update};

use crate::support::{entry, fresh, name, replenished, run_until, worker};

#[tokio::test]
async fn a_publisher_retry_with_the_same_id_is_stored_once() {
    let fresh = fresh().await;
    let (north, p) = (name("warehouse", "north"), name("product", "p"));
    let event = replenished(3, "main");
    let first = fresh
        .warehouse
        .publish(&north, &p, &event, Some("order-1".into()))
        .await
        .expect("publish");
    let retry = fresh
        .warehouse
        .publish(&north, &p, &event, Some("order-1".into()))
        .await
        .expect("publish again");
    assert!(!first.duplicate);
    assert!(retry.duplicate);
    assert_eq!(retry.sequence, first.sequence);
    let message = fresh
        .warehouse
        .events()
        .get_raw_message(first.sequence)
        .await
        .expect("stored");
    let stamp = Stamp::read(Some(&message.headers)).expect("headers");
    assert_eq!(
        (stamp.message_type.as_str(), stamp.msg_id.as_str()),
        ("replenished", "order-1")
    );
    assert_eq!(
        message
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str()),
        Some("order-1")
    );
}

#[tokio::test]
async fn a_malformed_message_is_reported_and_terminated_not_retried() {
    let fresh = fresh().await;
    let (north, p) = (name("warehouse", "north"), name("product", "p"));
    let subject = fresh.layout.event_subject(&north, &p);
    let mut no_type = HeaderMap::new();
    no_type.insert(headers::FORMAT, headers::JSON);
    no_type.insert(headers::MSG_ID, "m-1");
    no_type.insert(headers::TIMESTAMP_MS, "1");
    let js = fresh.warehouse.jetstream();
    let bad = js
        .publish_with_headers(
            subject.clone(),
            no_type,
            br#"{"quantity":1,"location":"main"}"#.as_slice().into(),
        )
        .await
        .expect("publish")
        .await
        .expect("stored")
        .sequence;
    let wrong_shape = js
        .publish(
            format!("{}.north.p", fresh.layout.events_root()),
            "{}".into(),
        )
        .await
        .expect("publish")
        .await
        .expect("stored")
        .sequence;
    let good = fresh
        .warehouse
        .publish(&north, &p, &replenished(4, "main"), None)
        .await
        .expect("publish");
    let worker = worker(&fresh, Thresholds::default(), Duration::from_secs(1)).await;
    let updates = run_until(&worker, Duration::from_secs(10), |updates| {
        updates.len() >= 3
    })
    .await;
    let malformed_seen = updates.iter().any(|u| {
        matches!(u, Update::Applied { sequence, applied: Applied::Now { malformed, .. } }
            if *sequence == bad && malformed == &[(bad, Problem::MissingHeader("myorg_type"))])
    });
    assert!(malformed_seen, "{updates:#?}");
    let terminated = updates.iter().any(|u| {
        matches!(u, Update::Terminated { sequence, error } if *sequence == wrong_shape && error.to_string().contains(".north.p"))
    });
    assert!(terminated, "{updates:#?}");
    // past the ack wait, nothing comes back
    let again = {
        let mut later = Vec::new();
        worker
            .run(tokio::time::sleep(Duration::from_millis(2_500)), |u| {
                later.push(u);
            })
            .await
            .expect("run");
        later
    };
    assert!(again.is_empty(), "{again:#?}");
    let entry = entry(&fresh.warehouse, "north", "p").await;
    assert_eq!(
        (entry.stock, entry.applied, entry.malformed.clone()),
        (4, 1, vec![bad])
    );
    assert_eq!(entry.last_sequence, good.sequence);
}
