//! The headers of a forwarded event's message, for consumers in any
//! language. The body of the message is the event's JSON body; its subject
//! is `<prefix>.<aggregate kind>.<aggregate id>`, each encoded into a token
//! by [`subject::encode_token`](crate::subject::encode_token) (the headers
//! carry them as text, but NATS trims the spaces around a header value:
//! read them back exactly from the subject).

/// The event's id; JetStream drops a message whose id it has stored
/// within the stream's duplicate window.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The event's id (20 characters, time-ordered).
pub const EVENT_ID: &str = "Es-Event-Id";
/// The event's kind.
pub const KIND: &str = "Es-Kind";
/// The event's version in its aggregate's stream, from 1.
pub const VERSION: &str = "Es-Version";
/// The schema version its body was written at.
pub const SCHEMA_VERSION: &str = "Es-Schema-Version";
/// The aggregate kind of its stream.
pub const AGGREGATE_KIND: &str = "Es-Aggregate-Kind";
/// The aggregate id of its stream.
pub const AGGREGATE_ID: &str = "Es-Aggregate-Id";
/// When it was recorded, in nanoseconds since the Unix epoch (negative
/// before it).
pub const RECORDED_AT: &str = "Es-Recorded-At";
/// The transaction that wrote it in the store: with [`POSITION`], where it
/// is in the store's commit order (its
/// [`Checkpoint`](eventstore_core::Checkpoint)).
pub const TX: &str = "Es-Tx";
/// Its global position in the store.
pub const POSITION: &str = "Es-Position";
/// Its metadata (correlation and causation ids, actor, extra) as JSON;
/// absent when it has none.
pub const METADATA: &str = "Es-Metadata";
