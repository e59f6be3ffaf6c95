//! A fresh warehouse per test, and helpers to wait for the worker, each
//! bounded in time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sagas_examples::warehouse::{
    Layout, Name, Quantity, StockEntry, StockEvent, Thresholds, Update, View, Warehouse, Worker,
};

/// The test server.
pub(crate) const NATS_URL: &str = "nats://127.0.0.1:4222";

/// A warehouse in a namespace of its own, deleted on drop.
pub(crate) struct Fresh {
    /// The namespace (for the program's `--namespace`).
    pub(crate) namespace: Name,
    /// The warehouse's names.
    pub(crate) layout: Layout,
    /// A connection to it.
    pub(crate) warehouse: Warehouse,
}

/// A namespace no other test (in this run or another) uses.
pub(crate) fn unique_namespace() -> Name {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let text = format!(
        "t{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Name::new("namespace", &text).expect("a valid namespace")
}

/// Connects to the test server, failing the test with how to start one.
pub(crate) async fn connect(layout: Layout) -> Warehouse {
    Warehouse::connect(NATS_URL, layout)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "these tests need NATS with JetStream at {NATS_URL}: start it with scripts/ensure-nats ({})",
                eventstore_core::ErrorChain(&e)
            )
        })
}

/// Deletes the streams of test warehouses (namespaces `t<pid>_...`) made
/// over an hour ago: a test that failed before its [`Fresh`] existed left
/// them behind.
async fn sweep(warehouse: &Warehouse) {
    use futures_util::StreamExt;
    let jetstream = warehouse.jetstream();
    let names: Vec<String> = jetstream
        .stream_names()
        .take(10_000)
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    let hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_sub(3_600);
    for name in names {
        let test_stream = ["WAREHOUSE_t", "WAREHOUSE_ALERTS_t", "KV_warehouse_stock_t"]
            .iter()
            .any(|prefix| name.starts_with(prefix));
        if !test_stream {
            continue;
        }
        let Ok(mut stream) = jetstream.get_stream(&name).await else {
            continue;
        };
        let old = stream.info().await.is_ok_and(|info| {
            u64::try_from(info.created.unix_timestamp()).is_ok_and(|at| at < hour_ago)
        });
        if old {
            let _ = jetstream.delete_stream(&name).await;
        }
    }
}

/// A fresh warehouse, its streams in memory.
pub(crate) async fn fresh() -> Fresh {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let namespace = unique_namespace();
    let layout = Layout::namespaced(namespace.clone()).in_memory();
    let warehouse = connect(layout.clone()).await;
    SWEPT.get_or_init(|| sweep(&warehouse)).await;
    Fresh {
        namespace,
        layout,
        warehouse,
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let layout = self.layout.clone();
        // a runtime of its own: the test's may be the one being dropped
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to clean up");
            runtime.block_on(async {
                let warehouse = Warehouse::connect(NATS_URL, layout).await?;
                warehouse.delete().await
            })
        })
        .join();
        if let Ok(Err(e)) = deleted {
            eprintln!("could not delete a test warehouse: {e}");
        }
    }
}

/// A name of kind `what`.
pub(crate) fn name(what: &'static str, value: &str) -> Name {
    Name::new(what, value).expect("a valid name")
}

/// A quantity.
pub(crate) fn units(n: i64) -> Quantity {
    Quantity::new(n).expect("a valid quantity")
}

/// `n` units replenished at `location`.
pub(crate) fn replenished(n: i64, location: &str) -> StockEvent {
    StockEvent::Replenished {
        quantity: units(n),
        location: name("location", location),
    }
}

/// `n` units sold at `location`.
pub(crate) fn sold(n: i64, location: &str) -> StockEvent {
    StockEvent::Sold {
        quantity: units(n),
        location: name("location", location),
    }
}

/// A worker of `fresh` with `thresholds`, delivering again after `ack_wait`.
pub(crate) async fn worker(fresh: &Fresh, thresholds: Thresholds, ack_wait: Duration) -> Worker {
    let view = View::new(fresh.warehouse.clone(), thresholds);
    Worker::new(view, ack_wait)
        .await
        .expect("create the worker")
}

/// Runs `worker` until `done` says so about the updates so far, or
/// `within` has passed (then the test fails, naming what it saw).
pub(crate) async fn run_until(
    worker: &Worker,
    within: Duration,
    done: impl Fn(&[Update]) -> bool,
) -> Vec<Update> {
    let deadline = Instant::now() + within;
    let updates = Mutex::new(Vec::new());
    let stop = async {
        while !done(&updates.lock().expect("updates")) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    worker
        .run(stop, |update| updates.lock().expect("updates").push(update))
        .await
        .expect("the worker runs");
    let updates = updates.into_inner().expect("updates");
    assert!(
        done(&updates),
        "the worker did not finish within {within:?}; it did: {updates:#?}"
    );
    updates
}

/// The entry of `product` in `warehouse`, which must exist.
pub(crate) async fn entry(warehouse: &Warehouse, at: &str, product: &str) -> StockEntry {
    warehouse
        .entry(&name("warehouse", at), &name("product", product))
        .await
        .expect("read the entry")
        .unwrap_or_else(|| panic!("no stock entry for {product} in {at}"))
        .0
}
