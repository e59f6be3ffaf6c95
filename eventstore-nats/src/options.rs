//! [`NatsOptions`]: where the store lives on NATS and how it is kept.

use std::time::Duration;

use async_nats::jetstream::stream::StorageType;
use eventstore_core::Error;

use crate::kv::BucketLayout;

/// The name of the idempotency keys' bucket, after the stream's.
pub(crate) const IDEMPOTENCY: &str = "idempotency";
/// The name of the snapshots' bucket, after the stream's.
pub(crate) const SNAPSHOTS: &str = "snapshots";

/// Where JetStream keeps the store's stream and buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Storage {
    /// On disk: the record survives a restart (the default).
    #[default]
    File,
    /// In memory: for tests and demos.
    Memory,
}

/// How to connect a [`NatsStore`](crate::NatsStore): the server, the
/// stream's name (its key-value buckets are named after it), the subject
/// prefix of its aggregates, storage and replicas.
///
/// ```
/// use eventstore_nats::{NatsOptions, Storage};
/// let options = NatsOptions::new("nats://127.0.0.1:4222")
///     .stream("BANK")
///     .prefix("bank")
///     .storage(Storage::Memory)
///     .replicas(1);
/// assert_eq!(options.idempotency_bucket(), "BANK_idempotency");
/// assert_eq!(options.subjects(), "bank.>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    pub(crate) url: String,
    pub(crate) stream: String,
    pub(crate) prefix: String,
    pub(crate) storage: Storage,
    pub(crate) replicas: usize,
    pub(crate) pending_grace: Duration,
}

impl NatsOptions {
    /// The defaults, on the server at `url`: stream `EVENTS`, prefix
    /// `events`, file storage, one replica.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "EVENTS".into(),
            prefix: "events".into(),
            storage: Storage::File,
            replicas: 1,
            pending_grace: Duration::from_secs(2),
        }
    }

    /// The stream's name (letters, digits, `-` and `_`); the buckets are
    /// `<stream>_idempotency`, `<stream>_snapshots` and `<stream>_secrets`.
    ///
    /// ```
    /// # use eventstore_nats::NatsOptions;
    /// let options = NatsOptions::new("nats://127.0.0.1:4222").stream("SHOP");
    /// assert_eq!(options.snapshot_bucket(), "SHOP_snapshots");
    /// ```
    #[must_use]
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = name.into();
        self
    }

    /// The subject prefix: aggregates are `<prefix>.<kind>.<id>`. The
    /// prefix may have several tokens (`acme.events`); no other stream on
    /// the server may take subjects under it.
    ///
    /// ```
    /// # use eventstore_nats::NatsOptions;
    /// let options = NatsOptions::new("nats://127.0.0.1:4222").prefix("acme.events");
    /// assert_eq!(options.subjects(), "acme.events.>");
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Where the stream and the buckets are kept.
    ///
    /// ```
    /// # use eventstore_nats::{NatsOptions, Storage};
    /// let options = NatsOptions::new("nats://127.0.0.1:4222").storage(Storage::Memory);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// How many servers of a cluster keep each message (1, 3 or 5).
    ///
    /// ```
    /// # use eventstore_nats::NatsOptions;
    /// let options = NatsOptions::new("nats://127.0.0.1:4222").replicas(3);
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// How long an append with an idempotency key waits for another
    /// writer that recorded the key and has not published yet, before it
    /// fences that writer off and takes the key over (2 s by default): the
    /// time a crashed writer holds its key up.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use eventstore_nats::NatsOptions;
    /// let options = NatsOptions::new("nats://127.0.0.1:4222").pending_grace(Duration::from_millis(500));
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn pending_grace(mut self, grace: Duration) -> Self {
        self.pending_grace = grace;
        self
    }

    /// The stream's name.
    #[must_use]
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// The stream's subjects: `<prefix>.>`.
    #[must_use]
    pub fn subjects(&self) -> String {
        format!("{}.>", self.prefix)
    }

    /// The bucket of idempotency keys.
    #[must_use]
    pub fn idempotency_bucket(&self) -> String {
        format!("{}_{IDEMPOTENCY}", self.stream)
    }

    /// The bucket of snapshots.
    #[must_use]
    pub fn snapshot_bucket(&self) -> String {
        format!("{}_{SNAPSHOTS}", self.stream)
    }

    /// Where the store's key-value buckets go: named after the stream,
    /// with its storage and replicas.
    ///
    /// ```
    /// use eventstore_nats::NatsOptions;
    /// let layout = NatsOptions::new("nats://127.0.0.1:4222").stream("BANK").bucket_layout();
    /// assert_eq!(layout.prefix, "BANK");
    /// ```
    #[must_use]
    pub fn bucket_layout(&self) -> BucketLayout {
        let mut layout = BucketLayout::new(self.stream.clone());
        layout.storage = self.storage_type();
        layout.replicas = self.replicas;
        layout
    }

    /// JetStream's storage type for the store's storage.
    pub(crate) fn storage_type(&self) -> StorageType {
        match self.storage {
            Storage::File => StorageType::File,
            Storage::Memory => StorageType::Memory,
        }
    }

    /// The bucket of the keys that seal personal data, one entry per
    /// aggregate; forget destroys keys in it.
    ///
    /// ```
    /// use eventstore_nats::NatsOptions;
    /// let options = NatsOptions::new("nats://127.0.0.1:4222").stream("SHOP");
    /// assert_eq!(options.secrets_bucket(), "SHOP_secrets");
    /// ```
    #[must_use]
    pub fn secrets_bucket(&self) -> String {
        format!("{}_secrets", self.stream)
    }

    /// Checks the names and numbers before anything is asked of the server.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let name_ok = !self.stream.is_empty()
            && self
                .stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(Error::InvalidOption {
                option: "stream",
                value: format!("{:?}", self.stream),
                allowed: "letters, digits, `-` and `_`, not empty",
            });
        }
        let prefix_ok = self.prefix.split('.').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'*' | b'>'))
        });
        if !prefix_ok {
            return Err(Error::InvalidOption {
                option: "prefix",
                value: format!("{:?}", self.prefix),
                allowed: "subject tokens separated by `.`, without wildcards or spaces",
            });
        }
        if !matches!(self.replicas, 1..=5) {
            return Err(Error::InvalidOption {
                option: "replicas",
                value: self.replicas.to_string(),
                allowed: "1 to 5",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_that_cannot_work_are_refused_by_name() {
        let base = NatsOptions::new("nats://127.0.0.1:4222");
        assert!(base.validate().is_ok());
        for (options, option) in [
            (base.clone().stream("a.b"), "stream"),
            (base.clone().stream(""), "stream"),
            (base.clone().prefix("a..b"), "prefix"),
            (base.clone().prefix("a.*"), "prefix"),
            (base.clone().prefix("a b"), "prefix"),
            (base.replicas(0), "replicas"),
        ] {
            match options.validate() {
                Err(Error::InvalidOption { option: named, .. }) => assert_eq!(named, option),
                other => panic!("{options:?}: {other:?}"),
            }
        }
    }
}
