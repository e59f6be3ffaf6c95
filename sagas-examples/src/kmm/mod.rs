//! The kids' money manager: parents deposit money for kids and set a
//! spending budget per period, kids withdraw within it; served over NATS.
//!
//! - [`KidAccount`] is the aggregate: deposits, withdrawals within the
//!   balance and the budget of the current [`Period`] (a minute, a day, a
//!   week from Monday, a month, on the calendar of the budget's time zone).
//! - [`server`] runs it as NATS services, `kmm.services.<command>`, with
//!   the NATS service API's discovery and stats, on the JetStream store, on
//!   PostgreSQL or in memory, and publishes each ledger entry on
//!   `kmm.streams.ledger.<account>`.
//! - [`client`] sends the requests; [`run_program`] is the `kmm` program.

pub mod account;
pub mod amount;
#[cfg(test)]
mod budget_tests;
mod cli;
pub mod client;
mod clock;
pub mod ledger;
pub mod period;
pub mod protocol;
pub mod server;

pub use account::{Budget, KidAccount, KidAccountEvent, KmmError, PeriodSummary};
pub use amount::Amount;
pub use cli::run_program;
pub use client::{ClientError, KmmClient};
pub use clock::RunningFrom;
pub use period::{Period, Window};
