//! The warehouse on a NATS server: connecting, creating its streams and
//! bucket, publishing stock events, and reading the stock view and the
//! alerts back.

use std::time::Duration;

use async_nats::jetstream::kv::{self, Store};
use async_nats::jetstream::stream::{self, DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, Context};
use futures_util::{StreamExt, TryStreamExt};

use super::alert::{ALERT_TYPE, LowStock};
use super::error::{Error, Result, nats};
use super::events::StockEvent;
use super::headers::Stamp;
use super::layout::Layout;
use super::message::body;
use super::names::Name;
use super::stock::{StockEntry, key};

/// How long the alerts stream remembers an alert's message id: an alert
/// left in an entry's outbox by a crash is published again when the
/// worker comes back, and dropped as a duplicate if it made it the first
/// time, as long as the worker is back within this window.
const ALERTS_DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3_600);

/// The most entries or alerts read by one listing.
const MAX_LISTED: usize = 100_000;

/// A connection to the warehouse's streams and bucket; cheap to clone.
#[derive(Debug, Clone)]
pub struct Warehouse {
    layout: Layout,
    client: async_nats::Client,
    jetstream: Context,
    events: Stream,
    alerts: Stream,
    stock: Store,
}

/// What publishing a stock event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The subject it went to.
    pub subject: String,
    /// Its `myorg_msg_id` (and `Nats-Msg-Id`).
    pub msg_id: String,
    /// Its stream sequence.
    pub sequence: u64,
    /// True when the stream already had a message with this id (a retry):
    /// nothing new was stored, and `sequence` is the first one's.
    pub duplicate: bool,
}

impl Warehouse {
    /// Connects to the NATS server at `url` and creates the warehouse's
    /// streams and stock bucket as `layout` names them, unless they exist.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] when the server cannot be reached (its message says
    /// that `scripts/ensure-nats` starts one) or refuses the streams.
    pub async fn connect(url: &str, layout: Layout) -> Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(nats(format!(
                "cannot connect to NATS at {url} (start one with JetStream: scripts/ensure-nats)"
            )))?;
        let jetstream = jetstream::new(client.clone());
        let events = jetstream
            .get_or_create_stream(stream::Config {
                name: layout.stream(),
                subjects: vec![layout.events_filter()],
                storage: layout.storage(),
                duplicate_window: layout.window(),
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(nats(format!("creating stream {}", layout.stream())))?;
        let alerts = jetstream
            .get_or_create_stream(stream::Config {
                name: layout.alerts_stream(),
                subjects: vec![layout.alerts_subject()],
                storage: layout.storage(),
                duplicate_window: ALERTS_DUPLICATE_WINDOW,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(nats(format!("creating stream {}", layout.alerts_stream())))?;
        let stock = stock_bucket(&jetstream, &layout).await?;
        Ok(Self {
            layout,
            client,
            jetstream,
            events,
            alerts,
            stock,
        })
    }

    /// The names this warehouse uses.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The JetStream context.
    #[must_use]
    pub fn jetstream(&self) -> &Context {
        &self.jetstream
    }

    /// The stream of stock events.
    #[must_use]
    pub fn events(&self) -> &Stream {
        &self.events
    }

    /// The stock bucket.
    #[must_use]
    pub fn stock(&self) -> &Store {
        &self.stock
    }

    /// Publishes `event` for `product` in `warehouse` with `msg_id` (a new
    /// one when `None`) and waits for JetStream to store it. Publishing again
    /// with the same id within the stream's duplicate window stores
    /// nothing ([`Published::duplicate`]).
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] naming the subject when the stream does not store it.
    pub async fn publish(
        &self,
        warehouse: &Name,
        product: &Name,
        event: &StockEvent,
        msg_id: Option<String>,
    ) -> Result<Published> {
        let subject = self.layout.event_subject(warehouse, product);
        let msg_id = msg_id.unwrap_or_else(|| eventstore_core::EventId::new().to_string());
        let stamp = Stamp::now(event.event_type().as_str(), msg_id.clone());
        let doing = || format!("publishing {msg_id} to {subject}");
        let ack = self
            .jetstream
            .publish_with_headers(subject.clone(), stamp.headers(), body(event).into())
            .await
            .map_err(nats(doing()))?
            .await
            .map_err(nats(doing()))?;
        Ok(Published {
            subject,
            msg_id,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Publishes a low-stock alert; its fixed message id makes a second
    /// publication of the same alert a duplicate the stream drops.
    pub(crate) async fn publish_alert(&self, alert: &LowStock) -> Result<()> {
        let stamp = Stamp {
            message_type: ALERT_TYPE.to_owned(),
            msg_id: alert.msg_id(),
            timestamp_ms: alert.timestamp_ms,
        };
        let payload = serde_json::to_vec(alert).unwrap_or_default();
        let doing = || format!("publishing alert {}", alert.msg_id());
        self.jetstream
            .publish_with_headers(
                self.layout.alerts_subject(),
                stamp.headers(),
                payload.into(),
            )
            .await
            .map_err(nats(doing()))?
            .await
            .map_err(nats(doing()))?;
        Ok(())
    }

    /// The stock entry of `product` in `warehouse` and its revision, if
    /// anything has happened to it.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] when the bucket cannot be read,
    /// [`Error::UnreadableEntry`] when the entry does not decode.
    pub async fn entry(
        &self,
        warehouse: &Name,
        product: &Name,
    ) -> Result<Option<(StockEntry, u64)>> {
        self.entry_at(&key(warehouse, product)).await
    }

    /// The stock entry under `key` and its revision.
    pub(crate) async fn entry_at(&self, key: &str) -> Result<Option<(StockEntry, u64)>> {
        let Some(entry) = self
            .stock
            .entry(key)
            .await
            .map_err(nats(format!("reading stock entry {key}")))?
        else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let stock =
            serde_json::from_slice(&entry.value).map_err(|source| Error::UnreadableEntry {
                key: key.to_owned(),
                source,
            })?;
        Ok(Some((stock, entry.revision)))
    }

    /// Every stock entry, or those of one warehouse, by warehouse and
    /// product.
    ///
    /// # Errors
    ///
    /// As [`entry`](Self::entry).
    pub async fn entries(&self, warehouse: Option<&Name>) -> Result<Vec<StockEntry>> {
        let mut keys: Vec<String> = self
            .stock
            .keys()
            .await
            .map_err(nats("listing the stock bucket"))?
            .take(MAX_LISTED)
            .try_collect()
            .await
            .map_err(nats("listing the stock bucket"))?;
        if let Some(warehouse) = warehouse {
            let prefix = format!("{warehouse}.");
            keys.retain(|k| k.starts_with(&prefix));
        }
        keys.sort();
        let mut entries = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some((entry, _)) = self.entry_at(&key).await? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// The low-stock alerts published, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] when the stream cannot be read, or an alert does
    /// not decode.
    pub async fn alerts(&self) -> Result<Vec<LowStock>> {
        let subject = self.layout.alerts_subject();
        let mut alerts = Vec::new();
        let mut next = 1;
        while alerts.len() < MAX_LISTED {
            let message = match self
                .alerts
                .direct_get_next_for_subject(subject.as_str(), Some(next))
                .await
            {
                Ok(message) => message,
                Err(e) if e.kind() == DirectGetErrorKind::NotFound => break,
                Err(e) => return Err(nats(format!("reading {subject}"))(e)),
            };
            next = message.sequence + 1;
            let alert = serde_json::from_slice(&message.payload)
                .map_err(nats(format!("alert {} on {subject}", message.sequence)))?;
            alerts.push(alert);
        }
        Ok(alerts)
    }

    /// Deletes the warehouse's streams, bucket and consumer (for tests and
    /// demos in a namespace of their own).
    ///
    /// # Errors
    ///
    /// [`Error::Nats`] naming the first one that could not be deleted.
    pub async fn delete(self) -> Result<()> {
        for stream in [
            self.layout.stream(),
            self.layout.alerts_stream(),
            format!("KV_{}", self.layout.stock_bucket()),
        ] {
            self.jetstream
                .delete_stream(&stream)
                .await
                .map_err(nats(format!("deleting stream {stream}")))?;
        }
        self.client.flush().await.map_err(nats("flushing"))?;
        Ok(())
    }
}

/// Opens the stock bucket, creating it unless it exists. async-nats
/// 0.51's `create_key_value` first asks for the account's information,
/// whose reply from NATS 2.9 it cannot parse; so this makes the bucket's
/// stream as `create_key_value` would (`KV_<bucket>` over
/// `$KV.<bucket>.>`, one value per key, rollups, no deletes, direct gets)
/// and opens it as a bucket.
async fn stock_bucket(jetstream: &Context, layout: &Layout) -> Result<Store> {
    let bucket = layout.stock_bucket();
    let doing = || format!("creating bucket {bucket}");
    jetstream
        .get_or_create_stream(stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            storage: layout.storage(),
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(nats(doing()))?;
    jetstream
        .get_key_value(bucket.as_str())
        .await
        .map_err(nats(doing()))
}
