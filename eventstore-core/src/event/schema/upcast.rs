//! Reading a stored row of any schema version as current events.

use serde_json::Value;

use super::decoded::Decoded;
use super::upcaster::{RawEvent, UpcastError, UpcastStep, Upcaster};
use crate::event::{DecodeError, Event};
use crate::json::EventBody;

/// How many upcaster steps one row may take, splits included, before the
/// runtime calls it a loop: far more than any real chain needs.
pub const MAX_UPCAST_STEPS: usize = 64;

/// Decodes a stored row of kind `kind` written at schema version
/// `version`: a row of a kind's current version straight from its text
/// (one pass, as before versions existed), an older one through its
/// upcasters. What [`Event::from_stored`] does unless the derive adds
/// typed shortcuts in front of it.
///
/// # Errors
/// [`DecodeError::UnknownKind`], [`DecodeError::Body`] or
/// [`DecodeError::Upcast`].
pub fn decode_stored<E: Event>(
    kind: &str,
    version: u32,
    body: &EventBody,
) -> Result<Decoded<E>, DecodeError> {
    let kind = current_name::<E>(kind);
    if version == E::current_version(kind) {
        match E::from_body(kind, body) {
            Err(DecodeError::UnknownKind) => {}
            decoded => return decoded.map(Decoded::One),
        }
    }
    if !E::KINDS.contains(&kind) && upcaster::<E>(kind, version).is_none() {
        return Err(if reads_kind::<E>(kind) {
            DecodeError::Upcast(no_upcaster::<E>(kind, version))
        } else {
            DecodeError::UnknownKind
        });
    }
    let value: Value = body.decode().map_err(DecodeError::Body)?;
    let mut events = Vec::with_capacity(1);
    let mut steps = 0;
    upcast(RawEvent::new(kind, version, value), &mut events, &mut steps)?;
    Ok(match events.len() {
        1 => Decoded::One(events.remove(0)),
        _ => Decoded::Several(events),
    })
}

/// The current name of a kind that `#[event(aliases = [...])]` renamed,
/// or `kind` itself.
fn current_name<E: Event>(kind: &str) -> &str {
    renamed::<E>(kind).unwrap_or(kind)
}

/// The current name of `kind` when it is an old name
/// (`#[event(aliases = [...])]`).
pub(crate) fn renamed<E: Event>(kind: &str) -> Option<&'static str> {
    E::ALIASES
        .iter()
        .find(|(old, _)| *old == kind)
        .map(|(_, current)| *current)
}

/// Whether some upcaster reads rows of `kind` (at any version).
fn reads_kind<E: Event>(kind: &str) -> bool {
    E::UPCASTERS.iter().any(|u| u.kind == kind)
}

fn upcaster<E: Event>(kind: &str, version: u32) -> Option<&'static Upcaster> {
    E::UPCASTERS
        .iter()
        .find(|u| u.kind == kind && u.from == version)
}

/// Brings `event` to current events, appending them to `out` in order.
fn upcast<E: Event>(
    event: RawEvent,
    out: &mut Vec<E>,
    steps: &mut usize,
) -> Result<(), DecodeError> {
    let RawEvent {
        mut kind,
        version,
        body,
    } = event;
    if let Some(current) = renamed::<E>(&kind) {
        kind = current.to_owned();
    }
    if E::KINDS.contains(&kind.as_str()) && version == E::current_version(&kind) {
        let decoded = E::from_value(&kind, body).map_err(|error| match error {
            DecodeError::Body(source) => DecodeError::Upcast(UpcastError::from(source).context(
                format!("the upcast body of {kind:?} at schema version {version}"),
            )),
            other => other,
        })?;
        out.push(decoded);
        return Ok(());
    }
    *steps += 1;
    if *steps > MAX_UPCAST_STEPS {
        return Err(DecodeError::Upcast(UpcastError::new(format!(
            "more than {MAX_UPCAST_STEPS} upcaster steps, the last at {kind:?} schema version \
             {version}: the upcasters loop"
        ))));
    }
    let Some(upcaster) = upcaster::<E>(&kind, version) else {
        return Err(DecodeError::Upcast(no_upcaster::<E>(&kind, version)));
    };
    // the context is written only for an error: a row read costs no formatting
    let failed = |error: UpcastError| {
        DecodeError::Upcast(error.context(format_args!(
            "the upcaster of {:?} at schema version {version}",
            upcaster.kind
        )))
    };
    match upcaster.step {
        UpcastStep::Body { to, rewrite } => {
            let body = rewrite(body).map_err(failed)?;
            upcast(RawEvent::new(kind, to, body), out, steps)
        }
        UpcastStep::Events(split) => {
            let events = split(RawEvent::new(kind, version, body)).map_err(failed)?;
            for next in events {
                upcast(next, out, steps)?;
            }
            Ok(())
        }
    }
}

/// The error for a row that no upcaster reads: older than the current
/// version with a gap in the chain, or newer than this code knows.
fn no_upcaster<E: Event>(kind: &str, version: u32) -> UpcastError {
    if !E::KINDS.contains(&kind) {
        return UpcastError::new(format!(
            "no upcaster reads {kind:?} at schema version {version}, a kind no variant has"
        ));
    }
    let current = E::current_version(kind);
    if version > current {
        UpcastError::new(format!(
            "{kind:?} at schema version {version} is newer than this code's version {current}: \
             it was written by a later release"
        ))
    } else {
        UpcastError::new(format!(
            "no upcaster reads {kind:?} at schema version {version} (the current is {current})"
        ))
    }
}
