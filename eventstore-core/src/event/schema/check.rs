//! The start-up check of an event family's schema: every stored version
//! of every kind has a path to current events.

use std::collections::HashSet;

use super::upcaster::{UpcastStep, Upcaster};
use crate::event::Event;

/// A schema that would leave some stored rows unreadable, or read them in
/// two ways: found by [`check`], and at compile time by
/// `#[derive(Event)]` for what it declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A kind is at schema version 0; versions start at 1.
    #[error("{kind:?} is declared at schema version 0; versions start at 1")]
    ZeroVersion {
        /// The kind.
        kind: String,
    },
    /// Two upcasters read the same kind at the same version.
    #[error("two upcasters read {kind:?} at schema version {version}")]
    Duplicate {
        /// The kind.
        kind: String,
        /// The version both read.
        version: u32,
    },
    /// A version below the current one has no upcaster, so its rows (and
    /// those of every older version that reaches it) cannot be read.
    #[error(
        "{kind:?} is at schema version {current}, but no upcaster reads version {missing}: \
         rows written at it could not be read"
    )]
    Gap {
        /// The kind.
        kind: String,
        /// The version no upcaster reads.
        missing: u32,
        /// The kind's current version.
        current: u32,
    },
    /// Following the upcasters of a kind comes back to a version already
    /// passed.
    #[error("the upcasters of {kind:?} loop through schema versions {versions:?}")]
    Cycle {
        /// The kind.
        kind: String,
        /// The versions of the loop, in the order followed, the first again
        /// at the end.
        versions: Vec<u32>,
    },
    /// An upcaster reads the current version or later, or writes a version
    /// later than the current.
    #[error(
        "an upcaster of {kind:?} reads or writes schema version {version}, but the current is \
         {current}"
    )]
    Beyond {
        /// The kind.
        kind: String,
        /// The version read or written.
        version: u32,
        /// The kind's current version.
        current: u32,
    },
    /// A kind that no variant has any more keeps some rows of it from
    /// ever reaching a current kind: its upcasters end at a version that
    /// none reads.
    #[error(
        "rows of the retired kind {kind:?} at schema version {version} are read by no upcaster"
    )]
    Stranded {
        /// The retired kind.
        kind: String,
        /// The version no upcaster reads.
        version: u32,
    },
    /// An old name of a kind is not free: it is a current kind, another
    /// kind's old name, or the kind of an upcaster; or it renames to a
    /// kind that does not exist.
    #[error("the old kind name {alias:?} of {kind:?} is already taken, or renames to no kind")]
    Alias {
        /// The old name.
        alias: String,
        /// The kind it was meant to rename to.
        kind: String,
    },
    /// A kind's version is declared for a kind the family does not have.
    #[error("a schema version is declared for {kind:?}, which is not a kind of this family")]
    UnknownKind {
        /// The kind.
        kind: String,
    },
}

/// Checks the schema of the event family `E`: every version below each
/// kind's current one is read by exactly one upcaster, the upcasters of a
/// kind lead to its current version without a loop, every row of a
/// retired kind reaches an upcaster that turns it into other events, and
/// old kind names are free.
///
/// `#[derive(Event)]` makes these checks at compile time, so that a
/// derived family always passes; call this at start-up for an [`Event`]
/// implemented by hand. An upcaster that turns a row into events of other
/// kinds ([`UpcastStep::Events`]) is checked when it runs: a loop through
/// it is refused after [`MAX_UPCAST_STEPS`](super::MAX_UPCAST_STEPS).
///
/// ```
/// # use eventstore_core::doc::AccountEvent;
/// eventstore_core::schema::check::<AccountEvent>()?;
/// # Ok::<(), eventstore_core::schema::SchemaError>(())
/// ```
///
/// # Errors
/// The first [`SchemaError`] found.
pub fn check<E: Event>() -> Result<(), SchemaError> {
    for (kind, version) in E::VERSIONS {
        if !E::KINDS.contains(kind) {
            return Err(SchemaError::UnknownKind {
                kind: (*kind).to_owned(),
            });
        }
        if *version == 0 {
            return Err(SchemaError::ZeroVersion {
                kind: (*kind).to_owned(),
            });
        }
    }
    let mut seen = HashSet::new();
    for upcaster in E::UPCASTERS {
        if !seen.insert((upcaster.kind, upcaster.from)) {
            return Err(SchemaError::Duplicate {
                kind: upcaster.kind.to_owned(),
                version: upcaster.from,
            });
        }
    }
    check_aliases::<E>()?;
    for kind in E::KINDS {
        // every version below the current one is read by an upcaster: the
        // first that is not ends the loop, however high the version
        let current = E::current_version(kind);
        if let Some(missing) = (1..current).find(|v| find::<E>(kind, *v).is_none()) {
            return Err(SchemaError::Gap {
                kind: (*kind).to_owned(),
                missing,
                current,
            });
        }
    }
    for upcaster in E::UPCASTERS {
        let current = E::KINDS
            .contains(&upcaster.kind)
            .then(|| E::current_version(upcaster.kind));
        if let Some(current) = current.filter(|current| upcaster.from >= *current) {
            return Err(beyond(upcaster.kind, upcaster.from, current));
        }
        follow::<E>(upcaster.kind, upcaster.from, current)?;
    }
    Ok(())
}

/// Every old name renames to a current kind and is no other name.
fn check_aliases<E: Event>() -> Result<(), SchemaError> {
    let mut names: HashSet<&str> = E::KINDS.iter().copied().collect();
    names.extend(E::UPCASTERS.iter().map(|u| u.kind));
    for (alias, kind) in E::ALIASES {
        if !E::KINDS.contains(kind) || !names.insert(alias) {
            return Err(SchemaError::Alias {
                alias: (*alias).to_owned(),
                kind: (*kind).to_owned(),
            });
        }
    }
    Ok(())
}

/// Follows the body rewrites of `kind` from version `from` until the
/// current version (`current`, `None` for a retired kind) or an upcaster
/// that turns the row into other events.
fn follow<E: Event>(kind: &str, from: u32, current: Option<u32>) -> Result<(), SchemaError> {
    let mut path = vec![from];
    let mut version = from;
    loop {
        if current == Some(version) {
            return Ok(());
        }
        let Some(upcaster) = find::<E>(kind, version) else {
            return Err(match current {
                Some(current) => SchemaError::Gap {
                    kind: kind.to_owned(),
                    missing: version,
                    current,
                },
                None => SchemaError::Stranded {
                    kind: kind.to_owned(),
                    version,
                },
            });
        };
        let UpcastStep::Body { to, .. } = upcaster.step else {
            return Ok(());
        };
        if let Some(current) = current.filter(|current| to > *current) {
            return Err(beyond(kind, to, current));
        }
        if path.contains(&to) {
            path.push(to);
            return Err(SchemaError::Cycle {
                kind: kind.to_owned(),
                versions: path,
            });
        }
        path.push(to);
        version = to;
    }
}

fn beyond(kind: &str, version: u32, current: u32) -> SchemaError {
    SchemaError::Beyond {
        kind: kind.to_owned(),
        version,
        current,
    }
}

fn find<E: Event>(kind: &str, version: u32) -> Option<&'static Upcaster> {
    E::UPCASTERS
        .iter()
        .find(|u| u.kind == kind && u.from == version)
}
