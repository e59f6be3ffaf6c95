//! Amounts as kmm shows and reads them: `30`, `30.50`, kept as integer
//! cents (money is never a float).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// A positive amount in cents, shown without decimals when it is whole.
///
/// ```
/// use sagas_examples::kmm::Amount;
/// assert_eq!(Amount(3_000).to_string(), "30");
/// assert_eq!(Amount(3_050).to_string(), "30.50");
/// assert_eq!("7.5".parse::<Amount>().map(|a| a.0), Ok(750));
/// assert_eq!(
///     "0".parse::<Amount>().unwrap_err().to_string(),
///     r#""0" is not an amount: expected a positive amount with at most two decimals, like 20 or 7.50"#
/// );
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(pub u64);

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 100 == 0 {
            write!(f, "{}", self.0 / 100)
        } else {
            Money(self.0).fmt(f)
        }
    }
}

/// A text that is not a positive amount with at most two decimals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an amount: expected a positive amount with at most two decimals, like 20 or 7.50"
)]
pub struct ParseAmountError(pub String);

impl FromStr for Amount {
    type Err = ParseAmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<Money>() {
            Ok(Money(cents)) if cents > 0 => Ok(Self(cents)),
            _ => Err(ParseAmountError(text.to_owned())),
        }
    }
}

/// A change of balance as the ledger shows it: `+20`, `-7.50`.
///
/// ```
/// use sagas_examples::kmm::amount::signed;
/// assert_eq!(signed(2_000), "+20");
/// assert_eq!(signed(-750), "-7.50");
/// ```
#[must_use]
pub fn signed(cents: i64) -> String {
    let sign = if cents < 0 { '-' } else { '+' };
    format!("{sign}{}", Amount(cents.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_positive_amount_naming_it() {
        for bad in ["", "0", "0.00", "-5", "1.234", "1e3", "12,5", "NaN", " 5"] {
            assert_eq!(
                bad.parse::<Amount>(),
                Err(ParseAmountError(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn what_is_shown_parses_back() {
        for cents in [1, 50, 100, 750, 3_050, 1_000_000_00] {
            let shown = Amount(cents).to_string();
            assert_eq!(shown.parse(), Ok(Amount(cents)), "{shown}");
        }
    }
}
