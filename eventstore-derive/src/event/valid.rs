//! Rules across the attributes of an event enum, checked at compile time:
//! every older version of a kind is read by exactly one upcaster, a typed
//! upcaster converts into a type the next version has, and no stored kind
//! name is taken twice.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::attrs::{StepAttr, Upcast};
use super::model::{EventEnum, EventVariant};
use crate::errors::Errors;

/// Records every broken rule in `errors`, each at the user's token.
pub(crate) fn check(model: &EventEnum<'_>, errors: &mut Errors) {
    for variant in &model.variants {
        check_chain(variant, errors);
    }
    check_names(model, errors);
}

/// The version an upcaster reads (its literal was checked when parsed).
pub(crate) fn from_version(upcast: &Upcast) -> u32 {
    upcast.from.base10_parse().unwrap_or(0)
}

/// The upcasters of one variant's older versions, by the version each
/// reads, the first of each version only.
pub(crate) fn chain<'v>(variant: &'v EventVariant<'_>) -> BTreeMap<u32, &'v Upcast> {
    let mut chain = BTreeMap::new();
    for upcast in &variant.upcasts {
        chain.entry(from_version(upcast)).or_insert(upcast);
    }
    chain
}

fn check_chain(variant: &EventVariant<'_>, errors: &mut Errors) {
    let (kind, current) = (&variant.kind, variant.version);
    let mut seen = BTreeMap::new();
    for upcast in &variant.upcasts {
        let from = from_version(upcast);
        if from >= current {
            let hint = match &variant.version_lit {
                Some(_) => String::new(),
                None => format!(": set `version = {}` on the variant", from + 1),
            };
            errors.at(
                &upcast.from,
                format!(
                    "`{kind}` is at schema version {current}; an upcaster reads an older version, \
                     below {current}{hint}"
                ),
            );
        } else if seen.insert(from, upcast).is_some() {
            errors.at(
                &upcast.from,
                format!("two upcasters read `{kind}` at schema version {from}"),
            );
        }
    }
    // at most a few, found early however high the version
    let mut missing: Vec<String> = (1..current)
        .filter(|v| !seen.contains_key(v))
        .take(4)
        .map(|v| v.to_string())
        .collect();
    if missing.len() == 4 {
        missing[3] = "...".to_owned();
    }
    if let (Some(lit), false, true) = (&variant.version_lit, missing.is_empty(), variant.clean) {
        errors.at(
            lit,
            format!(
                "`{kind}` is at schema version {current}, but no upcaster reads version {}: rows \
                 written at {} could not be read; add `upcast(from = {}, ...)`",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" },
                missing[0]
            ),
        );
    }
    for (from, upcast) in &seen {
        let StepAttr::Typed(ty) = &upcast.step else {
            continue;
        };
        let next = from + 1;
        let found = match seen.get(&next).map(|u| &u.step) {
            _ if next == current => continue,
            Some(StepAttr::Typed(_)) => continue,
            Some(StepAttr::Raw(_)) => "a raw upcaster",
            Some(StepAttr::Events(_)) => "an events upcaster",
            None => "no upcaster",
        };
        errors.at(
            ty,
            format!(
                "a typed upcaster converts into the type of the next version, but version {next} \
                 of `{kind}` has {found}: make that one typed too, or this one raw"
            ),
        );
    }
}

/// Every name rows may be stored under (kinds, old names, retired kinds)
/// is taken once; a retired kind is read once per version.
fn check_names(model: &EventEnum<'_>, errors: &mut Errors) {
    let mut names: HashMap<String, String> = model
        .variants
        .iter()
        .map(|v| (v.kind.clone(), format!("the kind of `{}`", v.ident)))
        .collect();
    for variant in &model.variants {
        for alias in &variant.aliases {
            let name = alias.value();
            match names.get(&name) {
                Some(owner) => errors.at(
                    alias,
                    format!("the old kind name \"{name}\" is already taken: it is {owner}"),
                ),
                None => {
                    names.insert(name, format!("an old name of `{}`", variant.ident));
                }
            }
        }
    }
    let mut retired_versions: HashSet<(String, u32)> = HashSet::new();
    for retired in &model.retired {
        let name = retired.kind.value();
        let from = retired
            .from
            .as_ref()
            .map_or(1, |lit| lit.base10_parse().unwrap_or(1));
        if let Some(owner) = names.get(&name) {
            if !owner.starts_with("a retired kind") {
                errors.at(
                    &retired.kind,
                    format!(
                        "\"{name}\" is {owner}: a retired kind is one that no variant has any more"
                    ),
                );
                continue;
            }
        }
        names.insert(name.clone(), "a retired kind".to_owned());
        if !retired_versions.insert((name.clone(), from)) {
            errors.at(
                &retired.kind,
                format!("two upcasters read the retired kind \"{name}\" at schema version {from}"),
            );
        }
    }
}
