//! Amounts of money as people read and write them: `12.50`, stored as
//! integer minor units (cents), `1250`.
//!
//! Everything the examples print for people shows money through
//! [`Money`]'s `Display`, and the command line parses it with its
//! `FromStr`; JSON output keeps minor units.

use std::fmt;
use std::str::FromStr;

/// An amount in minor units (cents), shown as units and cents.
///
/// ```
/// use sagas_examples::money::Money;
/// assert_eq!(Money(12_345).to_string(), "123.45");
/// assert_eq!("12.5".parse::<Money>(), Ok(Money(1_250)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub u64);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A text that is not an amount like `100` or `12.50`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an amount like 100 or 12.50")]
pub struct ParseMoneyError {
    text: String,
}

impl ParseMoneyError {
    /// The text as given.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl FromStr for Money {
    type Err = ParseMoneyError;

    /// Parses units with at most two decimals: `100`, `12.5`, `12.50`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseMoneyError {
            text: text.to_owned(),
        };
        let (units, cents) = text.split_once('.').unwrap_or((text, ""));
        if units.is_empty()
            || cents.len() > 2
            || !units
                .chars()
                .chain(cents.chars())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let units: u64 = units.parse().map_err(|_| bad())?;
        let cents: u64 = if cents.is_empty() {
            0
        } else {
            format!("{cents:0<2}").parse().map_err(|_| bad())?
        };
        units
            .checked_mul(100)
            .and_then(|u| u.checked_add(cents))
            .map(Money)
            .ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_units_and_two_decimals() {
        for (minor, shown) in [
            (0, "0.00"),
            (1, "0.01"),
            (1_205, "12.05"),
            (50_000, "500.00"),
            (u64::MAX, "184467440737095516.15"),
        ] {
            assert_eq!(Money(minor).to_string(), shown);
        }
    }

    #[test]
    fn parses_amounts_into_minor_units() {
        for (text, minor) in [
            ("100", 10_000),
            ("12.5", 1_250),
            ("12.05", 1_205),
            ("0.01", 1),
            ("184467440737095516.15", u64::MAX),
        ] {
            assert_eq!(text.parse(), Ok(Money(minor)), "{text:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_amount_naming_it() {
        for bad in [
            "",
            "-1",
            "1.234",
            "1,5",
            "abc",
            ".5",
            "184467440737095516.16",
        ] {
            let error = bad.parse::<Money>().expect_err(bad);
            assert_eq!(error.text(), bad);
            assert_eq!(
                error.to_string(),
                format!("{bad:?} is not an amount like 100 or 12.50")
            );
        }
    }

    #[test]
    fn what_is_shown_parses_back() {
        for minor in [0, 7, 1_250, 99_999_99] {
            let shown = Money(minor).to_string();
            assert_eq!(shown.parse(), Ok(Money(minor)), "{shown}");
        }
    }
}
