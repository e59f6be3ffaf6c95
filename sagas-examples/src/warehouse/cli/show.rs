//! What the commands print: tables for people, JSON with `--json`.

use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::output::{table, utc};
use crate::warehouse::alert::LowStock;
use crate::warehouse::events::StockEvent;
use crate::warehouse::headers::now_ms;
use crate::warehouse::nats::Published;
use crate::warehouse::sales::ranking;
use crate::warehouse::stock::StockEntry;

/// `timestamp_ms` as people read it.
fn at(timestamp_ms: u64) -> String {
    utc(SystemTime::UNIX_EPOCH + Duration::from_millis(timestamp_ms))
}

/// Prints a value as one line of JSON.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// What `publish` did.
pub(super) fn published(published: &Published, event: &StockEvent, json: bool) {
    if json {
        print_json(&json!({
            "subject": published.subject,
            "msg_id": published.msg_id,
            "sequence": published.sequence,
            "duplicate": published.duplicate,
        }));
    } else if published.duplicate {
        println!(
            "{} was already published as message {} on {}: nothing new stored",
            published.msg_id, published.sequence, published.subject
        );
    } else {
        println!(
            "published {} on {} as message {} (id {})",
            event.describe(),
            published.subject,
            published.sequence,
            published.msg_id
        );
    }
}

/// The stock view.
pub(super) fn stock(entries: &[StockEntry], json: bool) {
    if json {
        print_json(&json!(entries));
        return;
    }
    let mut rows = table([
        "warehouse",
        "product",
        "stock",
        "locations",
        "alert",
        "alerts",
        "applied",
        "last seq",
    ]);
    for entry in entries {
        let locations: Vec<String> = entry
            .locations
            .iter()
            .map(|(l, n)| format!("{l}:{n}"))
            .collect();
        let alert = if entry.alert.armed { "armed" } else { "-" };
        rows.add_row([
            entry.warehouse.to_string(),
            entry.product.to_string(),
            entry.stock.to_string(),
            locations.join(" "),
            alert.to_owned(),
            entry.alert.fired.to_string(),
            entry.applied.to_string(),
            entry.last_sequence.to_string(),
        ]);
    }
    println!("{}", rows.trim_fmt());
}

/// The alerts published.
pub(super) fn alerts(alerts: &[LowStock], json: bool) {
    if json {
        print_json(&json!(alerts));
        return;
    }
    let mut rows = table([
        "time",
        "warehouse",
        "product",
        "stock",
        "threshold",
        "event seq",
    ]);
    for alert in alerts {
        rows.add_row([
            at(alert.timestamp_ms),
            alert.warehouse.to_string(),
            alert.product.to_string(),
            alert.stock.to_string(),
            alert.threshold.to_string(),
            alert.sequence.to_string(),
        ]);
    }
    println!("{}", rows.trim_fmt());
}

/// The sales view: products by units sold.
pub(super) fn sales(entries: &[StockEntry], json: bool) {
    let ranked = ranking(entries.iter().map(|e| (&e.warehouse, &e.product, &e.sales)));
    if json {
        print_json(&json!(ranked));
        return;
    }
    let now = now_ms();
    let mut rows = table([
        "rank",
        "product",
        "units sold",
        "sales",
        "units/hour",
        "warehouses",
        "last sale",
    ]);
    for (rank, row) in (1..).zip(&ranked) {
        let warehouses: Vec<&str> = row.warehouses.iter().map(|w| w.as_str()).collect();
        rows.add_row([
            rank.to_string(),
            row.product.to_string(),
            row.sales.units.to_string(),
            row.sales.sales.to_string(),
            format!("{:.1}", row.sales.units_per_hour(now)),
            warehouses.join(" "),
            row.sales.last_ms.map(at).unwrap_or_default(),
        ]);
    }
    println!("{}", rows.trim_fmt());
}
