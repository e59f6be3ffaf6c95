//! The pool that [`PgEventStore::connect`](crate::PgEventStore::connect)
//! builds: the server settings of its connections (statement timeout, TCP
//! keepalive) and when it pings them.

use std::time::Duration;

use eventstore_core::Result;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::failed;
use crate::options::PgStoreOptions;

/// What a failure to connect says.
const CANNOT_CONNECT: &str = "cannot connect to PostgreSQL";

/// How long a pooled connection may sit idle before it is pinged when
/// handed out again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

/// How long the server's side of a TCP connection may receive nothing
/// before the server starts probing the client (`tcp_keepalives_idle`).
const KEEPALIVES_IDLE: Duration = Duration::from_secs(60);

/// How long the server waits between probes (`tcp_keepalives_interval`).
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);

/// How many probes may go unanswered before the server drops the
/// connection (`tcp_keepalives_count`): with the two above, a client that
/// vanished is found about 2 minutes after it last sent something.
const KEEPALIVES_COUNT: u32 = 6;

/// The connect options of `url` (a `postgres://` URL, whose own `options`
/// are kept) with the store's settings for every session: the statement
/// timeout, generic plans for its prepared statements, and TCP keepalive on
/// the server's side.
///
/// `plan_cache_mode=force_generic_plan`: PostgreSQL planned the append
/// afresh on every execution (a custom plan each time, seen in
/// `pg_prepared_statements`), and that planning was most of what an append
/// cost over a bare INSERT. Every statement of the store is shaped to use
/// its index with any parameters (`tests/tests/postgres_plans.rs` checks the
/// command path's generic plans), so one plan per statement and connection
/// serves them all.
///
/// `enable_seqscan=off`: a generic plan is made once and kept until the
/// next ANALYZE or schema change, so a plan made while the events table
/// was small (a new deployment's first commands, analyzed by autovacuum
/// after 50 rows) scanned and sorted the whole table on every load as it
/// grew: a command on a new aggregate cost PostgreSQL 0.6 ms where it costs
/// 0.1 ms through the index (seen in `peers/`, whose tables are analyzed
/// after a warm-up). Every statement of the store has an index to read
/// through; the setting only makes the planner prefer it whatever the
/// table's size (`tests/tests/postgres_plans.rs` checks the plans on tables
/// analyzed while small, too).
///
/// sqlx 0.8's `PgConnectOptions` has no keepalive setting for its own
/// socket, so the keepalive here is the server's, sent as startup
/// `options` like libpq's `-c` settings. It makes the server find a client
/// that vanished (a crashed host, a cut or black-holed link) and end its
/// session, which rolls back its transaction and so releases its locks and
/// the trackers' watermark. It does not make the client notice anything: a
/// statement waiting for its reply over a black-holed link waits until the
/// client's kernel gives up (if ever), and the statement timeout's error
/// cannot reach it either. The settings apply over TCP only; over a Unix
/// socket the server ignores them. A connection pooler in front of the
/// server must pass startup `options` through (PgBouncer refuses them
/// unless `ignore_startup_parameters` lists `options`).
pub(crate) fn connect_options(url: &str, options: &PgStoreOptions) -> Result<PgConnectOptions> {
    let parsed: PgConnectOptions = url.parse().map_err(|e| failed(CANNOT_CONNECT, e))?;
    Ok(parsed.options([
        ("plan_cache_mode", "force_generic_plan".to_owned()),
        ("enable_seqscan", "off".to_owned()),
        (
            "statement_timeout",
            format!("{}ms", options.statement_timeout.as_millis()),
        ),
        (
            "tcp_keepalives_idle",
            format!("{}s", KEEPALIVES_IDLE.as_secs()),
        ),
        (
            "tcp_keepalives_interval",
            format!("{}s", KEEPALIVES_INTERVAL.as_secs()),
        ),
        ("tcp_keepalives_count", KEEPALIVES_COUNT.to_string()),
    ]))
}

/// A pool of connections to `url` with the store's settings.
pub(crate) async fn pool(url: &str, options: &PgStoreOptions) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        // sqlx pings every connection it hands out: a second round trip
        // per command. Check only connections that sat idle for a while,
        // where a restarted server or a dropped link is likely.
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(connect_options(url, options)?)
        .await
        .map_err(|e| failed(CANNOT_CONNECT, e))
}

/// What to tell the owner of a pool that pings before every statement it
/// hands out (sqlx's default), if it does.
pub(crate) fn ping_warning(options: &PgPoolOptions) -> Option<&'static str> {
    options.get_test_before_acquire().then_some(
        "the pool given to PgEventStore::from_pool pings the server before every \
         statement (sqlx's test_before_acquire(true), its default): one round trip more \
         per command; build it with test_before_acquire(false) and ping idle \
         connections in before_acquire, as PgEventStore::connect does",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_that_pings_before_every_statement_is_named() {
        assert!(
            ping_warning(&PgPoolOptions::new()).is_some(),
            "sqlx's default"
        );
        assert_eq!(
            ping_warning(&PgPoolOptions::new().test_before_acquire(false)),
            None
        );
    }

    #[test]
    fn every_session_gets_generic_plans_the_timeout_and_keepalive_after_the_urls_own_options() {
        let url = "postgres://u@db.example:5433/app?options=-c%20search_path%3Dmine";
        let options = PgStoreOptions::default().statement_timeout(Duration::from_millis(1_500));
        let connect = connect_options(url, &options).expect("a valid URL");
        assert_eq!(
            connect.get_options(),
            Some(
                "-c search_path=mine -c plan_cache_mode=force_generic_plan \
                 -c enable_seqscan=off -c statement_timeout=1500ms -c tcp_keepalives_idle=60s \
                 -c tcp_keepalives_interval=10s -c tcp_keepalives_count=6"
            )
        );
        assert_eq!(connect.get_host(), "db.example");
        assert_eq!(connect.get_database(), Some("app"));
    }

    #[test]
    fn a_url_that_does_not_parse_is_a_connect_error_that_stays() {
        let refused = connect_options("postgres://u@db:port/app", &PgStoreOptions::default())
            .expect_err("the port is not a number");
        assert!(
            matches!(&refused, eventstore_core::Error::Backend { what, transient: false, .. } if what == CANNOT_CONNECT),
            "{refused:?}"
        );
    }
}
