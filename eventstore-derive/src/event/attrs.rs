//! The `#[event(...)]` attributes: on a variant (its kind, version,
//! personal fields, old names and upcasters) and on the enum (the kinds
//! no variant has any more).

use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitInt, LitStr, Path, Token, Type};

use crate::errors::Errors;

/// The `#[event(...)]` attributes of one variant.
#[derive(Default)]
pub(crate) struct VariantAttrs {
    pub(crate) kind: Option<LitStr>,
    pub(crate) personal: Option<Vec<Ident>>,
    pub(crate) version: Option<LitInt>,
    pub(crate) aliases: Option<Vec<LitStr>>,
    pub(crate) upcasts: Vec<Upcast>,
    /// Whether every attribute parsed: after an error the rest of that
    /// attribute was not read, so an upcaster may be missing from
    /// `upcasts` without the user having left it out.
    pub(crate) clean: bool,
}

/// One `upcast(from = V, typed = T | raw = f | events = f, personal(...))`.
pub(crate) struct Upcast {
    pub(crate) from: LitInt,
    pub(crate) step: StepAttr,
    pub(crate) personal: Vec<Ident>,
}

/// What an upcaster does, as the user wrote it.
pub(crate) enum StepAttr {
    /// `typed = OldPayload`: decoded into it, then converted with `Into`.
    Typed(Type),
    /// `raw = function`: the JSON body rewritten to the next version.
    Raw(Path),
    /// `events = function`: the row turned into any events.
    Events(Path),
}

/// One `retired(kind = "Old", from = V, events = f, personal(...))` on
/// the enum.
pub(crate) struct Retired {
    pub(crate) kind: LitStr,
    pub(crate) from: Option<LitInt>,
    pub(crate) events: Path,
    pub(crate) personal: Vec<Ident>,
}

const VARIANT_KEYS: &str = "expected `kind = \"...\"`, `version = N`, `personal(field, ...)`, \
                            `aliases = [\"...\"]` or `upcast(from = N, ...)`";

/// Parses every `#[event(...)]` on a variant, rejecting unknown and
/// repeated keys.
pub(crate) fn variant_attrs(attrs: &[Attribute], errors: &mut Errors) -> VariantAttrs {
    let mut parsed = VariantAttrs {
        clean: true,
        ..VariantAttrs::default()
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("kind") {
                let lit = once(
                    &meta,
                    &parsed.kind,
                    "kind",
                    "give each variant one kind name",
                )?;
                if lit.value().trim().is_empty() {
                    return Err(syn::Error::new(lit.span(), "an event kind cannot be empty"));
                }
                parsed.kind = Some(lit);
            } else if meta.path.is_ident("personal") {
                if parsed.personal.is_some() {
                    return Err(
                        meta.error("duplicate `personal`: list every field in one `personal(...)`")
                    );
                }
                parsed.personal = Some(fields(&meta)?);
            } else if meta.path.is_ident("version") {
                let lit = once(
                    &meta,
                    &parsed.version,
                    "version",
                    "a kind has one current version",
                )?;
                if lit.base10_parse::<u32>()? == 0 {
                    return Err(syn::Error::new(lit.span(), "schema versions start at 1"));
                }
                parsed.version = Some(lit);
            } else if meta.path.is_ident("aliases") {
                if parsed.aliases.is_some() {
                    return Err(meta.error("duplicate `aliases`: list every old name in one list"));
                }
                parsed.aliases = Some(aliases(&meta)?);
            } else if meta.path.is_ident("upcast") {
                parsed.upcasts.push(upcast(&meta)?);
            } else {
                return Err(meta.error(format!("unknown event attribute; {VARIANT_KEYS}")));
            }
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
            parsed.clean = false;
        }
    }
    parsed
}

/// Parses the `#[event(retired(...))]` attributes of the enum.
pub(crate) fn enum_attrs(attrs: &[Attribute], errors: &mut Errors) -> Vec<Retired> {
    let mut retired = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("retired") {
                retired.push(retired_kind(&meta)?);
                Ok(())
            } else {
                Err(meta.error(
                    "on the enum, `#[event(...)]` takes only `retired(kind = \"...\", events = \
                     function)`; `kind`, `version`, `personal`, `aliases` and `upcast` go on the \
                     variants",
                ))
            }
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    retired
}

/// A string value, once.
fn once<T>(meta: &ParseNestedMeta<'_>, seen: &Option<T>, key: &str, why: &str) -> syn::Result<T>
where
    T: syn::parse::Parse,
{
    if seen.is_some() {
        return Err(meta.error(format!("duplicate `{key}`: {why}")));
    }
    meta.value()?.parse()
}

/// `personal(a, b)`: at least one field, none twice.
fn fields(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Ident>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let listed = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
    if listed.is_empty() {
        return Err(meta.error("`personal(...)` needs at least one field name"));
    }
    let mut fields: Vec<Ident> = Vec::new();
    for ident in listed {
        if fields.contains(&ident) {
            return Err(syn::Error::new(
                ident.span(),
                format!("field `{ident}` is listed twice"),
            ));
        }
        fields.push(ident);
    }
    Ok(fields)
}

/// `aliases = ["Old", ...]`: at least one name, none empty.
fn aliases(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let content;
    let value = meta.value()?;
    syn::bracketed!(content in value);
    let listed = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    if listed.is_empty() {
        return Err(meta.error("`aliases = [...]` needs at least one old kind name"));
    }
    for lit in &listed {
        if lit.value().trim().is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                "an old kind name cannot be empty",
            ));
        }
    }
    Ok(listed.into_iter().collect())
}

/// `upcast(from = V, typed = T | raw = f | events = f, personal(...))`.
fn upcast(meta: &ParseNestedMeta<'_>) -> syn::Result<Upcast> {
    let (mut from, mut step, mut personal) = (None, None, None);
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("from") {
            let lit: LitInt = once(&inner, &from, "from", "an upcaster reads one version")?;
            if lit.base10_parse::<u32>()? == 0 {
                return Err(syn::Error::new(lit.span(), "schema versions start at 1"));
            }
            from = Some(lit);
        } else if inner.path.is_ident("personal") {
            if personal.is_some() {
                return Err(inner.error("duplicate `personal`"));
            }
            personal = Some(fields(&inner)?);
        } else {
            let parsed = step_attr(&inner)?;
            if step.is_some() {
                return Err(inner.error("an upcaster has one of `typed`, `raw` or `events`"));
            }
            step = Some(parsed);
        }
        Ok(())
    })?;
    let usage = "expected `upcast(from = N, typed = OldPayload)`, `upcast(from = N, raw = \
                 function)` or `upcast(from = N, events = function)`";
    match (from, step) {
        (Some(from), Some(step)) => Ok(Upcast {
            from,
            step,
            personal: personal.unwrap_or_default(),
        }),
        (None, _) => Err(meta.error(format!("`upcast(...)` needs `from = N`: {usage}"))),
        (_, None) => Err(meta.error(format!(
            "`upcast(...)` needs one of `typed`, `raw` or `events`: {usage}"
        ))),
    }
}

/// `typed = T`, `raw = f` or `events = f`.
fn step_attr(meta: &ParseNestedMeta<'_>) -> syn::Result<StepAttr> {
    if meta.path.is_ident("typed") {
        Ok(StepAttr::Typed(meta.value()?.parse()?))
    } else if meta.path.is_ident("raw") {
        Ok(StepAttr::Raw(meta.value()?.parse()?))
    } else if meta.path.is_ident("events") {
        Ok(StepAttr::Events(meta.value()?.parse()?))
    } else {
        Err(meta.error(
            "unknown upcast attribute; expected `from = N`, `typed = OldPayload`, `raw = \
             function`, `events = function` or `personal(field, ...)`",
        ))
    }
}

/// `retired(kind = "Old", from = V, events = f, personal(...))`.
fn retired_kind(meta: &ParseNestedMeta<'_>) -> syn::Result<Retired> {
    let (mut kind, mut from, mut events, mut personal) = (None, None, None, None);
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("kind") {
            let lit: LitStr = once(&inner, &kind, "kind", "a retired entry names one kind")?;
            if lit.value().trim().is_empty() {
                return Err(syn::Error::new(lit.span(), "an event kind cannot be empty"));
            }
            kind = Some(lit);
        } else if inner.path.is_ident("from") {
            let lit: LitInt = once(&inner, &from, "from", "an upcaster reads one version")?;
            if lit.base10_parse::<u32>()? == 0 {
                return Err(syn::Error::new(lit.span(), "schema versions start at 1"));
            }
            from = Some(lit);
        } else if inner.path.is_ident("events") {
            events = Some(once(
                &inner,
                &events,
                "events",
                "one function reads the kind",
            )?);
        } else if inner.path.is_ident("personal") {
            if personal.is_some() {
                return Err(inner.error("duplicate `personal`"));
            }
            personal = Some(fields(&inner)?);
        } else {
            return Err(inner.error(
                "unknown retired attribute; expected `kind = \"...\"`, `from = N`, `events = \
                 function` or `personal(field, ...)`",
            ));
        }
        Ok(())
    })?;
    let usage = "expected `retired(kind = \"Old\", events = function)`";
    let Some(kind) = kind else {
        return Err(meta.error(format!("`retired(...)` needs `kind = \"...\"`: {usage}")));
    };
    let Some(events) = events else {
        return Err(meta.error(format!("`retired(...)` needs `events = function`: {usage}")));
    };
    Ok(Retired {
        kind,
        from,
        events,
        personal: personal.unwrap_or_default(),
    })
}
