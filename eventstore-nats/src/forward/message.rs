//! A recorded event as a JetStream message ([`header`](super::header) says
//! what it holds), and back.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::message::PublishMessage;
use async_nats::{HeaderMap, HeaderValue};
use bytes::Bytes;
use eventstore_core::{Checkpoint, EventBody, Metadata, RecordedEvent};

use super::header;
use crate::subject::decode_token;

/// The message that carries `event`: its body, and the headers of
/// [`header`](super::header); or what cannot be a header value.
pub(crate) fn encode(event: &RecordedEvent) -> Result<PublishMessage, String> {
    let id = event.id.to_string();
    let mut message = PublishMessage::build()
        .payload(Bytes::copy_from_slice(event.body.as_str().as_bytes()))
        .message_id(&id)
        .header(header::EVENT_ID, id.as_str())
        .header(header::KIND, value(header::KIND, &event.kind)?)
        .header(header::VERSION, HeaderValue::from(event.version))
        .header(
            header::SCHEMA_VERSION,
            HeaderValue::from(event.schema_version),
        )
        .header(
            header::AGGREGATE_KIND,
            value(header::AGGREGATE_KIND, &event.aggregate_kind)?,
        )
        .header(
            header::AGGREGATE_ID,
            value(header::AGGREGATE_ID, &event.aggregate_id)?,
        )
        .header(
            header::RECORDED_AT,
            nanos_since_epoch(event.recorded_at).to_string(),
        )
        .header(header::TX, HeaderValue::from(event.tx))
        .header(header::POSITION, HeaderValue::from(event.position));
    if event.metadata != Metadata::default() {
        // JSON escapes control characters: the value is one line
        let metadata = serde_json::to_string(&event.metadata)
            .expect("metadata, a struct of strings, always serializes");
        message = message.header(header::METADATA, metadata);
    }
    Ok(message)
}

/// `text` as the value of the header `name`: one line.
fn value(name: &str, text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text).map_err(|_| format!("its {name} {text:?} is not one line"))
}

/// The event that a forwarded message on `subject` carries, or what is
/// wrong with the message.
pub(crate) fn decode(
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Result<RecordedEvent, String> {
    let headers = headers.ok_or("it has no headers")?;
    let mut tokens = subject.rsplitn(3, '.');
    let (Some(id), Some(kind), Some(_prefix)) = (tokens.next(), tokens.next(), tokens.next())
    else {
        return Err(format!(
            "its subject {subject:?} is not <prefix>.<kind>.<id>"
        ));
    };
    let token = |t: &str| decode_token(t).map_err(|e| format!("its subject {subject:?}: {e}"));
    let body = std::str::from_utf8(payload)
        .map_err(|_| "its body is not UTF-8".to_owned())
        .and_then(|text| EventBody::parse(text).map_err(|e| format!("its body: {e}")))?;
    let metadata = match headers.get(header::METADATA) {
        None => Metadata::default(),
        Some(json) => serde_json::from_str(json.as_str())
            .map_err(|e| format!("its {} header: {e}", header::METADATA))?,
    };
    let checkpoint = checkpoint(headers)?;
    Ok(RecordedEvent {
        id: parsed(headers, header::EVENT_ID)?,
        position: checkpoint.position,
        tx: checkpoint.tx,
        aggregate_kind: token(kind)?,
        aggregate_id: token(id)?,
        version: parsed(headers, header::VERSION)?,
        kind: text(headers, header::KIND)?.to_owned(),
        schema_version: parsed(headers, header::SCHEMA_VERSION)?,
        body,
        metadata,
        recorded_at: time_from_nanos(parsed(headers, header::RECORDED_AT)?),
    })
}

/// Where the event of a forwarded message is in its store.
pub(crate) fn checkpoint(headers: &HeaderMap) -> Result<Checkpoint, String> {
    Ok(Checkpoint {
        tx: parsed(headers, header::TX)?,
        position: parsed(headers, header::POSITION)?,
    })
}

/// The value of the header `name`.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, String> {
    headers
        .get(name)
        .map(HeaderValue::as_str)
        .ok_or_else(|| format!("it has no {name} header"))
}

/// The value of the header `name`, parsed.
fn parsed<T: FromStr>(headers: &HeaderMap, name: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let value = text(headers, name)?;
    value
        .parse()
        .map_err(|e| format!("its {name} header {value:?}: {e}"))
}

/// `time` in nanoseconds since the Unix epoch, negative before it.
fn nanos_since_epoch(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

/// The time `nanos` nanoseconds after (before, when negative) the epoch.
fn time_from_nanos(nanos: i128) -> SystemTime {
    let span = |n: u128| {
        Duration::new(
            u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX),
            u32::try_from(n % 1_000_000_000).expect("below a billion"),
        )
    };
    if nanos >= 0 {
        UNIX_EPOCH + span(nanos.unsigned_abs())
    } else {
        UNIX_EPOCH - span(nanos.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventstore_core::EventId;

    fn event(metadata: Metadata) -> RecordedEvent {
        RecordedEvent {
            id: EventId::new(),
            position: 41,
            tx: 9_000_000_001,
            aggregate_kind: "Bank Account".to_owned(),
            aggregate_id: " acc.1 *> é ".to_owned(),
            version: 7,
            kind: "MoneyWithdrawn".to_owned(),
            schema_version: 3,
            body: EventBody::parse(r#"{"amount":5,"note":"a\nb"}"#).expect("a body"),
            metadata,
            recorded_at: UNIX_EPOCH + Duration::new(1_790_000_000, 123_456_789),
        }
    }

    /// What the server hands back: the headers as they went out.
    fn round_trip(event: &RecordedEvent) -> Result<RecordedEvent, String> {
        let subject = crate::subject::stream_subject(
            "app.events",
            &event.aggregate_kind,
            &event.aggregate_id,
        );
        let message = encode(event)?.outbound_message(subject.clone());
        decode(&subject, message.headers.as_ref(), &message.payload)
    }

    #[test]
    fn an_event_reads_back_as_it_was_recorded() {
        let plain = event(Metadata::default());
        assert_eq!(round_trip(&plain), Ok(plain.clone()));
        let caused = event(
            Metadata::default()
                .correlation_id("c-1")
                .actor("ann")
                .with("k", "v"),
        );
        assert_eq!(round_trip(&caused), Ok(caused.clone()));
        let message = encode(&plain).expect("headers").outbound_message("s");
        let headers = message.headers.expect("headers");
        assert_eq!(
            headers.get(header::MSG_ID).map(|v| v.as_str().to_owned()),
            Some(plain.id.to_string())
        );
        assert!(headers.get(header::METADATA).is_none());
    }

    #[test]
    fn times_before_the_epoch_read_back() {
        let mut early = event(Metadata::default());
        early.recorded_at = UNIX_EPOCH - Duration::new(5, 7);
        assert_eq!(round_trip(&early), Ok(early.clone()));
    }

    #[test]
    fn a_message_without_the_headers_is_named_for_what_it_lacks() {
        let mut headers = HeaderMap::new();
        headers.insert(header::TX, "1");
        assert_eq!(
            decode("events.A.b", Some(&headers), b"{}"),
            Err("it has no Es-Position header".to_owned())
        );
        assert_eq!(
            decode("events.A.b", None, b"{}"),
            Err("it has no headers".to_owned())
        );
        headers.insert(header::POSITION, "x");
        let problem = decode("events.A.b", Some(&headers), b"{}").expect_err("a bad position");
        assert!(
            problem.starts_with("its Es-Position header \"x\""),
            "{problem}"
        );
        assert!(
            decode("A.b", Some(&headers), b"{}")
                .expect_err("a short subject")
                .contains("<prefix>.<kind>.<id>")
        );
    }
}
