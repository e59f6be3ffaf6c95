//! The secrets against a real NATS: sealing and opening, forgetting, the
//! bucket's history and concurrent writers.

mod forgetting;
mod sealing;

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
    let bucket = TestBucket::new().await;
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
