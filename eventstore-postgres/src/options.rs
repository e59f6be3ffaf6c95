//! How a [`PgEventStore`](crate::PgEventStore) connects and where its
//! tables live.

use std::time::Duration;

use eventstore_core::{Error, Result};

/// The default schema of the store's tables.
pub const DEFAULT_SCHEMA: &str = "eventstore";

/// The longest `statement_timeout` PostgreSQL takes: its setting is a
/// 32-bit count of milliseconds, at most `i32::MAX`.
const MAX_STATEMENT_TIMEOUT: Duration = Duration::from_millis(2_147_483_647);

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

/// Options of a [`PgEventStore`](crate::PgEventStore), checked when the
/// store is built: an option that cannot work is refused with
/// [`Error::InvalidOption`](eventstore_core::Error::InvalidOption), naming
/// it, its value and what it allows.
///
/// ```
/// use eventstore_postgres::PgStoreOptions;
/// let options = PgStoreOptions::default().schema("billing_events").max_connections(32);
/// assert_eq!(options.schema_name(), "billing_events");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct PgStoreOptions {
    pub(crate) schema: String,
    pub(crate) max_connections: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) read_mode: ReadMode,
}

/// Schema [`DEFAULT_SCHEMA`], 16 connections, 10 s connect timeout, 30 s
/// statement timeout, [`ReadMode::Transactions`].
impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            read_mode: ReadMode::Transactions,
        }
    }
}

impl PgStoreOptions {
    /// The schema that holds the store's tables and its own migrations
    /// table: a lowercase identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes),
    /// checked when the store is built.
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// let options = PgStoreOptions::default().schema("tenant_7");
    /// ```
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The pool size, when the store builds its own pool from a URL: at
    /// least 1.
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// let options = PgStoreOptions::default().max_connections(4);
    /// ```
    pub fn max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections;
        self
    }

    /// How long to wait for a connection (while the database is down or
    /// every pooled connection is busy) before giving up with an error:
    /// more than zero.
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// use std::time::Duration;
    /// let options = PgStoreOptions::default().connect_timeout(Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long the server lets one statement run before it cancels it
    /// (PostgreSQL's `statement_timeout`), on every connection that
    /// [`connect`](crate::PgEventStore::connect) opens, the application's
    /// queries through [`pool`](crate::PgEventStore::pool) included, so
    /// that a statement stuck on a lock or a runaway query ends with an
    /// error instead of holding its caller forever. From 1 ms to
    /// 2,147,483,647 ms (PostgreSQL's limit); 0, which would turn the limit
    /// off, is refused. Default 30 s. [`migrate`](crate::PgEventStore::migrate)
    /// runs without it, since a migration of a large table may take
    /// longer; a pool given to [`from_pool`](crate::PgEventStore::from_pool)
    /// keeps the application's settings.
    ///
    /// The server enforces it, so it does not help a client whose link to
    /// the server is cut: the cancellation cannot reach it either (see
    /// [`connect`](crate::PgEventStore::connect) for TCP keepalive).
    ///
    /// ```
    /// # use eventstore_postgres::PgStoreOptions;
    /// use std::time::Duration;
    /// let options = PgStoreOptions::default().statement_timeout(Duration::from_secs(5));
    /// ```
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// How the tracker picks readable rows; see [`ReadMode`].
    ///
    /// ```
    /// # use eventstore_postgres::{PgStoreOptions, ReadMode};
    /// use std::time::Duration;
    /// let options = PgStoreOptions::default().read_mode(ReadMode::SafetyMargin(Duration::from_secs(1)));
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

    /// Checks every option, as the store is built.
    pub(crate) fn checked(&self) -> Result<()> {
        self.checked_schema()?;
        if self.max_connections == 0 {
            return Err(invalid(
                "max_connections",
                self.max_connections,
                "1 or more",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(invalid(
                "connect_timeout",
                format_args!("{:?}", self.connect_timeout),
                "more than 0",
            ));
        }
        if self.statement_timeout < Duration::from_millis(1)
            || self.statement_timeout > MAX_STATEMENT_TIMEOUT
        {
            return Err(invalid(
                "statement_timeout",
                format_args!("{:?}", self.statement_timeout),
                "1 ms to 2147483647 ms",
            ));
        }
        Ok(())
    }

    /// Checks the schema name.
    pub(crate) fn checked_schema(&self) -> Result<()> {
        let name = self.schema.as_str();
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 63 {
            Ok(())
        } else {
            Err(invalid(
                "schema",
                format_args!("{name:?}"),
                "a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 bytes)",
            ))
        }
    }
}

/// The refusal of `option`, given `value`.
fn invalid(option: &'static str, value: impl std::fmt::Display, allowed: &'static str) -> Error {
    Error::InvalidOption {
        option,
        value: value.to_string(),
        allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers_only() {
        for good in ["eventstore", "_x", "tenant_7", &"a".repeat(63)] {
            assert!(
                PgStoreOptions::default()
                    .schema(good)
                    .checked_schema()
                    .is_ok(),
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
            match PgStoreOptions::default().schema(bad).checked_schema() {
                Err(Error::InvalidOption {
                    option: "schema",
                    value,
                    ..
                }) => assert_eq!(value, format!("{bad:?}")),
                other => panic!("{bad:?} should be refused, got {other:?}"),
            }
        }
    }

    #[track_caller]
    fn assert_refused(options: &PgStoreOptions, option: &str, value: &str, allowed: &str) {
        let error = options
            .checked()
            .expect_err(&format!("{option} = {value} should be refused"));
        let message = error.to_string();
        match error {
            Error::InvalidOption {
                option: o,
                value: v,
                allowed: a,
            } => assert_eq!((o, v.as_str(), a), (option, value, allowed)),
            other => panic!("expected InvalidOption for {option}, got {other:?}"),
        }
        assert_eq!(
            message,
            format!("invalid option {option} = {value}: allowed {allowed}")
        );
    }

    #[test]
    fn the_defaults_and_the_bounds_are_accepted() {
        let defaults = PgStoreOptions::default();
        assert!(defaults.checked().is_ok());
        assert_eq!(defaults.statement_timeout, Duration::from_secs(30));
        let bounds = PgStoreOptions::default()
            .max_connections(1)
            .connect_timeout(Duration::from_nanos(1))
            .statement_timeout(Duration::from_millis(1));
        assert!(bounds.checked().is_ok());
        assert_eq!(
            i32::try_from(MAX_STATEMENT_TIMEOUT.as_millis()).ok(),
            Some(i32::MAX)
        );
        let longest = PgStoreOptions::default().statement_timeout(MAX_STATEMENT_TIMEOUT);
        assert!(longest.checked().is_ok());
    }

    #[test]
    fn no_connections_is_refused_not_clamped() {
        let options = PgStoreOptions::default().max_connections(0);
        assert_eq!(options.max_connections, 0, "kept as given");
        assert_refused(&options, "max_connections", "0", "1 or more");
    }

    #[test]
    fn a_zero_connect_timeout_is_refused() {
        let options = PgStoreOptions::default().connect_timeout(Duration::ZERO);
        assert_refused(&options, "connect_timeout", "0ns", "more than 0");
    }

    #[test]
    fn a_statement_timeout_outside_what_postgresql_takes_is_refused() {
        let allowed = "1 ms to 2147483647 ms";
        // 0 would turn the limit off; under 1 ms would be sent as 0
        for (timeout, shown) in [
            (Duration::ZERO, "0ns"),
            (Duration::from_micros(999), "999µs"),
            (
                MAX_STATEMENT_TIMEOUT + Duration::from_millis(1),
                "2147483.648s",
            ),
        ] {
            let options = PgStoreOptions::default().statement_timeout(timeout);
            assert_refused(&options, "statement_timeout", shown, allowed);
        }
    }

    #[test]
    fn the_schema_is_checked_with_the_rest() {
        let options = PgStoreOptions::default().schema("Bad").max_connections(0);
        assert!(matches!(
            options.checked(),
            Err(Error::InvalidOption {
                option: "schema",
                ..
            })
        ));
    }
}
