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

/// How many versions without an upcaster an error names.
const MISSING_NAMED: usize = 3;

fn check_chain(variant: &EventVariant<'_>, errors: &mut Errors) {
    let (kind, current) = (&variant.kind, variant.version);
    let mut seen = BTreeMap::new();
    for upcast in &variant.upcasts {
        let from = from_version(upcast);
        if from >= current {
            let hint = match (&variant.version_lit, from.checked_add(1)) {
                (None, Some(next)) => format!(": set `version = {next}` on the variant"),
                _ => String::new(),
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
    // the first few only: a version of 4294967295 must not be counted to
    let missing: Vec<String> = (1..current)
        .filter(|v| !seen.contains_key(v))
        .take(MISSING_NAMED + 1)
        .map(|v| v.to_string())
        .collect();
    if let (Some(lit), false, true) = (&variant.version_lit, missing.is_empty(), variant.clean) {
        let more = if missing.len() > MISSING_NAMED {
            " and more"
        } else {
            ""
        };
        errors.at(
            lit,
            format!(
                "`{kind}` is at schema version {current}, but no upcaster reads version {}{more}: \
                 rows written at {} could not be read; add `upcast(from = {}, ...)`",
                missing[..missing.len().min(MISSING_NAMED)].join(", "),
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    /// What deriving `Event` on the enum `source` expands to, given at
    /// most 10 s and without a panic.
    fn errors_of(source: String) -> String {
        let (sent, received) = mpsc::channel();
        std::thread::spawn(move || {
            let input: syn::DeriveInput = syn::parse_str(&source).unwrap();
            let _ = sent.send(crate::event::expand(&input).to_string());
        });
        received
            .recv_timeout(Duration::from_secs(10))
            .expect("the derive checks the enum within 10 s")
    }

    #[test]
    fn a_huge_version_is_refused_with_a_short_message_at_once() {
        for version in [1_000_000, u32::MAX] {
            let errors = errors_of(format!(
                "enum E {{ #[event(version = {version}, upcast(from = 2, raw = f))] A(A) }}"
            ));
            assert!(
                errors.contains("no upcaster reads version 1, 3, 4 and more"),
                "{version}: {}",
                &errors[..errors.len().min(300)]
            );
            assert!(errors.len() < 5_000, "{version}: {} bytes", errors.len());
        }
    }

    #[test]
    fn an_upcaster_of_the_last_version_is_refused_without_overflowing() {
        let errors =
            errors_of("enum E { #[event(upcast(from = 4294967295, raw = f))] A(A) }".to_owned());
        assert!(
            errors.contains("an upcaster reads an older version, below 1"),
            "{errors}"
        );
    }
}
