//! Stock events: what happened to a product's stock in a warehouse.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::names::Name;

/// The largest quantity one event may carry.
const MAX_QUANTITY: u64 = 1_000_000_000;

/// A number of units, from 1 to 1,000,000,000.
///
/// ```
/// use sagas_examples::warehouse::Quantity;
///
/// assert_eq!("12".parse::<Quantity>()?.get(), 12);
/// assert!("-3".parse::<Quantity>().unwrap_err().to_string().contains("\"-3\""));
/// # Ok::<(), sagas_examples::warehouse::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u64")]
pub struct Quantity(u64);

impl Quantity {
    /// `units` as a quantity, or [`Error::InvalidQuantity`] naming it.
    pub fn new(units: i64) -> Result<Self> {
        match u64::try_from(units) {
            Ok(units) if (1..=MAX_QUANTITY).contains(&units) => Ok(Self(units)),
            _ => Err(Error::InvalidQuantity(units.to_string())),
        }
    }

    /// The number of units.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }

    /// The number of units, signed, for stock arithmetic.
    #[must_use]
    pub fn signed(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl FromStr for Quantity {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let units: i64 = text
            .trim()
            .parse()
            .map_err(|_| Error::InvalidQuantity(text.to_owned()))?;
        Self::new(units).map_err(|_| Error::InvalidQuantity(text.to_owned()))
    }
}

impl TryFrom<i64> for Quantity {
    type Error = Error;

    fn try_from(units: i64) -> Result<Self> {
        Self::new(units)
    }
}

impl From<Quantity> for u64 {
    fn from(quantity: Quantity) -> Self {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The type of a stock event, as the `myorg_type` header names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Units arrived at a location.
    Replenished,
    /// Units were sold from a location.
    Sold,
    /// Units went from one location to another in the same warehouse.
    Moved,
    /// Units were destroyed (damaged, expired, lost).
    Destroyed,
}

impl EventType {
    /// The type's name: `replenished`, `sold`, `moved` or `destroyed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replenished => "replenished",
            Self::Sold => "sold",
            Self::Moved => "moved",
            Self::Destroyed => "destroyed",
        }
    }
}

impl FromStr for EventType {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "replenished" => Ok(Self::Replenished),
            "sold" => Ok(Self::Sold),
            "moved" => Ok(Self::Moved),
            "destroyed" => Ok(Self::Destroyed),
            other => Err(Error::UnknownType(other.to_owned())),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a product's stock. The warehouse and product are the
/// message's subject; this is its type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockEvent {
    /// `quantity` units arrived at `location`.
    Replenished {
        /// How many.
        quantity: Quantity,
        /// Where they were put.
        location: Name,
    },
    /// `quantity` units were sold from `location`.
    Sold {
        /// How many.
        quantity: Quantity,
        /// Where they were taken from.
        location: Name,
    },
    /// `quantity` units went from `from` to `to`; the warehouse's stock is
    /// the same.
    Moved {
        /// How many.
        quantity: Quantity,
        /// Where they were.
        from: Name,
        /// Where they are now.
        to: Name,
    },
    /// `quantity` units at `location` were destroyed.
    Destroyed {
        /// How many.
        quantity: Quantity,
        /// Where they were.
        location: Name,
    },
}

impl StockEvent {
    /// The event's type.
    #[must_use]
    pub fn event_type(&self) -> EventType {
        match self {
            Self::Replenished { .. } => EventType::Replenished,
            Self::Sold { .. } => EventType::Sold,
            Self::Moved { .. } => EventType::Moved,
            Self::Destroyed { .. } => EventType::Destroyed,
        }
    }

    /// How many units the event is about.
    #[must_use]
    pub fn quantity(&self) -> Quantity {
        match self {
            Self::Replenished { quantity, .. }
            | Self::Sold { quantity, .. }
            | Self::Moved { quantity, .. }
            | Self::Destroyed { quantity, .. } => *quantity,
        }
    }

    /// How the warehouse's stock of the product changes: up for a
    /// replenishment, down for a sale or destruction, none for a move.
    #[must_use]
    pub fn stock_change(&self) -> i64 {
        match self {
            Self::Replenished { quantity, .. } => quantity.signed(),
            Self::Sold { quantity, .. } | Self::Destroyed { quantity, .. } => -quantity.signed(),
            Self::Moved { .. } => 0,
        }
    }

    /// How each location's stock changes.
    #[must_use]
    pub fn location_changes(&self) -> Vec<(&Name, i64)> {
        match self {
            Self::Moved { quantity, from, to } => {
                vec![(from, -quantity.signed()), (to, quantity.signed())]
            }
            Self::Replenished { location, .. }
            | Self::Sold { location, .. }
            | Self::Destroyed { location, .. } => vec![(location, self.stock_change())],
        }
    }

    /// The event in words: `sold 3 at shelf-a`, `moved 2 from a to b`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Moved { quantity, from, to } => format!("moved {quantity} from {from} to {to}"),
            Self::Replenished { quantity, location }
            | Self::Sold { quantity, location }
            | Self::Destroyed { quantity, location } => {
                format!("{} {quantity} at {location}", self.event_type())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_numbers_above_zero() {
        for bad in ["-3", "0", "1.5", "", "x", "1000000001"] {
            let error = bad.parse::<Quantity>().unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        assert_eq!(" 7".parse::<Quantity>().unwrap().get(), 7);
        assert!(serde_json::from_str::<Quantity>("-1").is_err());
    }

    #[test]
    fn unknown_types_are_named() {
        let error = "stolen".parse::<EventType>().unwrap_err().to_string();
        assert!(error.contains("\"stolen\""), "{error}");
        for t in ["replenished", "sold", "moved", "destroyed"] {
            assert_eq!(t.parse::<EventType>().unwrap().as_str(), t);
        }
    }

    #[test]
    fn a_move_changes_locations_but_not_the_stock() {
        let name = |n| Name::new("location", n).unwrap();
        let moved = StockEvent::Moved {
            quantity: Quantity::new(4).unwrap(),
            from: name("a"),
            to: name("b"),
        };
        assert_eq!(moved.stock_change(), 0);
        assert_eq!(
            moved.location_changes(),
            vec![(&name("a"), -4), (&name("b"), 4)]
        );
    }
}
