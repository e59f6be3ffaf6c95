//! What the JetStream store builds on, checked against the shared NATS
//! server (NATS 2.9 in CI, `scripts/ensure-nats`): an expected
//! last subject sequence of 0 means "the subject has no message", and a
//! wrong one is refused with JetStream error 10071, which async-nats
//! reports as `PublishErrorKind::WrongLastSequence`.

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, StorageType};
use async_nats::jetstream::{self, ErrorCode};
use eventstore_tests::nats::test_stream_name;
use eventstore_tests::nats_server::shared_jetstream;

/// Publishes `payload` to `subject` expecting its last sequence to be `last`.
async fn publish_expecting(
    js: &jetstream::Context,
    subject: &str,
    last: u64,
) -> Result<u64, PublishError> {
    let message = PublishMessage::build()
        .payload("x".into())
        .expected_last_subject_sequence(last);
    Ok(js
        .send_publish(subject.to_owned(), message)
        .await?
        .await?
        .sequence)
}

#[tokio::test]
async fn expected_last_subject_sequence_zero_refuses_a_subject_with_messages() {
    let js = shared_jetstream().await;
    let name = test_stream_name();
    let stream = js
        .create_stream(Config {
            name: name.clone(),
            subjects: vec![format!("{name}.>")],
            storage: StorageType::Memory,
            ..Config::default()
        })
        .await
        .expect("create the probe stream");
    let (a, b) = (format!("{name}.a"), format!("{name}.b"));

    let first = publish_expecting(&js, &a, 0).await;
    let first = first.expect("0 on a subject without messages is accepted");
    let refused = publish_expecting(&js, &a, 0).await;
    let error = refused.expect_err("0 on a subject with a message must be refused");
    assert_eq!(
        error.kind(),
        PublishErrorKind::WrongLastSequence,
        "{error:?}"
    );
    let code = std::error::Error::source(&error)
        .and_then(|s| s.downcast_ref::<jetstream::Error>())
        .map(jetstream::Error::error_code);
    assert_eq!(code, Some(ErrorCode(10071)), "{error:?}");

    // another subject's messages do not count; the right sequence does
    let other = publish_expecting(&js, &b, 0).await.expect("b is empty");
    assert!(other > first);
    let stale = publish_expecting(&js, &a, other).await;
    assert_eq!(
        stale.map_err(|e| e.kind()),
        Err(PublishErrorKind::WrongLastSequence),
        "the stream's last sequence is not the subject's"
    );
    publish_expecting(&js, &a, first)
        .await
        .expect("a's own last sequence");

    js.delete_stream(stream.cached_info().config.name.as_str())
        .await
        .expect("delete the probe stream");
}
