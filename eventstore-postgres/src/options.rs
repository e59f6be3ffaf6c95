//! How a [`PgEventStore`](crate::PgEventStore) connects and where its
//! tables live.

use std::time::Duration;

use crate::error::{Error, Result};

/// The default schema of the store's tables.
pub const DEFAULT_SCHEMA: &str = "eventstore";

/// How the tracker decides which committed rows it may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadMode {
    /// Only rows whose transaction is older than every running one
    /// (`tx < pg_snapshot_xmin(pg_current_snapshot())`): never skips a late
    /// commit, adds no fixed latency, and is held back only while an older
    /// write transaction is open.
    #[default]
    Transactions,
    /// Only rows older than a fixed lag (`created_at <= now() - lag`). Adds
    /// the lag to every event's latency, and **skips** the rows of any
    /// transaction that commits more than the lag after it wrote them.
    SafetyMargin(Duration),
}

/// Options of a [`PgEventStore`](crate::PgEventStore).
///
/// ```
/// use eventstore_postgres::PgStoreOptions;
/// let options = PgStoreOptions::new().schema("billing_events").max_connections(32);
/// assert_eq!(options.schema_name(), "billing_events");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct PgStoreOptions {
    pub(crate) schema: String,
    pub(crate) max_connections: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_mode: ReadMode,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            read_mode: ReadMode::Transactions,
        }
    }
}

impl PgStoreOptions {
    /// Schema [`DEFAULT_SCHEMA`], 16 connections, 10 s connect timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The schema that holds the store's tables and its own migrations
    /// table: a lowercase identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes),
    /// checked when the store is built.
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// let options = PgStoreOptions::new().schema("tenant_7");
    /// ```
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The pool size, when the store builds its own pool from a URL.
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// let options = PgStoreOptions::new().max_connections(4);
    /// ```
    pub fn max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long to wait for a connection (while the database is down or
    /// every pooled connection is busy) before giving up with an error.
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// use std::time::Duration;
    /// let options = PgStoreOptions::new().connect_timeout(Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How the tracker picks readable rows; see [`ReadMode`].
    ///
    /// ```
    /// # use eventstore_postgres::{PgStoreOptions, ReadMode};
    /// use std::time::Duration;
    /// let options = PgStoreOptions::new().read_mode(ReadMode::SafetyMargin(Duration::from_secs(1)));
    /// ```
    pub fn read_mode(mut self, mode: ReadMode) -> Self {
        self.read_mode = mode;
        self
    }

    /// The schema name as given.
    #[must_use]
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// Checks the schema name.
    pub(crate) fn checked_schema(&self) -> Result<&str> {
        let name = self.schema.as_str();
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 63 {
            Ok(name)
        } else {
            Err(Error::InvalidSchema {
                name: name.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers_only() {
        for good in ["eventstore", "_x", "tenant_7", &"a".repeat(63)] {
            assert!(
                PgStoreOptions::new().schema(good).checked_schema().is_ok(),
                "{good}"
            );
        }
        for bad in [
            "",
            "7up",
            "Events",
            "a-b",
            "a\"; DROP SCHEMA public; --",
            "é",
            &"a".repeat(64),
        ] {
            match PgStoreOptions::new().schema(bad).checked_schema() {
                Err(Error::InvalidSchema { name }) => assert_eq!(name, bad),
                other => panic!("{bad:?} should be refused, got {other:?}"),
            }
        }
    }
}
