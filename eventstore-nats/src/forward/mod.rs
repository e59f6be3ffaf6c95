//! Feeding a JetStream stream from another store, and reading it back.
//!
//! The [`Forwarder`] is a reactor: run over a store (the PostgreSQL one in
//! practice) by a [`Runner`](eventstore_core::reactor::Runner), it
//! publishes every event to a stream of its own, one message per event on
//! `<prefix>.<aggregate kind>.<aggregate id>`, in commit order, each once,
//! so that consumers anywhere can read the log without touching the
//! database. [`header`] says what a message carries.
//!
//! [`CatchUp`] reads every event in order, each once, from such a stream
//! and, where the stream has dropped old messages by its limits, from the
//! store: a consumer can keep a short stream and still start from the
//! first event.

mod catch_up;
mod error;
mod forwarder;
pub mod header;
mod message;
mod stream;

pub use catch_up::{CatchUp, Delivery, Events};
pub use error::ForwardError;
pub use forwarder::Forwarder;
