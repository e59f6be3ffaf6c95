//! Where the warehouse lives on JetStream: stream, subjects, bucket and
//! consumer names, optionally inside a namespace so that several
//! warehouses (or tests) share one server without meeting.

use std::time::Duration;

use async_nats::jetstream::stream::StorageType;

use super::names::Name;

/// The names of the warehouse's streams, subjects, bucket and consumer.
///
/// Without a namespace: stream `WAREHOUSE` over `warehouse.>`, stream
/// `WAREHOUSE_ALERTS` over `stock.low`, bucket `warehouse_stock`, durable
/// consumer `warehouse-view`. A namespace `ns` puts `ns.` before every
/// subject and `_ns` (`-ns` for the consumer) after every name.
///
/// ```
/// use sagas_examples::warehouse::{Layout, Name};
///
/// let layout = Layout::default();
/// let (north, p1) = (Name::new("warehouse", "north")?, Name::new("product", "p1")?);
/// assert_eq!(layout.event_subject(&north, &p1), "warehouse.north.product.p1");
/// assert_eq!(layout.alerts_subject(), "stock.low");
/// let test = Layout::namespaced(Name::new("namespace", "t1")?);
/// assert_eq!(test.event_subject(&north, &p1), "t1.warehouse.north.product.p1");
/// assert_eq!(test.stream(), "WAREHOUSE_t1");
/// # Ok::<(), sagas_examples::warehouse::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Layout {
    namespace: Option<Name>,
    storage: StorageType,
    duplicate_window: Duration,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            namespace: None,
            storage: StorageType::File,
            duplicate_window: Duration::from_secs(120),
        }
    }
}

impl Layout {
    /// The layout inside `namespace`.
    #[must_use]
    pub fn namespaced(namespace: Name) -> Self {
        Self {
            namespace: Some(namespace),
            ..Self::default()
        }
    }

    /// Keeps the streams in memory instead of files (for tests).
    #[must_use]
    pub fn in_memory(mut self) -> Self {
        self.storage = StorageType::Memory;
        self
    }

    /// How long the stock stream remembers a `Nats-Msg-Id` to drop a
    /// publisher's retry (default two minutes). The stock view's own record
    /// of applied sequences covers redeliveries after it.
    #[must_use]
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// The storage of the streams and the bucket.
    #[must_use]
    pub fn storage(&self) -> StorageType {
        self.storage
    }

    /// The stock stream's duplicate window.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.duplicate_window
    }

    fn suffixed(&self, base: &str, separator: char) -> String {
        match &self.namespace {
            None => base.to_owned(),
            Some(ns) => format!("{base}{separator}{ns}"),
        }
    }

    fn prefixed(&self, subject: &str) -> String {
        match &self.namespace {
            None => subject.to_owned(),
            Some(ns) => format!("{ns}.{subject}"),
        }
    }

    /// The stream of stock events.
    #[must_use]
    pub fn stream(&self) -> String {
        self.suffixed("WAREHOUSE", '_')
    }

    /// The stream of low-stock alerts.
    #[must_use]
    pub fn alerts_stream(&self) -> String {
        self.suffixed("WAREHOUSE_ALERTS", '_')
    }

    /// The key-value bucket of the stock view.
    #[must_use]
    pub fn stock_bucket(&self) -> String {
        self.suffixed("warehouse_stock", '_')
    }

    /// The durable pull consumer of the view and alert worker.
    #[must_use]
    pub fn consumer(&self) -> String {
        self.suffixed("warehouse-view", '-')
    }

    /// The subject root of stock events: `warehouse`.
    #[must_use]
    pub fn events_root(&self) -> String {
        self.prefixed("warehouse")
    }

    /// Every stock event's subject: `warehouse.>`.
    #[must_use]
    pub fn events_filter(&self) -> String {
        format!("{}.>", self.events_root())
    }

    /// The subject of one product's stock events in one warehouse:
    /// `warehouse.<warehouse>.product.<product>`.
    #[must_use]
    pub fn event_subject(&self, warehouse: &Name, product: &Name) -> String {
        format!("{}.{warehouse}.product.{product}", self.events_root())
    }

    /// The warehouse and product of a stock event's subject, or `None` for
    /// a subject of another shape.
    #[must_use]
    pub fn parse_subject(&self, subject: &str) -> Option<(Name, Name)> {
        let rest = subject
            .strip_prefix(self.events_root().as_str())?
            .strip_prefix('.')?;
        let mut tokens = rest.split('.');
        let (warehouse, product_token, product) = (tokens.next()?, tokens.next()?, tokens.next()?);
        if product_token != "product" || tokens.next().is_some() {
            return None;
        }
        Some((
            Name::new("warehouse", warehouse).ok()?,
            Name::new("product", product).ok()?,
        ))
    }

    /// The subject of low-stock alerts: `stock.low`.
    #[must_use]
    pub fn alerts_subject(&self) -> String {
        self.prefixed("stock.low")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_parse_back_to_their_names() {
        let layout = Layout::namespaced(Name::new("namespace", "ns").unwrap());
        let (w, p) = (
            Name::new("w", "north").unwrap(),
            Name::new("p", "p-1").unwrap(),
        );
        let subject = layout.event_subject(&w, &p);
        assert_eq!(layout.parse_subject(&subject), Some((w, p)));
        for bad in [
            "ns.warehouse.north.item.p",
            "ns.warehouse.north.product",
            "ns.warehouse.north.product.p.extra",
            "warehouse.north.product.p",
            "ns.warehousex.north.product.p",
        ] {
            assert_eq!(layout.parse_subject(bad), None, "{bad}");
        }
    }
}
