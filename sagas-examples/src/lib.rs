//! Sample domains for eventstore, and the `sagas` command-line program.
//!
//! [`account`] and [`transfer`] are the aggregates of the money-transfer
//! domain, [`saga`] the transfer saga that moves money between accounts with
//! compensations, and [`money`] how amounts are shown and parsed.
//! [`run_program`] is the `sagas` program. [`warehouse`] is a sample of
//! its own on NATS JetStream, with its `warehouse` program, and [`kmm`] the
//! kids' money manager served over NATS, with its `kmm` program.

#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: 100_00 is 100.00"
)]

pub mod account;
mod cli;
mod demo;
pub mod kmm;
pub mod money;
mod output;
mod program;
pub mod saga;
pub mod transfer;
pub mod warehouse;

pub use cli::run_program;
