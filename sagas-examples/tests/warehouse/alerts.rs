//! The low-stock alert: once per crossing below the threshold, armed again
//! above it, and published once even when a crash leaves it in the outbox.

use std::time::Duration;

use sagas_examples::warehouse::{Applied, LowStock, Thresholds, View};

use crate::support::{entry, fresh, name, replenished, run_until, sold};

#[tokio::test]
async fn an_alert_fires_once_per_crossing_below_and_rearms_above() {
    let fresh = fresh().await;
    let (north, widget, gadget) = (
        name("warehouse", "north"),
        name("product", "widget"),
        name("product", "gadget"),
    );
    let plan = [
        (&widget, replenished(20, "main"), None),
        (&widget, sold(15, "main"), Some(5)), // 20 -> 5: crosses below 10
        (&widget, sold(1, "main"), None),     // 4: still below, no alert
        (&gadget, replenished(2, "main"), None), // below 3 from the start: no crossing
        (&widget, replenished(10, "main"), None), // 14: armed again
        (&widget, sold(10, "main"), Some(4)), // 4: crosses below again
        (&widget, sold(1, "main"), None),
        (&gadget, sold(1, "main"), None),
    ];
    let mut expected = Vec::new();
    for (product, event, alert_at) in &plan {
        let published = fresh
            .warehouse
            .publish(&north, product, event, None)
            .await
            .expect("publish");
        if let Some(stock) = alert_at {
            expected.push((*stock, published.sequence));
        }
    }
    let thresholds = Thresholds::from_args(["10", "gadget=3"]).expect("thresholds");
    let worker = crate::support::worker(&fresh, thresholds.clone(), Duration::from_secs(30)).await;
    run_until(&worker, Duration::from_secs(10), |updates| {
        updates.len() >= plan.len()
    })
    .await;

    let alerts = fresh.warehouse.alerts().await.expect("alerts");
    let seen: Vec<(&str, i64, i64, u64)> = alerts
        .iter()
        .map(|a| (a.product.as_str(), a.stock, a.threshold, a.sequence))
        .collect();
    let wanted: Vec<(&str, i64, i64, u64)> = expected
        .iter()
        .map(|(stock, seq)| ("widget", *stock, 10, *seq))
        .collect();
    assert_eq!(seen, wanted);

    // every message delivered again: no new alert
    let view = View::new(fresh.warehouse.clone(), thresholds);
    for sequence in 1..=u64::try_from(plan.len()).expect("small") {
        let message = fresh
            .warehouse
            .events()
            .get_raw_message(sequence)
            .await
            .expect("stored");
        let again = view.apply(&message.subject, sequence).await.expect("apply");
        assert!(matches!(again, Applied::Already { .. }), "{again:?}");
    }
    assert_eq!(fresh.warehouse.alerts().await.expect("alerts").len(), 2);
    let widget_entry = entry(&fresh.warehouse, "north", "widget").await;
    assert_eq!(
        (
            widget_entry.stock,
            widget_entry.alert.fired,
            widget_entry.alert.armed
        ),
        (3, 2, false)
    );
    assert!(widget_entry.outbox.is_empty());
}

#[tokio::test]
async fn an_alert_left_in_the_outbox_by_a_crash_is_published_once() {
    let fresh = fresh().await;
    let (north, widget) = (name("warehouse", "north"), name("product", "widget"));
    for event in [replenished(12, "main"), sold(5, "main")] {
        fresh
            .warehouse
            .publish(&north, &widget, &event, None)
            .await
            .expect("publish");
    }
    let subject = fresh.layout.event_subject(&north, &widget);
    let view = View::new(fresh.warehouse.clone(), Thresholds::default());
    let applied = view.apply(&subject, 2).await.expect("apply");
    let Applied::Now {
        alerts,
        entry: written,
        ..
    } = applied
    else {
        panic!("not applied: {applied:?}");
    };
    assert_eq!(alerts.len(), 1);
    let alert: LowStock = alerts[0].clone();

    // a crash after the entry was written and before (or after) the alert
    // was published, before the outbox was cleared: the entry still holds it
    let key = written.key();
    for _ in 0..2 {
        let mut crashed = (*written).clone();
        crashed.outbox = vec![alert.clone()];
        fresh
            .warehouse
            .stock()
            .put(&key, serde_json::to_vec(&crashed).expect("json").into())
            .await
            .expect("put");
        // the message comes again: the view publishes what the outbox holds
        let again = view.apply(&subject, 2).await.expect("redelivery");
        let Applied::Already { entry } = again else {
            panic!("applied twice: {again:?}");
        };
        assert!(entry.outbox.is_empty());
    }
    let published = fresh.warehouse.alerts().await.expect("alerts");
    assert_eq!(published, vec![alert]);
}
