//! Names that become subject tokens and key-value keys: warehouses,
//! products, locations and namespaces.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The longest name, in bytes.
const MAX_LEN: usize = 64;

/// A warehouse, product or location name: 1 to 64 letters, digits, `-` or
/// `_`, so that it is one subject token and part of a key-value key as it
/// is, with nothing to escape.
///
/// ```
/// use sagas_examples::warehouse::Name;
///
/// let north = Name::new("warehouse", "north-1")?;
/// assert_eq!(north.as_str(), "north-1");
/// assert!(Name::new("product", "a.b").is_err());
/// # Ok::<(), sagas_examples::warehouse::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    /// `value` as a name of the kind `what` ("warehouse", "product", ...),
    /// or [`Error::InvalidName`] naming both.
    pub fn new(what: &'static str, value: &str) -> Result<Self> {
        let valid = !value.is_empty()
            && value.len() <= MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::InvalidName {
                what,
                value: value.to_owned(),
            })
        }
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Name {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        Self::new("name", value)
    }
}

impl TryFrom<String> for Name {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        Self::new("name", &value)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_tokens() {
        for good in ["a", "north-1", "SKU_42", &"x".repeat(64)] {
            assert!(Name::new("product", good).is_ok(), "{good}");
        }
        for bad in ["", "a.b", "a b", "*", ">", "é", &"x".repeat(65)] {
            let error = Name::new("product", bad).unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
            assert!(error.starts_with("invalid product"), "{error}");
        }
    }

    #[test]
    fn a_stored_name_is_checked_when_read() {
        let read: Result<Name, _> = serde_json::from_str("\"a.b\"");
        assert!(read.is_err());
    }
}
