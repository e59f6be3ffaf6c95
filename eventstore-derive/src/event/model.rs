//! The typed model of an event enum, parsed from the derive input.

use std::collections::HashMap;

use syn::{Data, DeriveInput, Fields, Ident, LitInt, LitStr, Type, Variant, Visibility};

use super::attrs::{Retired, Upcast, enum_attrs, variant_attrs};
use super::valid;
use crate::errors::Errors;

/// An event enum, with the variants that parsed.
pub(crate) struct EventEnum<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) variants: Vec<EventVariant<'a>>,
    /// The kinds no variant has any more, and the functions that read them.
    pub(crate) retired: Vec<Retired>,
    /// Whether some variants were left out because they are invalid; the
    /// generated matches then need a catch-all arm to stay exhaustive.
    pub(crate) incomplete: bool,
}

/// One kind of event: a variant wrapping its payload.
pub(crate) struct EventVariant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) payload: &'a Type,
    /// The stored kind name.
    pub(crate) kind: String,
    /// The payload fields that hold personal data, as the user wrote them.
    pub(crate) personal: Vec<Ident>,
    /// The current schema version, and the literal that set it.
    pub(crate) version: u32,
    pub(crate) version_lit: Option<LitInt>,
    /// Old kind names that rows may be stored under.
    pub(crate) aliases: Vec<LitStr>,
    /// The upcasters of older versions, as declared.
    pub(crate) upcasts: Vec<Upcast>,
    /// Whether its attributes parsed cleanly, so that `upcasts` is all
    /// the user declared.
    pub(crate) clean: bool,
}

impl<'a> EventEnum<'a> {
    /// The model, or `None` when the input is not an enum this derive can
    /// generate anything for. Every problem is recorded in `errors`.
    pub(crate) fn parse(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(s) => {
                errors.at(s.struct_token, WRONG_SHAPE);
                return None;
            }
            Data::Union(u) => {
                errors.at(u.union_token, WRONG_SHAPE);
                return None;
            }
        };
        if !input.generics.params.is_empty() {
            errors.at(
                &input.generics,
                "#[derive(Event)] does not support generic enums",
            );
            return None;
        }
        let retired = enum_attrs(&input.attrs, errors);
        if data.variants.is_empty() {
            errors.at(&input.ident, "an event enum needs at least one variant");
            return None;
        }
        let mut variants: Vec<EventVariant<'a>> = Vec::new();
        let mut incomplete = false;
        let mut kinds: HashMap<String, &Ident> = HashMap::new();
        let mut payloads: HashMap<String, &Ident> = HashMap::new();
        for variant in &data.variants {
            let attrs = variant_attrs(&variant.attrs, errors);
            let Some(payload) = payload_of(variant, errors) else {
                incomplete = true;
                continue;
            };
            let (kind, kind_span) = match &attrs.kind {
                Some(lit) => (lit.value(), lit.span()),
                None => (variant.ident.to_string(), variant.ident.span()),
            };
            if let Some(first) = kinds.get(&kind) {
                errors.push(syn::Error::new(
                    kind_span,
                    format!("duplicate event kind \"{kind}\": variant `{first}` already uses it"),
                ));
                incomplete = true;
                continue;
            }
            let payload_key = quote::quote!(#payload).to_string();
            if let Some(first) = payloads.get(&payload_key) {
                errors.at(
                    payload,
                    format!(
                        "`{first}` already wraps this payload type; each variant needs its own \
                         payload type so that `From<{payload_key}>` is unambiguous"
                    ),
                );
                incomplete = true;
                continue;
            }
            kinds.insert(kind.clone(), &variant.ident);
            payloads.insert(payload_key, &variant.ident);
            let version = match &attrs.version {
                Some(lit) => lit.base10_parse().unwrap_or(1),
                None => 1,
            };
            variants.push(EventVariant {
                ident: &variant.ident,
                payload,
                kind,
                personal: attrs.personal.unwrap_or_default(),
                version,
                version_lit: attrs.version,
                aliases: attrs.aliases.unwrap_or_default(),
                upcasts: attrs.upcasts,
                clean: attrs.clean,
            });
        }
        let model = Self {
            ident: &input.ident,
            vis: &input.vis,
            variants,
            retired,
            incomplete,
        };
        valid::check(&model, errors);
        Some(model)
    }
}

const WRONG_SHAPE: &str = "#[derive(Event)] works on enums whose variants each wrap one payload \
                           struct, like `enum AccountEvent { Opened(Opened) }`";

/// The one field of a `Variant(Payload)`, or an error that says how to fix
/// the variant.
fn payload_of<'a>(variant: &'a Variant, errors: &mut Errors) -> Option<&'a Type> {
    let name = &variant.ident;
    match &variant.fields {
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => Some(&fields.unnamed[0].ty),
        Fields::Unnamed(fields) => {
            errors.at(
                fields,
                format!(
                    "variant `{name}` must wrap exactly one payload struct, like `{name}({name})`"
                ),
            );
            None
        }
        Fields::Named(fields) => {
            errors.at(
                fields,
                format!(
                    "variant `{name}` must wrap one payload struct: write `{name}({name})` and \
                     move these fields into `struct {name}`"
                ),
            );
            None
        }
        Fields::Unit => {
            errors.at(
                variant,
                format!(
                    "variant `{name}` has no payload: write `{name}({name})` with a payload struct"
                ),
            );
            None
        }
    }
}
