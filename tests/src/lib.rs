//! Integration tests that cross crates. The conformance suites live in
//! `eventstore_core::backend::conformance`; the test files run them
//! against both stores through their public macros, as a backend outside
//! the workspace would.

pub mod books;
pub mod dice;
pub mod import;
pub mod kmm;
pub mod nats;
pub mod nats_kv;
pub mod nats_server;
pub mod postgres;
pub mod sagas;
pub mod scenario;
pub mod simulation;

/// The Rust examples of the workspace README, compiled and run as doctests
/// so that the front door never shows code that does not work.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
