//! The low-stock alert: one `stock.low` event when a product's stock goes
//! below its threshold, none while it stays below, armed again once the
//! stock is back at or above the threshold.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::names::Name;

/// The message type (`myorg_type`) of an alert.
pub const ALERT_TYPE: &str = "stock.low";

/// Low-stock thresholds: one per product, and a default for the others.
///
/// ```
/// use sagas_examples::warehouse::{Name, Thresholds};
///
/// let thresholds = Thresholds::from_args(["10", "widget=3"])?;
/// assert_eq!(thresholds.of(&Name::new("product", "widget")?), 3);
/// assert_eq!(thresholds.of(&Name::new("product", "gadget")?), 10);
/// # Ok::<(), sagas_examples::warehouse::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    default: i64,
    products: BTreeMap<Name, i64>,
}

impl Default for Thresholds {
    /// 10 units for every product.
    fn default() -> Self {
        Self {
            default: 10,
            products: BTreeMap::new(),
        }
    }
}

/// One `--threshold` argument: `N` (the default) or `PRODUCT=N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdArg {
    product: Option<Name>,
    units: i64,
}

impl FromStr for ThresholdArg {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = || Error::InvalidThreshold(text.to_owned());
        let (product, units) = match text.split_once('=') {
            Some((product, units)) => (
                Some(Name::new("product", product).map_err(|_| invalid())?),
                units,
            ),
            None => (None, text),
        };
        let units = units.parse().map_err(|_| invalid())?;
        Ok(Self { product, units })
    }
}

impl Thresholds {
    /// Thresholds from `--threshold` arguments: the last `N` is the
    /// default (10 without one), each `PRODUCT=N` a product's own.
    pub fn new(args: impl IntoIterator<Item = ThresholdArg>) -> Self {
        let mut thresholds = Self::default();
        for arg in args {
            match arg.product {
                Some(product) => {
                    thresholds.products.insert(product, arg.units);
                }
                None => thresholds.default = arg.units,
            }
        }
        thresholds
    }

    /// Thresholds from `--threshold` arguments as text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidThreshold`] naming the first argument that is
    /// neither `N` nor `PRODUCT=N`.
    pub fn from_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let args: Result<Vec<ThresholdArg>> = args.into_iter().map(str::parse).collect();
        Ok(Self::new(args?))
    }

    /// The threshold of `product`.
    #[must_use]
    pub fn of(&self, product: &Name) -> i64 {
        self.products.get(product).copied().unwrap_or(self.default)
    }
}

/// Whether a product's alert can fire: armed once its stock is at or above
/// the threshold, disarmed when it fires. A product starts disarmed: its
/// first stock, below the threshold while it is being filled, is no
/// crossing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The next fall below the threshold fires an alert.
    pub armed: bool,
    /// How many alerts have fired.
    pub fired: u64,
}

impl AlertState {
    /// Takes the stock after an update; returns true when this update
    /// crosses below `threshold` and so fires an alert.
    pub fn after(&mut self, stock: i64, threshold: i64) -> bool {
        if stock >= threshold {
            self.armed = true;
            false
        } else if self.armed {
            self.armed = false;
            self.fired += 1;
            true
        } else {
            false
        }
    }
}

/// A `stock.low` event: a product's stock in a warehouse went below its
/// threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LowStock {
    /// The warehouse.
    pub warehouse: Name,
    /// The product.
    pub product: Name,
    /// The stock after the event that crossed.
    pub stock: i64,
    /// The threshold it went below.
    pub threshold: i64,
    /// The stream sequence of the stock event that crossed.
    pub sequence: u64,
    /// When that event happened (its `myorg_timestamp_ms`).
    pub timestamp_ms: u64,
}

impl LowStock {
    /// The alert's message id, the same whoever publishes it and however
    /// often: `stock-low-<warehouse>-<product>-<sequence>`.
    #[must_use]
    pub fn msg_id(&self) -> String {
        format!(
            "stock-low-{}-{}-{}",
            self.warehouse, self.product, self.sequence
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_fires_once_per_crossing_and_rearms_above() {
        let mut state = AlertState::default();
        let fired: Vec<bool> = [5, 20, 12, 9, 4, 0, 9, 10, 3, 2]
            .into_iter()
            .map(|stock| state.after(stock, 10))
            .collect();
        assert_eq!(
            fired,
            [
                false, false, false, true, false, false, false, false, true, false
            ]
        );
        assert_eq!(state.fired, 2);
    }

    #[test]
    fn thresholds_name_a_bad_argument() {
        for bad in ["x", "p=", "=3", "a.b=3", "3.5"] {
            let error = Thresholds::from_args([bad]).unwrap_err().to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        let t = Thresholds::from_args(["p=-1"]).unwrap();
        assert_eq!(t.of(&Name::new("p", "p").unwrap()), -1);
        assert_eq!(t.of(&Name::new("p", "q").unwrap()), 10);
    }
}
