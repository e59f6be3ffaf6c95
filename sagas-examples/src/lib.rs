//! Sample domains for eventstore, and the `sagas` command-line program.
//!
//! [`account`] is the Account aggregate of the money-transfer domain;
//! [`demo`] runs it on the in-memory store.

#![allow(
    clippy::inconsistent_digit_grouping,
    reason = "amounts in minor units are written units_cents: 100_00 is 100.00"
)]

pub mod account;
pub mod demo;
pub mod table;
