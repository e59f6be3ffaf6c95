//! The PostgreSQL event store for `eventstore-core`: the system of record.
//!
//! [`PgEventStore`] implements [`EventStore`](eventstore_core::EventStore)
//! and [`Tracker`](eventstore_core::Tracker), and keeps the pending
//! deadlines of sagas ([`DeadlineStore`](eventstore_core::DeadlineStore)):
//!
//! - one `events` table (xid ids, a global position, the committing
//!   transaction's id), unique per stream and version, and per stream and
//!   idempotency key;
//! - an append is one autocommit statement that checks the idempotency key
//!   and the version and inserts every event of the command;
//! - a command's load is one round trip: key check, latest snapshot, and the
//!   events after it;
//! - the tracker reads only transactions older than every running one, in
//!   commit order, so a late commit is never skipped.
//!
//! The tables live in their own schema (default `eventstore`), with their
//! own migrations table, applied by [`PgEventStore::migrate`].
//!
//! Every call returns [`eventstore_core::Result`]: a database failure is
//! [`Error::Backend`](eventstore_core::Error::Backend), saying what failed
//! and whether it is [transient](eventstore_core::Error::is_transient), and
//! an option that cannot work is
//! [`Error::InvalidOption`](eventstore_core::Error::InvalidOption).

mod append_params;
mod connect;
mod convert;
mod deadlines;
mod error;
mod forget;
mod holdback;
mod import;
mod layout;
mod options;
mod plans;
mod reactors;
mod rows;
mod sql;
mod store;
mod tracker;
mod wake;

pub use holdback::{OpenTransaction, PreparedTransaction};
pub use import::ImportReport;
pub use options::{DEFAULT_SCHEMA, PgStoreOptions, ReadMode};
#[doc(hidden)]
pub use plans::CommandStatement;
pub use store::PgEventStore;
pub use wake::NOTIFIER_APPLICATION_NAME;
