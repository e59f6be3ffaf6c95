//! The command line of `warehouse`.

use clap::{Parser, Subcommand};

use crate::warehouse::alert::ThresholdArg;
use crate::warehouse::error::Error;
use crate::warehouse::events::{EventType, Quantity};
use crate::warehouse::names::Name;

/// Stock events for products in warehouses on NATS JetStream: a stock view,
/// low-stock alerts and a sales view.
#[derive(Debug, Parser)]
#[command(name = "warehouse", version, about)]
pub(crate) struct Cli {
    /// The NATS server (with JetStream).
    #[arg(
        long,
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        global = true
    )]
    pub(crate) nats: String,
    /// Keeps this warehouse's streams, bucket and subjects apart from
    /// others' on the same server (for tests and side-by-side demos).
    #[arg(long, value_parser = namespace, global = true)]
    pub(crate) namespace: Option<Name>,
    /// Prints JSON instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Publishes a stock event.
    Publish {
        /// replenished, sold, moved or destroyed.
        #[arg(value_name = "TYPE")]
        event_type: EventType,
        /// The warehouse.
        #[arg(long, value_parser = warehouse)]
        warehouse: Name,
        /// The product.
        #[arg(long, value_parser = product)]
        product: Name,
        /// How many units.
        #[arg(long, allow_negative_numbers = true)]
        quantity: Quantity,
        /// Where in the warehouse (not for moved; default: main).
        #[arg(long, value_parser = location)]
        location: Option<Name>,
        /// Where the units were (moved only).
        #[arg(long, value_parser = location)]
        from: Option<Name>,
        /// Where the units went (moved only).
        #[arg(long, value_parser = location)]
        to: Option<Name>,
        /// The message id (default: a new one); publishing again with the
        /// same id within two minutes stores nothing.
        #[arg(long)]
        msg_id: Option<String>,
    },
    /// Shows the stock view.
    Stock {
        /// Only this warehouse.
        #[arg(long, value_parser = warehouse)]
        warehouse: Option<Name>,
    },
    /// Shows the low-stock alerts published.
    Alerts,
    /// Runs the view and alert worker and prints what it applies.
    Follow {
        /// Stops after this many seconds (default: at Ctrl-C).
        #[arg(long = "for", value_name = "SECONDS")]
        seconds: Option<u64>,
        /// A low-stock threshold: N for every product, PRODUCT=N for one
        /// (repeat; default 10).
        #[arg(long, value_name = "N|PRODUCT=N")]
        threshold: Vec<ThresholdArg>,
        /// Seconds before an unacknowledged message is delivered again.
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        ack_wait: u64,
    },
    /// Shows which products sell fastest.
    Sales,
}

fn namespace(value: &str) -> Result<Name, Error> {
    Name::new("namespace", value)
}

fn warehouse(value: &str) -> Result<Name, Error> {
    Name::new("warehouse", value)
}

fn product(value: &str) -> Result<Name, Error> {
    Name::new("product", value)
}

fn location(value: &str) -> Result<Name, Error> {
    Name::new("location", value)
}
