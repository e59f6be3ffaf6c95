//! The headers every warehouse message carries: `myorg_format`,
//! `myorg_type`, `myorg_msg_id` and `myorg_timestamp_ms`, and
//! `Nats-Msg-Id` (the same id) so that JetStream drops a publisher's retry
//! within the stream's duplicate window.

use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;

use super::error::Problem;

/// The body's format header; its one value is [`JSON`].
pub const FORMAT: &str = "myorg_format";
/// The message type header: a stock event type, or `stock.low`.
pub const TYPE: &str = "myorg_type";
/// The message's unique id header.
pub const MSG_ID: &str = "myorg_msg_id";
/// The header of the time the message was made, in milliseconds since
/// 1970.
pub const TIMESTAMP_MS: &str = "myorg_timestamp_ms";
/// The body format of every warehouse message.
pub const JSON: &str = "json";

/// The headers' values, read from or written to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `myorg_type`.
    pub message_type: String,
    /// `myorg_msg_id`, also sent as `Nats-Msg-Id`.
    pub msg_id: String,
    /// `myorg_timestamp_ms`.
    pub timestamp_ms: u64,
}

impl Stamp {
    /// A stamp for a new message of `message_type` with `msg_id`, made now.
    #[must_use]
    pub fn now(message_type: &str, msg_id: String) -> Self {
        Self {
            message_type: message_type.to_owned(),
            msg_id,
            timestamp_ms: now_ms(),
        }
    }

    /// The headers of a JSON message with this stamp.
    #[must_use]
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, self.msg_id.as_str());
        headers.insert(FORMAT, JSON);
        headers.insert(TYPE, self.message_type.as_str());
        headers.insert(MSG_ID, self.msg_id.as_str());
        headers.insert(TIMESTAMP_MS, self.timestamp_ms.to_string().as_str());
        headers
    }

    /// The stamp of a received message, checking that its body is JSON.
    ///
    /// # Errors
    ///
    /// [`Problem::MissingHeader`] naming the first header missing,
    /// [`Problem::UnknownFormat`] for a format other than `json`, and
    /// [`Problem::BadHeader`] for a timestamp that is not a whole number.
    pub fn read(headers: Option<&HeaderMap>) -> Result<Self, Problem> {
        let get = |name: &'static str| {
            headers
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
                .ok_or(Problem::MissingHeader(name))
        };
        let format = get(FORMAT)?;
        let message_type = get(TYPE)?;
        let msg_id = get(MSG_ID)?;
        let timestamp = get(TIMESTAMP_MS)?;
        if format != JSON {
            return Err(Problem::UnknownFormat(format));
        }
        let timestamp_ms = timestamp.parse().map_err(|_| Problem::BadHeader {
            header: TIMESTAMP_MS,
            value: timestamp.clone(),
        })?;
        Ok(Self {
            message_type,
            msg_id,
            timestamp_ms,
        })
    }
}

/// Milliseconds since 1970 now (0 for a clock before it).
#[must_use]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_from_its_headers() {
        let stamp = Stamp::now("sold", "id-1".into());
        let headers = stamp.headers();
        assert_eq!(
            headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|v| v.as_str()),
            Some("id-1")
        );
        assert_eq!(Stamp::read(Some(&headers)), Ok(stamp));
    }

    #[test]
    fn each_missing_header_is_named() {
        for missing in [FORMAT, TYPE, MSG_ID, TIMESTAMP_MS] {
            let mut headers = HeaderMap::new();
            for name in [FORMAT, TYPE, MSG_ID, TIMESTAMP_MS] {
                if name != missing {
                    headers.insert(name, if name == FORMAT { JSON } else { "1" });
                }
            }
            assert_eq!(
                Stamp::read(Some(&headers)),
                Err(Problem::MissingHeader(missing))
            );
        }
        assert_eq!(Stamp::read(None), Err(Problem::MissingHeader(FORMAT)));
    }

    #[test]
    fn a_foreign_format_or_timestamp_is_refused() {
        let mut headers = Stamp::now("sold", "i".into()).headers();
        headers.insert(TIMESTAMP_MS, "yesterday");
        assert!(matches!(
            Stamp::read(Some(&headers)),
            Err(Problem::BadHeader { value, .. }) if value == "yesterday"
        ));
        headers.insert(FORMAT, "xml");
        assert_eq!(
            Stamp::read(Some(&headers)),
            Err(Problem::UnknownFormat("xml".into()))
        );
    }
}
