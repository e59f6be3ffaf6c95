//! The warehouse sample on NATS JetStream: stock events for products in
//! warehouses, a stock view kept exactly once in a key-value bucket, a
//! low-stock alert that fires once per crossing, and a sales view.
//!
//! - Stock events ([`StockEvent`]: replenished, sold, moved, destroyed)
//!   are published on `warehouse.<warehouse>.product.<product>` to the
//!   stream `WAREHOUSE`, with the headers `myorg_format`, `myorg_type`,
//!   `myorg_msg_id` and `myorg_timestamp_ms` ([`headers`]), and
//!   `Nats-Msg-Id` set to `myorg_msg_id`, so that a publisher's retry
//!   within the duplicate window is stored once ([`Warehouse::publish`]).
//! - The [`View`] keeps one [`StockEntry`] per product and warehouse in
//!   the bucket `warehouse_stock`, changed only by compare-and-set on its
//!   revision, and recording the last stream sequence it applied: a
//!   concurrent update is never lost and a redelivered message, even
//!   after the duplicate window, is applied once.
//! - The [`Worker`] feeds the view from a durable pull consumer,
//!   acknowledging each message after the view committed it; a
//!   malformed message is reported and terminated.
//! - The low-stock alert ([`alert`]) publishes one [`LowStock`] on
//!   `stock.low`, in a stream of its own (`WAREHOUSE_ALERTS`: the stock
//!   stream stays the record of what happened to stock, and the alerts
//!   keep a 24-hour duplicate window of their own), when a product's
//!   stock goes below its threshold, and is armed again once the stock is
//!   back at or above it.
//! - The sales view ([`sales`]) ranks products by units sold.
//!
//! [`run_program`] is the `warehouse` program.

pub mod alert;
mod cli;
mod error;
pub mod events;
pub mod headers;
mod layout;
mod message;
mod names;
mod nats;
pub mod sales;
mod stock;
mod view;
mod worker;

pub use alert::{LowStock, Thresholds};
pub use cli::run_program;
pub use error::{Error, Problem, Result};
pub use events::{EventType, Quantity, StockEvent};
pub use layout::Layout;
pub use message::{Received, decode};
pub use names::Name;
pub use nats::{Published, Warehouse};
pub use stock::StockEntry;
pub use view::{Applied, View};
pub use worker::{Update, Worker};
