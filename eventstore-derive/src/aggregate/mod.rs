//! `#[derive(Aggregate)]`.

mod model;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

use crate::errors::Errors;

/// Parses the attributes and generates the `Aggregate` impl, whose `apply`
/// dispatches each event to the type's handler method.
pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let generated = model::AggregateType::parse(input, &mut errors)
        .map(|model| generate(&model))
        .unwrap_or_default();
    let errors = errors.into_compile_errors();
    quote! { #errors #generated }
}

fn generate(model: &model::AggregateType<'_>) -> TokenStream {
    let ident = model.ident;
    let (impl_generics, ty_generics, where_clause) = model.generics.split_for_impl();
    let kind = &model.kind;
    let event = &model.event;
    let snapshot_version = model
        .snapshot_version
        .map(|v| quote!(const SNAPSHOT_VERSION: u32 = #v;));
    // Spanned at the event type, so that "does not handle the events" points
    // at `event = ...` in the user's attribute.
    let dispatch = quote_spanned! {event.span()=>
        <#event as ::eventstore_core::__private::Dispatch<Self>>::dispatch(event, self)
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics ::eventstore_core::Aggregate for #ident #ty_generics #where_clause {
            const KIND: &'static str = #kind;
            #snapshot_version
            type Event = #event;

            fn apply(&mut self, event: &Self::Event) {
                #dispatch
            }
        }
    }
}
