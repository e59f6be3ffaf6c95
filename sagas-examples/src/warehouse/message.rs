//! A stock event as a message: subject, headers and JSON body, both ways.

use async_nats::HeaderMap;
use serde::{Deserialize, Serialize};

use super::error::Problem;
use super::events::{EventType, Quantity, StockEvent};
use super::headers::Stamp;
use super::layout::Layout;
use super::names::Name;

/// The body of an event at one location.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtBody {
    quantity: Quantity,
    location: Name,
}

/// The body of a move.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    quantity: Quantity,
    from: Name,
    to: Name,
}

/// The JSON body of `event`.
#[must_use]
pub(crate) fn body(event: &StockEvent) -> Vec<u8> {
    let json = match event {
        StockEvent::Moved { quantity, from, to } => serde_json::to_vec(&MoveBody {
            quantity: *quantity,
            from: from.clone(),
            to: to.clone(),
        }),
        StockEvent::Replenished { quantity, location }
        | StockEvent::Sold { quantity, location }
        | StockEvent::Destroyed { quantity, location } => serde_json::to_vec(&AtBody {
            quantity: *quantity,
            location: location.clone(),
        }),
    };
    json.unwrap_or_default()
}

/// A stock event read from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The warehouse, from the subject.
    pub warehouse: Name,
    /// The product, from the subject.
    pub product: Name,
    /// The event, from `myorg_type` and the body.
    pub event: StockEvent,
    /// The message's headers.
    pub stamp: Stamp,
}

/// Reads the stock event of a message on `subject`.
///
/// # Errors
///
/// The [`Problem`] that makes it no stock event: a subject of another
/// shape, a missing or invalid header, an unknown type or an undecodable
/// body (a quantity below 1 included).
pub fn decode(
    layout: &Layout,
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Result<Received, Problem> {
    let (warehouse, product) = layout.parse_subject(subject).ok_or(Problem::BadSubject)?;
    let stamp = Stamp::read(headers)?;
    let event_type: EventType = stamp
        .message_type
        .parse()
        .map_err(|_| Problem::UnknownType(stamp.message_type.clone()))?;
    let bad = |e: serde_json::Error| Problem::BadBody(e.to_string());
    let event = match event_type {
        EventType::Moved => {
            let MoveBody { quantity, from, to } = serde_json::from_slice(payload).map_err(bad)?;
            StockEvent::Moved { quantity, from, to }
        }
        EventType::Replenished | EventType::Sold | EventType::Destroyed => {
            let AtBody { quantity, location } = serde_json::from_slice(payload).map_err(bad)?;
            match event_type {
                EventType::Replenished => StockEvent::Replenished { quantity, location },
                EventType::Sold => StockEvent::Sold { quantity, location },
                _ => StockEvent::Destroyed { quantity, location },
            }
        }
    };
    Ok(Received {
        warehouse,
        product,
        event,
        stamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Name {
        Name::new("name", n).unwrap()
    }

    #[test]
    fn an_event_reads_back_from_its_message() {
        let layout = Layout::default();
        let subject = layout.event_subject(&name("north"), &name("p1"));
        for event in [
            StockEvent::Sold {
                quantity: Quantity::new(3).unwrap(),
                location: name("shelf"),
            },
            StockEvent::Moved {
                quantity: Quantity::new(2).unwrap(),
                from: name("a"),
                to: name("b"),
            },
        ] {
            let stamp = Stamp::now(event.event_type().as_str(), "m1".into());
            let read = decode(&layout, &subject, Some(&stamp.headers()), &body(&event)).unwrap();
            assert_eq!((read.event, read.stamp), (event, stamp));
            assert_eq!(read.product, name("p1"));
        }
    }

    #[test]
    fn bad_messages_name_their_problem() {
        let layout = Layout::default();
        let subject = layout.event_subject(&name("north"), &name("p1"));
        let headers = Stamp::now("stolen", "m".into()).headers();
        assert_eq!(
            decode(&layout, &subject, Some(&headers), b"{}"),
            Err(Problem::UnknownType("stolen".into()))
        );
        let headers = Stamp::now("sold", "m".into()).headers();
        let negative = decode(
            &layout,
            &subject,
            Some(&headers),
            br#"{"quantity":-2,"location":"a"}"#,
        );
        assert!(matches!(negative, Err(Problem::BadBody(e)) if e.contains("\"-2\"")));
        assert_eq!(
            decode(&layout, "warehouse.north.p1", Some(&headers), b"{}"),
            Err(Problem::BadSubject)
        );
    }
}
