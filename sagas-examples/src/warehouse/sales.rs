//! The sales view: units sold per product, to see which move fastest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::names::Name;

/// One product's sales in one warehouse, kept in its stock entry so that
/// the same compare-and-set applies a sale to both views at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sales {
    /// Units sold.
    pub units: u64,
    /// Sale events.
    pub sales: u64,
    /// When the first sale happened (ms since 1970).
    pub first_ms: Option<u64>,
    /// When the last sale happened (ms since 1970).
    pub last_ms: Option<u64>,
}

impl Sales {
    /// Counts a sale of `units` at `timestamp_ms`.
    pub fn record(&mut self, units: u64, timestamp_ms: u64) {
        self.units += units;
        self.sales += 1;
        self.first_ms = Some(self.first_ms.map_or(timestamp_ms, |t| t.min(timestamp_ms)));
        self.last_ms = Some(self.last_ms.map_or(timestamp_ms, |t| t.max(timestamp_ms)));
    }

    /// Adds another warehouse's sales of the same product.
    fn merge(&mut self, other: &Self) {
        self.units += other.units;
        self.sales += other.sales;
        self.first_ms = [self.first_ms, other.first_ms].into_iter().flatten().min();
        self.last_ms = [self.last_ms, other.last_ms].into_iter().flatten().max();
    }

    /// Units sold per hour between the first sale and `now_ms` (over one
    /// hour at least, so that a first sale is no spike).
    #[must_use]
    pub fn units_per_hour(&self, now_ms: u64) -> f64 {
        const HOUR_MS: u64 = 3_600_000;
        let span = self
            .first_ms
            .map_or(HOUR_MS, |first| now_ms.saturating_sub(first).max(HOUR_MS));
        #[expect(
            clippy::cast_precision_loss,
            reason = "a rate to show, not to count with"
        )]
        let rate = self.units as f64 * HOUR_MS as f64 / span as f64;
        rate
    }
}

/// One product's sales across warehouses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductSales {
    /// The product.
    pub product: Name,
    /// Its sales, all warehouses together.
    pub sales: Sales,
    /// The warehouses that sold it.
    pub warehouses: Vec<Name>,
}

/// Products by units sold, the fastest-moving first (ties by name);
/// products never sold are left out.
#[must_use]
pub fn ranking<'a>(
    entries: impl IntoIterator<Item = (&'a Name, &'a Name, &'a Sales)>,
) -> Vec<ProductSales> {
    let mut by_product: BTreeMap<&Name, ProductSales> = BTreeMap::new();
    for (warehouse, product, sales) in entries {
        if sales.sales == 0 {
            continue;
        }
        let row = by_product.entry(product).or_insert_with(|| ProductSales {
            product: product.clone(),
            sales: Sales::default(),
            warehouses: Vec::new(),
        });
        row.sales.merge(sales);
        row.warehouses.push(warehouse.clone());
    }
    let mut rows: Vec<ProductSales> = by_product.into_values().collect();
    rows.sort_by(|a, b| {
        b.sales
            .units
            .cmp(&a.sales.units)
            .then_with(|| a.product.cmp(&b.product))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_rank_by_units_sold_across_warehouses() {
        let name = |n| Name::new("n", n).unwrap();
        let sold = |units, at| {
            let mut s = Sales::default();
            s.record(units, at);
            s
        };
        let (north, south) = (name("north"), name("south"));
        let (a, b, c) = (name("a"), name("b"), name("c"));
        let (a_n, a_s, b_n, c_n) = (sold(3, 10), sold(4, 5), sold(6, 7), Sales::default());
        let rows = ranking([
            (&north, &a, &a_n),
            (&south, &a, &a_s),
            (&north, &b, &b_n),
            (&north, &c, &c_n),
        ]);
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.product.as_str(),
                    r.sales.units,
                    r.sales.first_ms,
                    r.warehouses.len(),
                )
            })
            .collect();
        assert_eq!(summary, [("a", 7, Some(5), 2), ("b", 6, Some(7), 1)]);
        assert!((rows[0].sales.units_per_hour(5) - 7.0).abs() < 1e-9);
    }
}
