//! The typed model of an aggregate, parsed from `#[aggregate(...)]`.

use syn::{DeriveInput, Generics, Ident, LitInt, LitStr, Type};

use crate::errors::Errors;

/// An aggregate type and what its attribute says.
pub(crate) struct AggregateType<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// The stored kind name.
    pub(crate) kind: String,
    /// The event type.
    pub(crate) event: Type,
    /// `snapshot_version = N`, when given.
    pub(crate) snapshot_version: Option<u32>,
}

const USAGE: &str = "expected `#[aggregate(kind = \"Name\", event = EventType)]`";

impl<'a> AggregateType<'a> {
    /// The model, or `None` when the event type is not known. Every problem
    /// is recorded in `errors`.
    pub(crate) fn parse(input: &'a DeriveInput, errors: &mut Errors) -> Option<Self> {
        let mut kind: Option<LitStr> = None;
        let mut event: Option<Type> = None;
        let mut snapshot_version: Option<u32> = None;
        let attrs: Vec<_> = input
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("aggregate"))
            .collect();
        if attrs.is_empty() {
            errors.at(
                &input.ident,
                format!("#[derive(Aggregate)] needs an attribute: {USAGE}"),
            );
            return None;
        }
        let mut parsed = true;
        for attr in &attrs {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("kind") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if kind.is_some() {
                        return Err(meta.error("duplicate `kind`"));
                    }
                    if lit.value().trim().is_empty() {
                        return Err(syn::Error::new(lit.span(), "an aggregate kind cannot be empty"));
                    }
                    kind = Some(lit);
                } else if meta.path.is_ident("event") {
                    let ty: Type = meta.value()?.parse()?;
                    if event.is_some() {
                        return Err(meta.error("duplicate `event`"));
                    }
                    event = Some(ty);
                } else if meta.path.is_ident("snapshot_version") {
                    let lit: LitInt = meta.value()?.parse()?;
                    if snapshot_version.is_some() {
                        return Err(meta.error("duplicate `snapshot_version`"));
                    }
                    snapshot_version = Some(lit.base10_parse()?);
                } else {
                    return Err(meta.error(
                        "unknown aggregate attribute; expected `kind = \"...\"`, `event = Type` or `snapshot_version = N`",
                    ));
                }
                Ok(())
            });
            if let Err(error) = result {
                errors.push(error);
                parsed = false;
            }
        }
        let Some(event) = event else {
            // After an error the rest of that attribute was not read, so the
            // event type may be there: only a clean parse proves it missing.
            if parsed {
                errors.at(attrs[0], format!("missing `event = EventType`: {USAGE}"));
            }
            return None;
        };
        Some(Self {
            ident: &input.ident,
            generics: &input.generics,
            kind: kind.map_or_else(|| input.ident.to_string(), |k| k.value()),
            event,
            snapshot_version,
        })
    }
}
