//! Sample domains for eventstore, and the `sagas` command-line program.
//!
//! [`account`] is the Account aggregate of the money-transfer domain;
//! [`demo`] runs it on the in-memory store.

pub mod account;
pub mod demo;
pub mod table;
