//! Derive macros for `eventstore-core`. Use them through its re-exports:
//! `use eventstore_core::{Aggregate, Event};`.
//!
//! Each derive parses its input into a model (collecting every error, each
//! at the user's token), then generates code from the model.

mod aggregate;
mod errors;
mod event;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// `#[derive(Event)]`: see `eventstore_core::Event`.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    event::expand(&input).into()
}

/// `#[derive(Aggregate)]`: see `eventstore_core::Aggregate`.
#[proc_macro_derive(Aggregate, attributes(aggregate))]
pub fn derive_aggregate(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    aggregate::expand(&input).into()
}
