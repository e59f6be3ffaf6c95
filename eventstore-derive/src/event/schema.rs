//! Code generation for the schema of an event enum: the current versions,
//! old kind names and upcasters of the `Event` impl, the decoding of an
//! upcast JSON value, and the one-pass decoding of typed upcaster chains.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

use super::attrs::StepAttr;
use super::model::{EventEnum, EventVariant};
use super::valid::{chain, from_version};

/// The schema items of the `Event` impl.
pub(super) fn schema_items(model: &EventEnum<'_>) -> TokenStream {
    let versions = model.variants.iter().filter(|v| v.version > 1).map(|v| {
        let (kind, version) = (&v.kind, v.version);
        quote!((#kind, #version))
    });
    let aliases = model.variants.iter().flat_map(|v| {
        let kind = &v.kind;
        v.aliases.iter().map(move |alias| quote!((#alias, #kind)))
    });
    let upcasters =
        model
            .variants
            .iter()
            .flat_map(variant_upcasters)
            .chain(model.retired.iter().map(|retired| {
                let (kind, events) = (&retired.kind, &retired.events);
                let from: u32 = retired
                    .from
                    .as_ref()
                    .map_or(1, |lit| lit.base10_parse().unwrap_or(1));
                let personal = retired.personal.iter().map(ToString::to_string);
                quote! {
                    ::eventstore_core::schema::Upcaster {
                        kind: #kind,
                        from: #from,
                        step: ::eventstore_core::schema::UpcastStep::Events(#events),
                        personal: &[#(#personal),*],
                    }
                }
            }));
    let from_value = from_value(model);
    let from_stored = from_stored(model);
    quote! {
        const VERSIONS: &'static [(&'static str, u32)] = &[#(#versions),*];
        const ALIASES: &'static [(&'static str, &'static str)] = &[#(#aliases),*];
        const UPCASTERS: &'static [::eventstore_core::schema::Upcaster] = &[#(#upcasters),*];
        #from_value
        #from_stored
    }
}

/// The upcasters of one variant's older versions.
fn variant_upcasters(variant: &EventVariant<'_>) -> Vec<TokenStream> {
    let kind = &variant.kind;
    variant
        .upcasts
        .iter()
        .map(|upcast| {
            let from = from_version(upcast);
            let personal = upcast.personal.iter().map(ToString::to_string);
            let step = match &upcast.step {
                StepAttr::Typed(ty) => {
                    let to = variant.version;
                    // a broken chain was reported: generate nothing to fail on
                    let Some(convert) = conversions(variant, from, ty) else {
                        return quote!(::eventstore_core::schema::Upcaster {
                            kind: #kind,
                            from: #from,
                            step: ::eventstore_core::schema::UpcastStep::Body {
                                to: #to,
                                rewrite: |_| ::core::unreachable!(),
                            },
                            personal: &[],
                        });
                    };
                    quote! {
                        ::eventstore_core::schema::UpcastStep::Body {
                            to: #to,
                            rewrite: |value| {
                                let event: #ty = ::eventstore_core::__private::serde_json::from_value(value)?;
                                #convert
                                ::eventstore_core::__private::upcast_value(&event)
                            },
                        }
                    }
                }
                StepAttr::Raw(function) => {
                    // past the last version only with an error reported
                    let to = from.saturating_add(1);
                    quote!(::eventstore_core::schema::UpcastStep::Body { to: #to, rewrite: #function })
                }
                StepAttr::Events(function) => {
                    quote!(::eventstore_core::schema::UpcastStep::Events(#function))
                }
            };
            quote! {
                ::eventstore_core::schema::Upcaster {
                    kind: #kind,
                    from: #from,
                    step: #step,
                    personal: &[#(#personal),*],
                }
            }
        })
        .collect()
}

/// The `Into` conversions from the typed payload of version `from`
/// (`event: ty`) to the variant's payload: through the type of each later
/// typed upcaster. Spanned at each type, so that a missing `From` points
/// at the upcaster that needs it. `None` when a later version has no typed
/// upcaster (an error the validation reported).
fn conversions(variant: &EventVariant<'_>, from: u32, ty: &Type) -> Option<TokenStream> {
    let chain = chain(variant);
    let mut steps = Vec::new();
    let mut previous = ty;
    for version in from.saturating_add(1)..variant.version {
        let Some(StepAttr::Typed(next)) = chain.get(&version).map(|u| &u.step) else {
            return None;
        };
        steps.push(quote_spanned! {previous.span()=>
            let event: #next = ::core::convert::Into::into(event);
        });
        previous = next;
    }
    let payload = variant.payload;
    steps.push(quote_spanned! {previous.span()=>
        let event: #payload = ::core::convert::Into::into(event);
    });
    Some(quote!(#(#steps)*))
}

/// `from_value`: the payload of the kind straight from a JSON value.
fn from_value(model: &EventEnum<'_>) -> TokenStream {
    let arms = model.variants.iter().map(|v| {
        let (kind, ident) = (&v.kind, v.ident);
        quote!(#kind => ::eventstore_core::__private::decode_value(body).map(Self::#ident),)
    });
    quote! {
        fn from_value(
            kind: &str,
            body: ::eventstore_core::__private::serde_json::Value,
        ) -> ::core::result::Result<Self, ::eventstore_core::DecodeError> {
            match kind {
                #(#arms)*
                _ => ::core::result::Result::Err(::eventstore_core::DecodeError::UnknownKind),
            }
        }
    }
}

/// `from_stored`, when some kind has typed upcasters: a row at a typed
/// version decodes into its old type straight from the text, in one pass,
/// and converts in memory (failing as the upcaster would, so that the
/// error names the schema version); every other row as the default does.
fn from_stored(model: &EventEnum<'_>) -> TokenStream {
    let arms: Vec<TokenStream> = model
        .variants
        .iter()
        .flat_map(|variant| {
            let names: Vec<String> = std::iter::once(variant.kind.clone())
                .chain(variant.aliases.iter().map(syn::LitStr::value))
                .collect();
            let (ident, kind) = (variant.ident, &variant.kind);
            chain(variant)
                .into_iter()
                .filter_map(|(from, upcast)| match &upcast.step {
                    StepAttr::Typed(ty) => Some((from, ty)),
                    _ => None,
                })
                .filter_map(|(from, ty)| {
                    let convert = conversions(variant, from, ty)?;
                    Some(quote! {
                        (#(#names)|*, #from) => ::eventstore_core::__private::decode_old::<#ty>(#kind, #from, body).map(|event| {
                            #convert
                            ::eventstore_core::schema::Decoded::One(Self::#ident(event))
                        }),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if arms.is_empty() {
        return TokenStream::new();
    }
    quote! {
        fn from_stored(
            kind: &str,
            version: u32,
            body: &::eventstore_core::EventBody,
        ) -> ::core::result::Result<
            ::eventstore_core::schema::Decoded<Self>,
            ::eventstore_core::DecodeError,
        > {
            match (kind, version) {
                #(#arms)*
                _ => ::eventstore_core::schema::decode_stored::<Self>(kind, version, body),
            }
        }
    }
}

/// Checks the personal fields of each typed upcaster's type, as the
/// payload's are: present, and erasable.
pub(super) fn typed_personal_checks(model: &EventEnum<'_>) -> TokenStream {
    let checks = model
        .variants
        .iter()
        .flat_map(|v| &v.upcasts)
        .filter_map(|u| {
            let StepAttr::Typed(ty) = &u.step else {
                return None;
            };
            if u.personal.is_empty() {
                return None;
            }
            let fields = u.personal.iter().map(|field| {
                quote_spanned! {field.span()=>
                    ::eventstore_core::__private::erasable(&payload.#field);
                }
            });
            Some(quote!(let _ = |payload: &#ty| { #(#fields)* };))
        });
    quote!(#(#checks)*)
}
