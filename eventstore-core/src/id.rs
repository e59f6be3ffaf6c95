//! [`AggregateId`]: an aggregate id, checked once when it is made.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IdProblem, Result};

/// The longest aggregate id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 255;

impl IdProblem {
    /// What is wrong with `id` as an aggregate id, if anything: the check
    /// that [`AggregateId::new`] makes, as a value, for a domain that
    /// refuses with an error of its own (an id that a command will use
    /// later, such as the accounts of a transfer).
    ///
    /// ```
    /// use eventstore_core::IdProblem;
    ///
    /// assert_eq!(IdProblem::of("acc-1"), None);
    /// assert_eq!(IdProblem::of("bo\tb"), Some(IdProblem::ControlCharacter { at: 2 }));
    /// assert_eq!(IdProblem::of(""), Some(IdProblem::Empty));
    /// ```
    #[must_use]
    pub fn of(id: &str) -> Option<Self> {
        if id.is_empty() {
            Some(Self::Empty)
        } else if id.len() > MAX_ID_BYTES {
            Some(Self::TooLong { bytes: id.len() })
        } else {
            id.char_indices()
                .find(|(_, c)| c.is_control())
                .map(|(at, _)| Self::ControlCharacter { at })
        }
    }
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong { bytes } => {
                write!(f, "it is {bytes} bytes long, the limit is {MAX_ID_BYTES}")
            }
            Self::ControlCharacter { at } => write!(f, "it has a control character at byte {at}"),
        }
    }
}

/// The id of one aggregate (of one stream, with its kind): not empty, at
/// most [`MAX_ID_BYTES`] bytes, no control characters. Any other text
/// (quotes, semicolons, SQL) is data.
///
/// It is checked once, when it is made ([`new`](Self::new), `parse`,
/// `try_from`, or deserialized), so what takes one, such as
/// [`AppendRequest`](crate::backend::AppendRequest), never checks again.
///
/// ```
/// use eventstore_core::{AggregateId, Error, IdProblem};
///
/// let id: AggregateId = "acc-1".parse()?;
/// assert_eq!(id, *"acc-1");
/// assert_eq!(id.to_string(), "acc-1");
/// assert!(AggregateId::new("'; DROP TABLE events; --").is_ok());
///
/// let refused = AggregateId::try_from("line\nbreak").unwrap_err();
/// assert!(matches!(refused, Error::InvalidId { problem: IdProblem::ControlCharacter { at: 4 }, .. }));
/// assert_eq!(refused.to_string(), r#"invalid aggregate id "line\nbreak": it has a control character at byte 4"#);
///
/// // serde refuses what `new` refuses
/// assert!(serde_json::from_str::<AggregateId>(r#""""#).is_err());
/// assert_eq!(serde_json::to_string(&id).unwrap(), r#""acc-1""#);
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AggregateId(String);

impl AggregateId {
    /// Checks `id` and makes it an aggregate id.
    ///
    /// # Errors
    /// [`Error::InvalidId`], naming the id (cut to 300 bytes when very
    /// long) and its [`IdProblem`].
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        match IdProblem::of(&id) {
            None => Ok(Self(id)),
            Some(problem) => Err(Error::InvalidId {
                id: shorten(&id),
                problem,
            }),
        }
    }

    /// The id's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AggregateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AggregateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for AggregateId {
    type Err = Error;
    fn from_str(id: &str) -> Result<Self> {
        Self::new(id)
    }
}

impl TryFrom<&str> for AggregateId {
    type Error = Error;
    fn try_from(id: &str) -> Result<Self> {
        Self::new(id)
    }
}

impl TryFrom<String> for AggregateId {
    type Error = Error;
    fn try_from(id: String) -> Result<Self> {
        Self::new(id)
    }
}

impl From<AggregateId> for String {
    fn from(id: AggregateId) -> Self {
        id.0
    }
}

impl AsRef<str> for AggregateId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for AggregateId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for AggregateId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for AggregateId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// What a [`Repository`](crate::Repository) call takes as an aggregate id:
/// text (`&str`, `String`, `&String`), checked there once, or an
/// [`AggregateId`] (or a reference to one), not checked again.
///
/// ```
/// # use eventstore_core::doc::Account;
/// use eventstore_core::{AggregateId, MemoryStore, Repository};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventstore_core::Result<()> {
/// let repo = Repository::new(MemoryStore::new());
/// repo.load::<Account>("acc-1").await?; // checked here
/// let id: AggregateId = "acc-1".parse()?; // checked here
/// repo.load::<Account>(&id).await?; // not checked again
/// assert!(repo.load::<Account>("").await.is_err());
/// # Ok(()) }
/// ```
///
/// An application can implement it for an id type of its own; the only
/// way to make the [`AggregateId`] it returns is to check the text.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an aggregate id",
    label = "expected a `&str`, a `String` or an `AggregateId`",
    note = "parse an id of another type with `AggregateId::new(text)?`"
)]
pub trait IntoAggregateId {
    /// The checked id.
    ///
    /// # Errors
    /// [`Error::InvalidId`] when the text is not an aggregate id.
    fn into_aggregate_id(self) -> Result<AggregateId>;
}

impl IntoAggregateId for AggregateId {
    fn into_aggregate_id(self) -> Result<AggregateId> {
        Ok(self)
    }
}

impl IntoAggregateId for &AggregateId {
    fn into_aggregate_id(self) -> Result<AggregateId> {
        Ok(self.clone())
    }
}

impl IntoAggregateId for &str {
    fn into_aggregate_id(self) -> Result<AggregateId> {
        AggregateId::new(self)
    }
}

impl IntoAggregateId for String {
    fn into_aggregate_id(self) -> Result<AggregateId> {
        AggregateId::new(self)
    }
}

impl IntoAggregateId for &String {
    fn into_aggregate_id(self) -> Result<AggregateId> {
        AggregateId::new(self.as_str())
    }
}

/// Cuts a refused id so that an error message stays readable.
fn shorten(id: &str) -> String {
    const SHOWN: usize = 300;
    if id.len() <= SHOWN {
        return id.to_owned();
    }
    let mut end = SHOWN;
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &id[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(id: &str) -> IdProblem {
        match AggregateId::new(id) {
            Err(Error::InvalidId { problem, .. }) => problem,
            other => panic!("expected InvalidId for {id:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_limit_and_refuses_one_more_byte() {
        assert!(AggregateId::new("a".repeat(MAX_ID_BYTES)).is_ok());
        assert_eq!(
            problem(&"a".repeat(MAX_ID_BYTES + 1)),
            IdProblem::TooLong { bytes: 256 }
        );
    }

    #[test]
    fn names_the_first_control_character() {
        assert_eq!(problem("ab\0c"), IdProblem::ControlCharacter { at: 2 });
        assert_eq!(problem("é\u{7f}"), IdProblem::ControlCharacter { at: 2 });
        assert_eq!(problem(""), IdProblem::Empty);
    }

    #[test]
    fn keeps_sql_and_unicode_as_data() {
        for id in ["o'brien", "a;b", "'; DROP TABLE events; --", "ünïcødé-✓"] {
            let parsed = AggregateId::new(id).unwrap_or_else(|e| panic!("{id:?}: {e}"));
            assert_eq!(parsed.as_str(), id);
        }
    }

    #[test]
    fn shortens_huge_ids_in_errors_on_a_char_boundary() {
        let id = "é".repeat(400);
        let Err(Error::InvalidId { id: shown, .. }) = AggregateId::new(id) else {
            panic!("expected InvalidId");
        };
        assert!(shown.len() <= 303 && shown.ends_with("..."), "{shown}");
    }

    #[test]
    fn every_way_in_checks_the_same() {
        let bad = "bo\tb";
        let expected = IdProblem::ControlCharacter { at: 2 };
        let refusals = [
            bad.parse::<AggregateId>().err(),
            AggregateId::try_from(bad).err(),
            AggregateId::try_from(bad.to_owned()).err(),
            bad.into_aggregate_id().err(),
            bad.to_owned().into_aggregate_id().err(),
            (&bad.to_owned()).into_aggregate_id().err(),
        ];
        for refusal in refusals {
            assert!(
                matches!(refusal, Some(Error::InvalidId { ref id, problem }) if id == bad && problem == expected),
                "{refusal:?}"
            );
        }
        let json = serde_json::from_str::<AggregateId>(r#""bo\tb""#).unwrap_err();
        assert!(
            json.to_string().contains("control character at byte 2"),
            "{json}"
        );
    }

    #[test]
    fn a_checked_id_passes_through_unchanged() {
        let id = AggregateId::new("acc-1").unwrap();
        assert_eq!((&id).into_aggregate_id().unwrap(), id);
        assert_eq!(id.clone().into_aggregate_id().unwrap(), id);
        assert_eq!(format!("{id} {id:?}"), r#"acc-1 "acc-1""#);
        let back: String = serde_json::from_str::<AggregateId>(r#""acc-1""#)
            .unwrap()
            .into();
        assert_eq!(back, "acc-1");
    }
}
