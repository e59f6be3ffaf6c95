//! `#[derive(Event)]`.

mod attrs;
mod expand;
mod model;
mod schema;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

/// Parses the enum and generates its code; invalid variants are left out of
/// the generated code so that only the real errors are reported.
pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let generated = model::EventEnum::parse(input, &mut errors)
        .map(|model| expand::generate(&model))
        .unwrap_or_default();
    let errors = errors.into_compile_errors();
    quote::quote! { #errors #generated }
}
