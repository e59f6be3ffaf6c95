//! The warehouse sample against a real NATS server with JetStream
//! (127.0.0.1:4222; `scripts/ensure-nats` starts one): the stock view under
//! concurrent publishers, redeliveries and crashes, the low-stock alert's
//! once-per-crossing rule, and the `warehouse` program end to end.
//!
//! Every test works in a namespace of its own (its own streams, bucket,
//! consumer and subjects), deleted when the test ends, passed or failed.

mod alerts;
mod cli;
mod messages;
mod support;
mod view;
