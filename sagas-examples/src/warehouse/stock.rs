//! The stock view's entry for one product in one warehouse: its stock,
//! per location, the last stream sequence applied to it, its alert state
//! and the alerts still to publish, and its sales.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alert::{AlertState, LowStock};
use super::events::StockEvent;
use super::message::Received;
use super::names::Name;
use super::sales::Sales;

/// One product's stock in one warehouse, as stored in the stock bucket
/// under `<warehouse>.<product>`.
///
/// `last_sequence` is the entry's record of what it has applied: a
/// message at or below it is a redelivery and changes nothing. It is
/// written by the same compare-and-set as the stock it produced, so
/// "apply and record" is one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockEntry {
    /// The warehouse.
    pub warehouse: Name,
    /// The product.
    pub product: Name,
    /// Units in stock, all locations together (below zero when more was
    /// reported sold or destroyed than was reported received).
    pub stock: i64,
    /// Units per location; a location with none is left out.
    pub locations: BTreeMap<Name, i64>,
    /// The stream sequence of the last message applied.
    pub last_sequence: u64,
    /// How many stock events have been applied.
    pub applied: u64,
    /// The sequences of malformed messages passed over.
    pub malformed: Vec<u64>,
    /// The low-stock alert's state.
    pub alert: AlertState,
    /// Alerts fired but not yet known to be published (an outbox: the
    /// worker publishes them with their fixed message ids, then clears
    /// them).
    pub outbox: Vec<LowStock>,
    /// The product's sales in this warehouse.
    pub sales: Sales,
}

impl StockEntry {
    /// The entry of a product nothing has happened to yet.
    #[must_use]
    pub fn new(warehouse: Name, product: Name) -> Self {
        Self {
            warehouse,
            product,
            stock: 0,
            locations: BTreeMap::new(),
            last_sequence: 0,
            applied: 0,
            malformed: Vec::new(),
            alert: AlertState::default(),
            outbox: Vec::new(),
            sales: Sales::default(),
        }
    }

    /// The entry's key in the stock bucket: `<warehouse>.<product>`.
    #[must_use]
    pub fn key(&self) -> String {
        key(&self.warehouse, &self.product)
    }

    /// Applies the stock event at stream `sequence` (after
    /// [`last_sequence`](Self::last_sequence)) with the product's low-stock
    /// `threshold`; returns the alert it fires, also put in the outbox.
    pub fn apply(
        &mut self,
        received: &Received,
        sequence: u64,
        threshold: i64,
    ) -> Option<LowStock> {
        let event = &received.event;
        self.stock = self.stock.saturating_add(event.stock_change());
        for (location, change) in event.location_changes() {
            let units = self.locations.entry(location.clone()).or_default();
            *units = units.saturating_add(change);
            if *units == 0 {
                self.locations.remove(location);
            }
        }
        if let StockEvent::Sold { quantity, .. } = event {
            self.sales
                .record(quantity.get(), received.stamp.timestamp_ms);
        }
        self.last_sequence = sequence;
        self.applied += 1;
        if !self.alert.after(self.stock, threshold) {
            return None;
        }
        let alert = LowStock {
            warehouse: self.warehouse.clone(),
            product: self.product.clone(),
            stock: self.stock,
            threshold,
            sequence,
            timestamp_ms: received.stamp.timestamp_ms,
        };
        self.outbox.push(alert.clone());
        Some(alert)
    }

    /// Passes over the malformed message at stream `sequence`.
    pub fn skip(&mut self, sequence: u64) {
        self.last_sequence = sequence;
        self.malformed.push(sequence);
    }
}

/// The stock bucket's key of `product` in `warehouse`.
#[must_use]
pub(crate) fn key(warehouse: &Name, product: &Name) -> String {
    format!("{warehouse}.{product}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::events::Quantity;
    use crate::warehouse::headers::Stamp;

    fn name(n: &str) -> Name {
        Name::new("n", n).unwrap()
    }

    fn received(event: StockEvent) -> Received {
        Received {
            warehouse: name("north"),
            product: name("p"),
            stamp: Stamp::now(event.event_type().as_str(), "m".into()),
            event,
        }
    }

    fn q(units: i64) -> Quantity {
        Quantity::new(units).unwrap()
    }

    #[test]
    fn events_move_stock_between_locations_and_count_sales() {
        let mut entry = StockEntry::new(name("north"), name("p"));
        let events = [
            StockEvent::Replenished {
                quantity: q(20),
                location: name("dock"),
            },
            StockEvent::Moved {
                quantity: q(20),
                from: name("dock"),
                to: name("shelf"),
            },
            StockEvent::Sold {
                quantity: q(5),
                location: name("shelf"),
            },
            StockEvent::Destroyed {
                quantity: q(1),
                location: name("shelf"),
            },
        ];
        for (seq, event) in (1..).zip(events) {
            entry.apply(&received(event), seq, 10);
        }
        assert_eq!(entry.stock, 14);
        assert_eq!(entry.locations, BTreeMap::from([(name("shelf"), 14)]));
        assert_eq!((entry.sales.units, entry.sales.sales), (5, 1));
        assert_eq!((entry.last_sequence, entry.applied), (4, 4));
        assert!(entry.outbox.is_empty());
    }

    #[test]
    fn a_crossing_puts_one_alert_in_the_outbox() {
        let mut entry = StockEntry::new(name("north"), name("p"));
        let shelf = || name("shelf");
        entry.apply(
            &received(StockEvent::Replenished {
                quantity: q(12),
                location: shelf(),
            }),
            1,
            10,
        );
        let alert = entry.apply(
            &received(StockEvent::Sold {
                quantity: q(3),
                location: shelf(),
            }),
            2,
            10,
        );
        let again = entry.apply(
            &received(StockEvent::Sold {
                quantity: q(3),
                location: shelf(),
            }),
            3,
            10,
        );
        assert_eq!(alert.map(|a| (a.stock, a.sequence)), Some((9, 2)));
        assert_eq!(again, None);
        assert_eq!(entry.outbox.len(), 1);
        assert_eq!(entry.outbox[0].msg_id(), "stock-low-north-p-2");
    }
}
