//! Errors of setting up a store. Errors of using one are
//! [`eventstore_core::Error`], with database failures as its `Backend`
//! variant.

/// The result type of setting up a store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a store could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The schema name is not a plain lowercase identifier.
    #[error(
        "invalid schema name {name:?}: use a lowercase identifier ([a-z_][a-z0-9_]*, at most 63 bytes)"
    )]
    InvalidSchema {
        /// The name as given.
        name: String,
    },
    /// An option of [`PgStoreOptions`](crate::PgStoreOptions) is outside the
    /// range in which it can work.
    #[error("invalid store option {option} = {value}: allowed {allowed}")]
    InvalidOption {
        /// The option (the name of its setter).
        option: &'static str,
        /// The value given.
        value: String,
        /// The values it takes.
        allowed: &'static str,
    },
    /// PostgreSQL could not be reached, or refused the connection.
    #[error("cannot connect to PostgreSQL")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the event store schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement of the setup failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
