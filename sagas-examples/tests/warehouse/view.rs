//! The stock view: concurrent publishers, workers and appliers, deliveries
//! out of order and twice, and a crash between the view's update and the
//! acknowledgement.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sagas_examples::warehouse::{Applied, StockEvent, Thresholds, Update, View};

use crate::support::{entry, fresh, name, replenished, run_until, sold, units, worker};

const PRODUCTS: [&str; 3] = ["p0", "p1", "p2"];

/// A product's stock, units per location, events applied and units sold.
type Expected = (i64, BTreeMap<String, i64>, u64, u64);

/// The `k`-th event of publisher `i`: replenishments, sales, moves and
/// destructions, over all products.
fn planned(i: usize, k: usize) -> (&'static str, StockEvent) {
    let product = PRODUCTS[(i + k) % PRODUCTS.len()];
    let n = i64::try_from(k % 5 + 1).expect("small");
    let event = match k % 4 {
        0 => replenished(n * 3, "main"),
        1 => sold(n, "main"),
        2 => StockEvent::Moved {
            quantity: units(n),
            from: name("location", "main"),
            to: name("location", "back"),
        },
        _ => StockEvent::Destroyed {
            quantity: units(1),
            location: name("location", "back"),
        },
    };
    (product, event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_and_workers_sum_up_in_the_view() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 60;
    let fresh = fresh().await;
    let north = name("warehouse", "north");
    let mut publishers = Vec::new();
    for i in 0..PUBLISHERS {
        let (warehouse, north) = (fresh.warehouse.clone(), north.clone());
        publishers.push(tokio::spawn(async move {
            for k in 0..EACH {
                let (product, event) = planned(i, k);
                warehouse
                    .publish(&north, &name("product", product), &event, None)
                    .await
                    .expect("publish");
            }
        }));
    }
    // two workers on the same durable consumer, racing for the same entries
    let (first, second) = (
        Arc::new(worker(&fresh, Thresholds::default(), Duration::from_secs(30)).await),
        Arc::new(worker(&fresh, Thresholds::default(), Duration::from_secs(30)).await),
    );
    let total = PUBLISHERS * EACH;
    let applied_everything = move |warehouse: sagas_examples::warehouse::Warehouse| async move {
        let entries = warehouse.entries(None).await.expect("entries");
        entries.iter().map(|e| e.applied).sum::<u64>() == total as u64
    };
    let runs: Vec<_> = [first, second]
        .into_iter()
        .map(|worker| {
            let warehouse = fresh.warehouse.clone();
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                let mut updates = Vec::new();
                let stop = async {
                    while !applied_everything(warehouse.clone()).await
                        && tokio::time::Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                };
                worker
                    .run(stop, |u| updates.push(u))
                    .await
                    .expect("worker runs");
                updates
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let mut failures = Vec::new();
    for run in runs {
        let updates = run.await.expect("worker");
        failures.extend(
            updates
                .into_iter()
                .filter(|u| !matches!(u, Update::Applied { .. })),
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");

    let mut expected: BTreeMap<&str, Expected> = BTreeMap::new();
    for i in 0..PUBLISHERS {
        for k in 0..EACH {
            let (product, event) = planned(i, k);
            let row = expected.entry(product).or_default();
            row.0 += event.stock_change();
            for (location, change) in event.location_changes() {
                *row.1.entry(location.to_string()).or_default() += change;
            }
            row.1.retain(|_, n| *n != 0);
            row.2 += 1;
            if let StockEvent::Sold { quantity, .. } = event {
                row.3 += quantity.get();
            }
        }
    }
    for (product, (stock, locations, applied, sold_units)) in expected {
        let entry = entry(&fresh.warehouse, "north", product).await;
        let seen: BTreeMap<String, i64> = entry
            .locations
            .iter()
            .map(|(l, n)| (l.to_string(), *n))
            .collect();
        assert_eq!(
            (entry.stock, seen, entry.applied, entry.sales.units),
            (stock, locations, applied, sold_units),
            "{product}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_in_any_order_and_at_once_apply_each_event_once_in_order() {
    let fresh = fresh().await;
    let (north, p) = (name("warehouse", "north"), name("product", "p"));
    let mut sequences = Vec::new();
    for k in 1..=30 {
        let event = if k % 3 == 0 {
            sold(k, "main")
        } else {
            replenished(k * 2, "main")
        };
        let published = fresh
            .warehouse
            .publish(&north, &p, &event, None)
            .await
            .expect("publish");
        sequences.push(published.sequence);
    }
    let subject = fresh.layout.event_subject(&north, &p);
    let view = View::new(fresh.warehouse.clone(), Thresholds::default());
    // eight appliers, each delivering every message, in different orders
    let tasks: Vec<_> = (0..8_usize)
        .map(|t| {
            let (view, subject) = (view.clone(), subject.clone());
            let mut order = sequences.clone();
            let shift = t * 4 % order.len();
            order.rotate_left(shift);
            if t % 2 == 1 {
                order.reverse();
            }
            tokio::spawn(async move {
                for sequence in order {
                    view.apply(&subject, sequence).await.expect("apply");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("applier");
    }
    let entry = entry(&fresh.warehouse, "north", "p").await;
    let expected: i64 = (1..=30).map(|k| if k % 3 == 0 { -k } else { k * 2 }).sum();
    assert_eq!((entry.stock, entry.applied), (expected, 30));
    assert_eq!(entry.last_sequence, *sequences.last().expect("published"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appliers_of_different_messages_lose_no_update() {
    const PRODUCTS: i64 = 12;
    const EACH: i64 = 10;
    const APPLIERS: usize = 8;
    let fresh = fresh().await;
    let north = name("warehouse", "north");
    // product-major: the appliers' first messages all hit product 0
    let mut messages = Vec::new();
    for p in 0..PRODUCTS {
        let product = name("product", &format!("p{p}"));
        for k in 1..=EACH {
            let published = fresh
                .warehouse
                .publish(&north, &product, &replenished(k, "main"), None)
                .await
                .expect("publish");
            messages.push((published.subject, published.sequence));
        }
    }
    let view = View::new(fresh.warehouse.clone(), Thresholds::default());
    let tasks: Vec<_> = (0..APPLIERS)
        .map(|t| {
            let view = view.clone();
            let mine: Vec<_> = messages.iter().skip(t).step_by(APPLIERS).cloned().collect();
            tokio::spawn(async move {
                for (subject, sequence) in mine {
                    view.apply(&subject, sequence).await.expect("apply");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("applier");
    }
    for p in 0..PRODUCTS {
        let entry = entry(&fresh.warehouse, "north", &format!("p{p}")).await;
        let last = messages[usize::try_from((p + 1) * EACH - 1).expect("small")].1;
        assert_eq!(
            (entry.stock, entry.applied, entry.last_sequence),
            (
                EACH * (EACH + 1) / 2,
                u64::try_from(EACH).expect("small"),
                last
            ),
            "p{p}"
        );
    }
}

#[tokio::test]
async fn the_same_message_applied_twice_counts_once() {
    let fresh = fresh().await;
    let (north, p) = (name("warehouse", "north"), name("product", "p"));
    let published = fresh
        .warehouse
        .publish(&north, &p, &replenished(7, "main"), None)
        .await
        .expect("publish");
    let view = View::new(fresh.warehouse.clone(), Thresholds::default());
    let first = view
        .apply(&published.subject, published.sequence)
        .await
        .expect("apply");
    let second = view
        .apply(&published.subject, published.sequence)
        .await
        .expect("apply again");
    assert!(matches!(first, Applied::Now { .. }), "{first:?}");
    assert!(matches!(second, Applied::Already { .. }), "{second:?}");
    let entry = entry(&fresh.warehouse, "north", "p").await;
    assert_eq!((entry.stock, entry.applied), (7, 1));
}

#[tokio::test]
async fn a_worker_that_crashes_after_the_update_and_before_the_ack_applies_once() {
    let fresh = fresh().await;
    let (north, p) = (name("warehouse", "north"), name("product", "p"));
    let published = fresh
        .warehouse
        .publish(&north, &p, &replenished(5, "main"), None)
        .await
        .expect("publish");
    let worker = worker(&fresh, Thresholds::default(), Duration::from_secs(1)).await;
    // the crashing worker: takes the message, updates the view, never acks
    {
        use futures_util::StreamExt;
        let mut batch = worker
            .consumer()
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .expect("fetch");
        let message = batch.next().await.expect("a message").expect("delivered");
        assert_eq!(
            message.info().expect("info").stream_sequence,
            published.sequence
        );
        let view = View::new(fresh.warehouse.clone(), Thresholds::default());
        let applied = view
            .apply(&message.subject, published.sequence)
            .await
            .expect("apply");
        assert!(matches!(applied, Applied::Now { .. }), "{applied:?}");
        drop(message);
    }
    // the next worker gets it again after the ack wait, and applies nothing
    let updates = run_until(&worker, Duration::from_secs(10), |updates| {
        updates.iter().any(
            |u| matches!(u, Update::Applied { sequence, .. } if *sequence == published.sequence),
        )
    })
    .await;
    // on a loaded machine it may come more than once (an ack wait may
    // pass before the ack arrives): each delivery applies nothing
    assert!(
        !updates.is_empty()
            && updates.iter().all(|u| matches!(
                u,
                Update::Applied {
                    sequence,
                    applied: Applied::Already { .. },
                } if *sequence == published.sequence
            )),
        "{updates:#?}"
    );
    let entry = entry(&fresh.warehouse, "north", "p").await;
    assert_eq!((entry.stock, entry.applied), (5, 1));
    let info = worker
        .consumer()
        .clone()
        .info()
        .await
        .expect("consumer info")
        .clone();
    assert_eq!((info.num_ack_pending, info.num_pending), (0, 0));
}
