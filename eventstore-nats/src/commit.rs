//! One commit is one message: its body is the JSON array of the events'
//! bodies, sealed (`secrets`), and nothing else; everything else is in its
//! headers (see [`header`]), written once per commit and only when it says
//! something (schema versions other than 1, metadata that is not empty).
//! The server stores every byte of it, so that a commit costs little more
//! than its bodies. The aggregate is read from the subject
//! (`<prefix>.<kind token>.<id token>`, no token holds a dot).
//! A message with no events (`Es-Count: 0`) is a marker: it
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
use serde_json::value::RawValue;

use crate::heads::Known;
use crate::secrets::Sealed;
use crate::subject::{decode_token, encode_token};

/// The most events one commit holds: the index of an event in its
/// message is the low 16 bits of its position.
pub(crate) const MAX_EVENTS: usize = 65_535;

/// The header names.
pub(crate) mod header {
    /// The first event's version; a marker's is its stream's version + 1.
    pub(crate) const VERSION: &str = "Es-Version";
    /// How many events the message holds.
    pub(crate) const COUNT: &str = "Es-Count";
    /// The event kinds, as subject tokens, comma-separated.
    pub(crate) const KINDS: &str = "Es-Kinds";
    /// The event ids, comma-separated.
    pub(crate) const EVENT_IDS: &str = "Es-Event-Ids";
    /// The events' schema versions, comma-separated; absent when all are 1.
    pub(crate) const SCHEMA_VERSIONS: &str = "Es-Schema-Versions";
    /// The append's metadata as JSON; absent when it is empty.
    pub(crate) const METADATA: &str = "Es-Metadata";
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
    if sealed.value.len() != request.events.len() {
        return Err(unstorable(
            request,
            format!(
                "{} sealed bodies for {} events",
                sealed.value.len(),
                request.events.len()
            ),
        ));
    }
    let payload = payload(&sealed.value)
        .map_err(|e| unstorable(request, format!("a sealed body is no JSON: {e}")))?;
    // to the millisecond, as the header keeps it and a load reads it back
    let at = UNIX_EPOCH + Duration::from_millis(millis(SystemTime::now()));
    let mut headers = HeaderMap::new();
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
    if request.events.iter().any(|e| e.schema_version != 1) {
        let versions: Vec<String> = request
            .events
            .iter()
            .map(|e| e.schema_version.to_string())
            .collect();
        headers.insert(header::SCHEMA_VERSIONS, versions.join(","));
    }
    if request.metadata != Metadata::default() {
        // compact JSON holds no line break, which a header cannot
        let metadata =
            serde_json::to_string(&request.metadata).map_err(|source| Error::EncodeMetadata {
                aggregate_kind: request.aggregate_kind.clone(),
                aggregate_id: request.aggregate_id.to_string(),
                source,
            })?;
        headers.insert(header::METADATA, metadata);
    }
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

/// The body of a commit: the JSON array of the sealed `bodies`, each
/// checked to be JSON and written as it is.
fn payload(bodies: &[String]) -> Result<Vec<u8>, serde_json::Error> {
    let length = bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 1;
    let mut payload = Vec::with_capacity(length);
    payload.push(b'[');
    for (i, body) in bodies.iter().enumerate() {
        let body: &RawValue = serde_json::from_str(body)?;
        if i > 0 {
            payload.push(b',');
        }
        payload.extend_from_slice(body.get().as_bytes());
    }
    payload.push(b']');
    Ok(payload)
}

/// The headers of a marker on a stream which is at `at`.
fn marker(at: &Known) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::VERSION, (at.version + 1).to_string());
    headers.insert(header::COUNT, "0");
    headers.insert(header::TIME, millis(SystemTime::now()).to_string());
    headers.insert(header::FORGETS, at.forgets.to_string());
    headers
}

/// A fence marker on the stream `kind` `id`, which is at `at`: it takes the
/// idempotency key `key` over from a writer that recorded it.
pub(crate) fn fence(at: &Known, key: &str) -> HeaderMap {
    let mut headers = marker(at);
    headers.insert(header::FENCE, encode_token(key));
    headers
}

/// A forget marker on the stream `kind` `id`, which is at `at.version`: the
/// aggregate's `forgets`th forget. It moves the subject on, so that an
/// appender holding key sets from before the forget fails and reads again.
pub(crate) fn forget_marker(at: &Known, forgets: u64) -> HeaderMap {
    let at = Known { forgets, ..*at };
    let mut headers = marker(&at);
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

/// The stream that `message` belongs to, from the last two tokens of its
/// subject.
pub(crate) fn stream_of(message: &StreamMessage) -> Result<(String, String), Problem> {
    let subject = message.subject.as_str();
    let mut tokens = subject.rsplitn(3, '.');
    let (Some(id), Some(kind), Some(_prefix)) = (tokens.next(), tokens.next(), tokens.next())
    else {
        return Err(format!("the subject {subject:?} names no aggregate"));
    };
    let decode =
        |token: &str| decode_token(token).map_err(|e| format!("the subject {subject:?}: {e}"));
    Ok((decode(kind)?, decode(id)?))
}

/// The `count` comma-separated values of the header `name`, each parsed by
/// `parse`.
fn list<T>(
    headers: &HeaderMap,
    name: &str,
    count: u64,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Problem> {
    let value = text(headers, name).ok_or_else(|| format!("no {name} header"))?;
    let values = value
        .split(',')
        .map(|v| parse(v).map_err(|e| format!("the {name} header {value:?}: {e}")))
        .collect::<Result<Vec<T>, Problem>>()?;
    if values.len() as u64 != count {
        return Err(format!(
            "{} values in the {name} header, {count} in the {} header",
            values.len(),
            header::COUNT
        ));
    }
    Ok(values)
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
    let headers = &message.headers;
    let bodies: Vec<&RawValue> = serde_json::from_slice(&message.payload)
        .map_err(|e| format!("the body is not a JSON array of bodies: {e}"))?;
    if bodies.len() as u64 != head.count {
        return Err(format!(
            "{} bodies, {} in the {} header",
            bodies.len(),
            head.count,
            header::COUNT
        ));
    }
    let ids: Vec<EventId> = list(headers, header::EVENT_IDS, head.count, |id| {
        id.parse().map_err(|e| format!("{e}"))
    })?;
    let kinds = list(headers, header::KINDS, head.count, |kind| {
        decode_token(kind).map_err(|e| e.to_string())
    })?;
    let versions = match text(headers, header::SCHEMA_VERSIONS) {
        None => vec![1; bodies.len()],
        Some(_) => list(headers, header::SCHEMA_VERSIONS, head.count, |v| {
            v.parse::<u32>().map_err(|e| e.to_string())
        })?,
    };
    let metadata = match text(headers, header::METADATA) {
        None => Metadata::default(),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| format!("the {} header: {e}", header::METADATA))?,
    };
    let events = bodies
        .into_iter()
        .zip(ids)
        .zip(kinds.into_iter().zip(versions))
        .enumerate()
        .map(|(i, ((body, id), (kind, schema_version)))| StoredEvent {
            id,
            version: head.version + i as u64,
            position: head.seq << 16 | i as u64,
            kind,
            schema_version,
            sealed: body.get().to_owned(),
        })
        .collect();
    Ok(Commit {
        head,
        events,
        metadata,
        recorded_at,
    })
}

#[cfg(test)]
mod tests;
