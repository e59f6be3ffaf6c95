//! One commit is one message: the events of an append in its JSON body,
//! what a reader filters and orders by in its headers. A message with no
//! events (`Es-Count: 0`) is a marker: it fences a stalled writer off and
//! is skipped by loads and the tracker.
//!
//! Event `i` of the message at stream sequence `seq` has the version
//! `Es-Version + i` and the position `seq << 16 | i`; its checkpoint is
//! `{tx: seq, position}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::message::StreamMessage;
use bytes::Bytes;
use eventstore_core::backend::{AppendRequest, stored_body};
use eventstore_core::{Checkpoint, Error, EventBody, EventId, Metadata, RecordedEvent};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::sealing::{open_body, seal_body};
use crate::subject::{decode_token, encode_token};

/// The most events one commit holds: the index of an event in its
/// message is the low 16 bits of its position.
pub(crate) const MAX_EVENTS: usize = 65_535;

/// The header names.
pub(crate) mod header {
    /// The aggregate kind, as a subject token.
    pub(crate) const KIND: &str = "Es-Aggregate-Kind";
    /// The aggregate id, as a subject token.
    pub(crate) const ID: &str = "Es-Aggregate-Id";
    /// The first event's version; a marker's is its stream's version + 1.
    pub(crate) const VERSION: &str = "Es-Version";
    /// How many events the message holds.
    pub(crate) const COUNT: &str = "Es-Count";
    /// The event kinds, as subject tokens, comma-separated.
    pub(crate) const KINDS: &str = "Es-Kinds";
    /// The event ids, comma-separated.
    pub(crate) const EVENT_IDS: &str = "Es-Event-Ids";
    /// When it was written, in milliseconds since 1970.
    pub(crate) const TIME: &str = "Es-Time";
    /// The idempotency key of the append, as a subject token.
    pub(crate) const KEY: &str = "Es-Key";
    /// The idempotency key that a fence marker took over, as a subject token.
    pub(crate) const FENCE: &str = "Es-Fence";
}

/// An event as the message body holds it.
#[derive(Serialize, Deserialize)]
struct BodyEvent<'a> {
    id: String,
    kind: String,
    schema_version: u32,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// The message body of a commit.
#[derive(Serialize, Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    events: Vec<BodyEvent<'a>>,
    metadata: Metadata,
}

/// A commit about to be published.
pub(crate) struct Outgoing {
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body.
    pub(crate) payload: Bytes,
    /// The events' ids, in order.
    pub(crate) ids: Vec<EventId>,
    /// When it was written, to the millisecond.
    pub(crate) at: SystemTime,
}

/// Milliseconds since 1970 of `at` (0 before).
fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The error for an append that no message can hold; nothing is written.
pub(crate) fn unstorable(request: &AppendRequest, problem: String) -> Error {
    Error::UnstorableJson {
        aggregate_kind: request.aggregate_kind.clone(),
        aggregate_id: request.aggregate_id.to_string(),
        problem,
    }
}

/// The message of `request`'s events, the first at `first_version`.
///
/// # Errors
/// [`Error::UnstorableJson`] for more than [`MAX_EVENTS`] events,
/// [`Error::EncodeMetadata`].
pub(crate) fn encode(request: &AppendRequest, first_version: u64) -> Result<Outgoing, Error> {
    if request.events.len() > MAX_EVENTS {
        return Err(unstorable(
            request,
            format!(
                "{} events in one append; a commit holds at most {MAX_EVENTS}",
                request.events.len()
            ),
        ));
    }
    let ids: Vec<EventId> = request.events.iter().map(|_| EventId::new()).collect();
    let sealed = request
        .events
        .iter()
        .map(|e| seal_body(e.body.as_str()))
        .collect::<Result<Vec<_>, Error>>()?;
    let body = Body {
        events: request
            .events
            .iter()
            .zip(&ids)
            .zip(&sealed)
            .map(|((event, id), body)| BodyEvent {
                id: id.to_string(),
                kind: event.kind.clone(),
                schema_version: event.schema_version,
                body,
            })
            .collect(),
        metadata: request.metadata.clone(),
    };
    let payload = serde_json::to_vec(&body).map_err(|source| Error::EncodeMetadata {
        aggregate_kind: request.aggregate_kind.clone(),
        aggregate_id: request.aggregate_id.to_string(),
        source,
    })?;
    // to the millisecond, as the header keeps it and a load reads it back
    let at = UNIX_EPOCH + Duration::from_millis(millis(SystemTime::now()));
    let mut headers = stream_headers(&request.aggregate_kind, request.aggregate_id.as_str());
    headers.insert(header::VERSION, first_version.to_string());
    headers.insert(header::COUNT, request.events.len().to_string());
    let kinds: Vec<String> = request
        .events
        .iter()
        .map(|e| encode_token(&e.kind))
        .collect();
    headers.insert(header::KINDS, kinds.join(","));
    let event_ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    headers.insert(header::EVENT_IDS, event_ids.join(","));
    headers.insert(header::TIME, millis(at).to_string());
    if let Some(key) = &request.idempotency_key {
        headers.insert(header::KEY, encode_token(key));
    }
    Ok(Outgoing {
        headers,
        payload: payload.into(),
        ids,
        at,
    })
}

/// The headers naming a stream, which every message has.
fn stream_headers(kind: &str, id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::KIND, encode_token(kind));
    headers.insert(header::ID, encode_token(id));
    headers
}

/// A fence marker on the stream `kind` `id`, which is at `version`: it
/// takes the idempotency key `key` over from a writer that recorded it.
pub(crate) fn fence(kind: &str, id: &str, version: u64, key: &str) -> HeaderMap {
    let mut headers = stream_headers(kind, id);
    headers.insert(header::VERSION, (version + 1).to_string());
    headers.insert(header::COUNT, "0");
    headers.insert(header::TIME, millis(SystemTime::now()).to_string());
    headers.insert(header::FENCE, encode_token(key));
    headers
}

/// What the headers of a stored message say, read without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The stream sequence.
    pub(crate) seq: u64,
    /// The first event's version (a marker's stream version + 1).
    pub(crate) version: u64,
    /// How many events; 0 for a marker.
    pub(crate) count: u64,
    /// The idempotency key of the append, if any.
    pub(crate) key: Option<String>,
}

impl Head {
    /// The version the stream is at after this message.
    pub(crate) fn last_version(&self) -> u64 {
        (self.version + self.count).saturating_sub(1)
    }

    /// The checkpoint of the message's last event, or of the message
    /// itself for a marker: a read that looked at it ends there.
    pub(crate) fn last_checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tx: self.seq,
            position: self.seq << 16 | self.count.saturating_sub(1),
        }
    }
}

/// Why a stored message cannot be read: the problem, in words.
pub(crate) type Problem = String;

/// A header's text, when it has one.
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(async_nats::HeaderValue::as_str)
}

/// A number header.
fn number(headers: &HeaderMap, name: &str) -> Result<u64, Problem> {
    let value = text(headers, name).ok_or_else(|| format!("no {name} header"))?;
    value
        .parse()
        .map_err(|_| format!("the {name} header {value:?} is not a number"))
}

/// A header holding a token, decoded.
fn token(headers: &HeaderMap, name: &str) -> Result<Option<String>, Problem> {
    text(headers, name)
        .map(|t| decode_token(t).map_err(|e| format!("the {name} header: {e}")))
        .transpose()
}

/// The headers of `message`.
pub(crate) fn head(message: &StreamMessage) -> Result<Head, Problem> {
    let headers = &message.headers;
    Ok(Head {
        seq: message.sequence,
        version: number(headers, header::VERSION)?,
        count: number(headers, header::COUNT)?,
        key: token(headers, header::KEY)?,
    })
}

/// The stream that `message` belongs to, from its headers.
pub(crate) fn stream_of(message: &StreamMessage) -> Result<(String, String), Problem> {
    let kind = token(&message.headers, header::KIND)?;
    let id = token(&message.headers, header::ID)?;
    kind.zip(id)
        .ok_or_else(|| "no aggregate kind or id header".to_owned())
}

/// An event of a stored commit.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    /// Its id.
    pub(crate) id: EventId,
    /// Its version.
    pub(crate) version: u64,
    /// Its position.
    pub(crate) position: u64,
    /// Its kind.
    pub(crate) kind: String,
    /// Its schema version.
    pub(crate) schema_version: u32,
    /// Its body, opened.
    pub(crate) body: EventBody,
}

/// A stored commit, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    /// Its headers.
    pub(crate) head: Head,
    /// Its events.
    pub(crate) events: Vec<StoredEvent>,
    /// The metadata of the append.
    pub(crate) metadata: Metadata,
    /// When it was written.
    pub(crate) recorded_at: SystemTime,
}

impl Commit {
    /// Event `index` of the commit as a tracker delivers it, on the
    /// stream `(kind, id)`.
    pub(crate) fn recorded(&self, index: usize, (kind, id): (&str, &str)) -> Option<RecordedEvent> {
        let event = self.events.get(index)?.clone();
        Some(RecordedEvent {
            id: event.id,
            position: event.position,
            tx: self.head.seq,
            aggregate_kind: kind.to_owned(),
            aggregate_id: id.to_owned(),
            version: event.version,
            kind: event.kind,
            schema_version: event.schema_version,
            body: event.body,
            metadata: self.metadata.clone(),
            recorded_at: self.recorded_at,
        })
    }
}

/// The commit that `message` holds (none for a marker).
pub(crate) fn decode(message: &StreamMessage) -> Result<Commit, Problem> {
    let head = head(message)?;
    let recorded_at = UNIX_EPOCH + Duration::from_millis(number(&message.headers, header::TIME)?);
    if head.count == 0 {
        return Ok(Commit {
            head,
            events: Vec::new(),
            metadata: Metadata::default(),
            recorded_at,
        });
    }
    let body: Body<'_> = serde_json::from_slice(&message.payload)
        .map_err(|e| format!("the body is not a commit: {e}"))?;
    if body.events.len() as u64 != head.count {
        return Err(format!(
            "{} events in the body, {} in the {} header",
            body.events.len(),
            head.count,
            header::COUNT
        ));
    }
    let events = body
        .events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            let id = event.id.parse().map_err(|e| format!("event {i}: {e}"))?;
            let body = stored_body(&open_body(event.body))
                .map_err(|e| format!("event {i}: the body: {e}"))?;
            Ok(StoredEvent {
                id,
                version: head.version + i as u64,
                position: head.seq << 16 | i as u64,
                kind: event.kind,
                schema_version: event.schema_version,
                body,
            })
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    Ok(Commit {
        head,
        events,
        metadata: body.metadata,
        recorded_at,
    })
}

#[cfg(test)]
mod tests {
    use eventstore_core::backend::NewEvent;

    use super::*;

    fn stored(outgoing: Outgoing, seq: u64) -> StreamMessage {
        StreamMessage {
            subject: "events.Account.a-1".into(),
            sequence: seq,
            headers: outgoing.headers,
            payload: outgoing.payload,
            time: async_nats::datetime::now(),
        }
    }

    #[test]
    fn a_commit_round_trips_with_versions_and_positions() {
        let request = AppendRequest::new("Account", "a.1 *".parse().unwrap(), 4)
            .idempotency_key("t 1/x")
            .metadata(Metadata::default().actor("ada"))
            .event(NewEvent::new("Opened", &serde_json::json!({ "owner": "Ada" })).unwrap())
            .event(NewEvent::new("Closed", &serde_json::json!({})).unwrap());
        let outgoing = encode(&request, 5).unwrap();
        let ids = outgoing.ids.clone();
        let message = stored(outgoing, 9);
        assert_eq!(
            stream_of(&message).unwrap(),
            ("Account".to_owned(), "a.1 *".to_owned())
        );
        let commit = decode(&message).unwrap();
        assert_eq!(commit.head.key.as_deref(), Some("t 1/x"));
        assert_eq!(commit.head.last_version(), 6);
        assert_eq!(
            commit.head.last_checkpoint(),
            Checkpoint {
                tx: 9,
                position: 9 << 16 | 1
            }
        );
        let versions: Vec<_> = commit
            .events
            .iter()
            .map(|e| (e.version, e.position))
            .collect();
        assert_eq!(versions, [(5, 9 << 16), (6, 9 << 16 | 1)]);
        assert_eq!(commit.events[1].id, ids[1]);
        assert_eq!(commit.events[0].body, request.events[0].body);
        assert_eq!(commit.metadata, request.metadata);
    }

    #[test]
    fn a_fence_is_a_marker_at_the_streams_version() {
        let message = StreamMessage {
            subject: "events.Account.a".into(),
            sequence: 3,
            headers: fence("Account", "a", 2, "k"),
            payload: Bytes::new(),
            time: async_nats::datetime::now(),
        };
        let commit = decode(&message).unwrap();
        assert!(commit.events.is_empty());
        assert_eq!(commit.head.last_version(), 2);
        assert_eq!(
            commit.head.last_checkpoint(),
            Checkpoint {
                tx: 3,
                position: 3 << 16
            }
        );
    }

    #[test]
    fn too_many_events_are_refused_naming_the_stream() {
        let mut request = AppendRequest::new("Account", "a-1".parse().unwrap(), 0);
        request.events = vec![NewEvent::of("E", EventBody::empty()); MAX_EVENTS + 1];
        match encode(&request, 1) {
            Err(Error::UnstorableJson {
                aggregate_id,
                problem,
                ..
            }) => {
                assert_eq!(aggregate_id, "a-1");
                assert!(problem.contains("65536 events"), "{problem}");
            }
            other => panic!("{:?}", other.map(|o| o.ids.len())),
        }
    }
}
