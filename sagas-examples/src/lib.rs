//! Sample domains for eventstore, and the `sagas` command-line program.
//!
//! [`account`] and [`transfer`] are the aggregates of the money-transfer
//! domain, [`saga`] the reactor that moves money between accounts with
//! compensations; [`demo`] runs them.

#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: 100_00 is 100.00"
)]

pub mod account;
pub mod cli;
pub mod demo;
pub mod saga;
pub mod scenario;
pub mod table;
pub mod transfer;
