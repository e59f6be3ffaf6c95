//! How PostgreSQL's failures become [`eventstore_core::Error::Backend`]:
//! what failed, the cause kept, and whether a retry as it is may succeed.

use eventstore_core::Error;

/// What a statement's failure says when its caller names nothing else.
const STATEMENT_FAILED: &str = "a PostgreSQL statement failed";

/// What a failed migration says.
pub(crate) const CANNOT_MIGRATE: &str = "cannot migrate the event store schema";

/// Wraps the failure of a statement.
pub(crate) fn backend(error: sqlx::Error) -> Error {
    failed(STATEMENT_FAILED, error)
}

/// Wraps a failure of `what` (in a few words: "cannot connect to
/// PostgreSQL"), transient when a retry as it is may succeed.
pub(crate) fn failed(what: &'static str, error: sqlx::Error) -> Error {
    if is_transient(&error) {
        Error::transient(what, error)
    } else {
        Error::backend(what, error)
    }
}

/// Wraps a failed migration: transient when the statement that failed was.
pub(crate) fn migration_failed(error: sqlx::migrate::MigrateError) -> Error {
    use sqlx::migrate::MigrateError;
    match error {
        MigrateError::Execute(error) | MigrateError::ExecuteMigration(error, _)
            if is_transient(&error) =>
        {
            Error::transient(CANNOT_MIGRATE, error)
        }
        other => Error::backend(CANNOT_MIGRATE, other),
    }
}

/// Whether the same call may succeed when made again: the connection was
/// lost or never made, the pool or the server timed out, the server is
/// shutting down or full, or the transaction lost a serialization race or
/// a deadlock.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") // connection exception
                || matches!(
                    &*code,
                    "40001" // serialization_failure
                        | "40P01" // deadlock_detected
                        | "57014" // query_canceled: the statement timeout
                        | "57P01" // admin_shutdown: pg_terminate_backend, a restart
                        | "57P02" // crash_shutdown
                        | "57P03" // cannot_connect_now: starting up
                        | "53300" // too_many_connections
                )
        }),
        _ => false,
    }
}

/// The SQLSTATEs of `jsonb` refusing a value that serde wrote: an
/// unsupported Unicode escape (`\u0000`), invalid input (a lone
/// surrogate), and a number that overflows `numeric`.
const JSONB_REFUSED: [&str; 3] = ["22P05", "22P02", "22003"];

/// The problem, when `error` is `jsonb` refusing a JSON value of the
/// statement's own parameters.
pub(crate) fn jsonb_refused(error: &sqlx::Error) -> Option<String> {
    let database = error.as_database_error()?;
    let code = database.code()?;
    JSONB_REFUSED
        .contains(&code.as_ref())
        .then(|| database.message().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_and_a_timeout_are_transient() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(backend(sqlx::Error::Io(reset)).is_transient());
        assert!(backend(sqlx::Error::PoolTimedOut).is_transient());
    }

    #[test]
    fn a_closed_pool_or_a_missing_row_is_not() {
        assert!(!backend(sqlx::Error::PoolClosed).is_transient());
        assert!(!backend(sqlx::Error::RowNotFound).is_transient());
    }

    #[test]
    fn the_message_says_what_failed() {
        let error = failed("cannot connect to PostgreSQL", sqlx::Error::PoolTimedOut);
        assert_eq!(error.to_string(), "cannot connect to PostgreSQL");
        assert_eq!(
            eventstore_core::ErrorChain(&error).to_string(),
            "cannot connect to PostgreSQL: pool timed out while waiting for an open connection"
        );
    }
}
