//! Aggregate id validation, done before anything is written.

use crate::error::{Error, IdProblem, Result};

/// The longest aggregate id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 255;

impl IdProblem {
    /// What is wrong with `id` as an aggregate id, if anything: the check
    /// that [`validate_id`] makes, as a value, for a domain that refuses
    /// with an error of its own (an id that a command will use later, such
    /// as the accounts of a transfer).
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

impl std::fmt::Display for IdProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong { bytes } => {
                write!(f, "it is {bytes} bytes long, the limit is {MAX_ID_BYTES}")
            }
            Self::ControlCharacter { at } => write!(f, "it has a control character at byte {at}"),
        }
    }
}

/// Checks an aggregate id: not empty, at most [`MAX_ID_BYTES`] bytes, no
/// control characters. Any other text (quotes, semicolons, SQL) is data.
///
/// ```
/// use eventstore_core::Error;
/// use eventstore_core::backend::validate_id;
///
/// assert!(validate_id("acc-1").is_ok());
/// assert!(validate_id("'; DROP TABLE events; --").is_ok());
/// assert!(matches!(validate_id(""), Err(Error::InvalidId { .. })));
/// assert!(validate_id("line\nbreak").is_err());
/// assert!(validate_id(&"x".repeat(256)).is_err());
/// ```
pub fn validate_id(id: &str) -> Result<()> {
    match IdProblem::of(id) {
        None => Ok(()),
        Some(problem) => Err(Error::InvalidId {
            id: shorten(id),
            problem,
        }),
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
        match validate_id(id) {
            Err(Error::InvalidId { problem, .. }) => problem,
            other => panic!("expected InvalidId for {id:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_limit_and_refuses_one_more_byte() {
        assert!(validate_id(&"a".repeat(MAX_ID_BYTES)).is_ok());
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
            assert!(validate_id(id).is_ok(), "{id:?} should be accepted");
        }
    }

    #[test]
    fn shortens_huge_ids_in_errors_on_a_char_boundary() {
        let id = "é".repeat(400);
        let Err(Error::InvalidId { id: shown, .. }) = validate_id(&id) else {
            panic!("expected InvalidId");
        };
        assert!(shown.len() <= 303 && shown.ends_with("..."), "{shown}");
    }
}
