//! One commit is one message: the events of an append in its JSON body,
//! their bodies sealed (`secrets`), what a reader filters and orders by in
//! its headers. A message with no events (`Es-Count: 0`) is a marker: it
//! fences a stalled writer off, or records a forget, and is skipped by
//! loads and the tracker. Every message says in `Es-Forgets` how many
//! forgets its aggregate had seen when it was written (commits: the key
//! set that sealed them), so that a reader drops key sets it cached before.
//!
//! Event `i` of the message at stream sequence `seq` has the version
//! `Es-Version + i` and the position `seq << 16 | i`; its checkpoint is
//! `{tx: seq, position}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::message::StreamMessage;
use bytes::Bytes;
use eventstore_core::backend::AppendRequest;
use eventstore_core::{Checkpoint, Error, EventId, Metadata};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::heads::Known;
use crate::secrets::Sealed;
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
    /// The aggregate's forget count that a forget marker records.
    pub(crate) const FORGET: &str = "Es-Forget";
    /// The aggregate's forget count when the message was written.
    pub(crate) const FORGETS: &str = "Es-Forgets";
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

/// The message of `request`'s events, the first at `first_version`, with
/// their bodies as `sealed` holds them (in order).
///
/// # Errors
/// [`Error::UnstorableJson`] for more than [`MAX_EVENTS`] events, or a
/// sealed body that is no JSON; [`Error::EncodeMetadata`].
pub(crate) fn encode(
    request: &AppendRequest,
    first_version: u64,
    sealed: &Sealed<Vec<String>>,
) -> Result<Outgoing, Error> {
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
    let bodies = sealed
        .value
        .iter()
        .map(|body| serde_json::from_str::<&RawValue>(body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unstorable(request, format!("a sealed body is no JSON: {e}")))?;
    if bodies.len() != request.events.len() {
        return Err(unstorable(
            request,
            format!(
                "{} sealed bodies for {} events",
                bodies.len(),
                request.events.len()
            ),
        ));
    }
    let body = Body {
        events: request
            .events
            .iter()
            .zip(&ids)
            .zip(bodies)
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
    headers.insert(header::FORGETS, sealed.forgets.to_string());
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

/// The headers of a marker on the stream `kind` `id`, which is at `at`.
fn marker(kind: &str, id: &str, at: &Known) -> HeaderMap {
    let mut headers = stream_headers(kind, id);
    headers.insert(header::VERSION, (at.version + 1).to_string());
    headers.insert(header::COUNT, "0");
    headers.insert(header::TIME, millis(SystemTime::now()).to_string());
    headers.insert(header::FORGETS, at.forgets.to_string());
    headers
}

/// A fence marker on the stream `kind` `id`, which is at `at`: it takes the
/// idempotency key `key` over from a writer that recorded it.
pub(crate) fn fence(kind: &str, id: &str, at: &Known, key: &str) -> HeaderMap {
    let mut headers = marker(kind, id, at);
    headers.insert(header::FENCE, encode_token(key));
    headers
}

/// A forget marker on the stream `kind` `id`, which is at `at.version`: the
/// aggregate's `forgets`th forget. It moves the subject on, so that an
/// appender holding key sets from before the forget fails and reads again.
pub(crate) fn forget_marker(kind: &str, id: &str, at: &Known, forgets: u64) -> HeaderMap {
    let at = Known { forgets, ..*at };
    let mut headers = marker(kind, id, &at);
    headers.insert(header::FORGET, forgets.to_string());
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
    /// The aggregate's forget count when it was written (0 when absent).
    pub(crate) forgets: u64,
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

    /// What the message tells of its stream.
    pub(crate) fn known(&self) -> Known {
        Known {
            seq: self.seq,
            version: self.last_version(),
            forgets: self.forgets,
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
        forgets: match text(headers, header::FORGETS) {
            Some(_) => number(headers, header::FORGETS)?,
            None => 0,
        },
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
    /// Its body as sealed (a JSON object; `Secrets::open` opens it).
    pub(crate) sealed: String,
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

/// The commit that `message` holds (none for a marker), its bodies sealed.
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
            Ok(StoredEvent {
                id,
                version: head.version + i as u64,
                position: head.seq << 16 | i as u64,
                kind: event.kind,
                schema_version: event.schema_version,
                sealed: event.body.get().to_owned(),
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
mod tests;
