//! [`PgEventStore`]: construction, migrations and the [`EventStore`] impl.

use std::sync::Arc;

use eventstore_core::backend::{
    AppendOutcome, AppendRequest, LoadedStream, RecordedOutcome, RefusalOutcome, RefusalRequest,
    Snapshot, StreamEvent,
};
use eventstore_core::{
    Error, EventId, EventStore, ForgetRequest, Forgotten, RecordedEvent, Result, StreamAt,
};
use sqlx::postgres::PgPool;
use sqlx::{Executor, Postgres};

use crate::append_params::{AppendParams, schema_version};
use crate::connect;
use crate::convert::{bigint, integer};
use crate::error::{CANNOT_MIGRATE, backend, failed, jsonb_refused, migration_failed};
use crate::layout::APPENDED;
use crate::options::{PgStoreOptions, ReadMode};
use crate::rows::{timestamptz, unsigned, xid8};
use crate::sql::Statements;
use crate::wake::{Listener, Notifier};

mod keys;
mod load;

/// The migrations of the store's tables, applied by [`PgEventStore::migrate`].
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The PostgreSQL event store: the system of record.
///
/// A cheap handle (`Clone`) to a connection pool and the store's statements.
///
/// ```no_run
/// use eventstore_core::{MemoryStore, Options, Repository};
/// use eventstore_postgres::{PgEventStore, PgStoreOptions};
///
/// # async fn run() -> eventstore_core::Result<()> {
/// let url = "postgres://postgres@127.0.0.1:5432/postgres";
/// let store = PgEventStore::connect(url, PgStoreOptions::default()).await?;
/// store.migrate().await?;
/// let repo = Repository::new(store).snapshot_every(100);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgEventStore {
    pool: PgPool,
    schema: Arc<str>,
    read_mode: ReadMode,
    listener: Arc<Listener>,
    notifier: Arc<Notifier>,
    sql: Arc<Statements>,
}

impl PgEventStore {
    /// Connects to the database at `url` with a pool of its own, after
    /// checking the options.
    ///
    /// Every connection gets the [`statement_timeout`](PgStoreOptions::statement_timeout)
    /// and TCP keepalive on the server's side (idle 60 s, then a probe
    /// every 10 s, dropped after 6 unanswered), sent as startup `options`:
    /// sqlx 0.8 has no keepalive setting for the client's socket. The
    /// server thus ends the session of a client that vanished (rolling back
    /// its transaction, so that it no longer holds trackers back), but the
    /// client is not told when its own link is black-holed: a statement
    /// waiting for a reply then waits until the client's kernel gives up,
    /// and neither setting bounds that wait. Over a Unix socket the server
    /// ignores keepalive. A pooler in front of the server must pass startup
    /// `options` through (PgBouncer's `ignore_startup_parameters`).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] before connecting, [`Error::Backend`]
    /// ("cannot connect to PostgreSQL") when the URL does not parse or the
    /// database cannot be reached (transient when it may be reached later).
    pub async fn connect(url: &str, options: PgStoreOptions) -> Result<Self> {
        options.checked()?;
        let pool = connect::pool(url, &options).await?;
        Self::from_pool(pool, options)
    }

    /// Uses an application's pool, with the application's pool and session
    /// settings: [`max_connections`](PgStoreOptions::max_connections),
    /// [`connect_timeout`](PgStoreOptions::connect_timeout) and
    /// [`statement_timeout`](PgStoreOptions::statement_timeout) are checked
    /// but not applied.
    ///
    /// A pool built with sqlx's default `test_before_acquire(true)` sends a
    /// ping before every statement it hands a connection to: a second round
    /// trip per command. `from_pool` logs a warning (once, here) when the
    /// pool does; [`connect`](Self::connect) pings only connections idle for
    /// more than 5 s. Build the pool like this instead:
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use eventstore_postgres::{PgEventStore, PgStoreOptions};
    /// use sqlx::postgres::PgPoolOptions;
    ///
    /// # async fn run() -> eventstore_core::Result<()> {
    /// let pool = PgPoolOptions::new()
    ///     .max_connections(16)
    ///     .test_before_acquire(false)
    ///     .before_acquire(|connection, meta| Box::pin(async move {
    ///         // ping only a connection that sat idle, where a restarted
    ///         // server or a dropped link is likely
    ///         if meta.idle_for > Duration::from_secs(5) {
    ///             sqlx::Connection::ping(connection).await?;
    ///         }
    ///         Ok(true)
    ///     }))
    ///     .connect_lazy("postgres://postgres@127.0.0.1:5432/postgres")
    ///     .expect("a valid URL");
    /// let store = PgEventStore::from_pool(pool, PgStoreOptions::default())?;
    /// # Ok(()) }
    /// ```
    ///
    /// The sessions of [`connect`](Self::connect) also plan each statement
    /// once (`plan_cache_mode=force_generic_plan`) and prefer indexes
    /// whatever a table's size (`enable_seqscan=off`), which keeps a
    /// command's statements on their indexes while a young table grows. A
    /// pool that serves the store alone can have them too, in its URL:
    /// `?options=-c%20plan_cache_mode%3Dforce_generic_plan%20-c%20enable_seqscan%3Doff`
    /// (they would apply to the application's own queries on a shared pool).
    ///
    /// # Errors
    /// [`Error::InvalidOption`].
    pub fn from_pool(pool: PgPool, options: PgStoreOptions) -> Result<Self> {
        options.checked()?;
        if let Some(warning) = connect::ping_warning(pool.options()) {
            tracing::warn!("{warning}");
        }
        let PgStoreOptions {
            schema, read_mode, ..
        } = options;
        Ok(Self {
            pool,
            sql: Arc::new(Statements::new(&schema)),
            schema: schema.into(),
            read_mode,
            listener: Arc::default(),
            notifier: Arc::default(),
        })
    }

    /// Creates the schema and applies the store's migrations, recorded in a
    /// `_sqlx_migrations` table inside that schema, so that they never clash
    /// with the application's own. Safe to call on every start, also from
    /// several processes at once. Runs without the
    /// [`statement_timeout`](PgStoreOptions::statement_timeout): a migration
    /// of a large table, or the wait for another process's, may take longer.
    ///
    /// # Errors
    /// [`Error::Backend`] ("cannot migrate the event store schema").
    pub async fn migrate(&self) -> Result<()> {
        // A connection of its own, closed afterwards, so that its search path
        // and timeout never leak into the pool.
        let mut connection = self
            .pool
            .acquire()
            .await
            .map_err(|e| failed(CANNOT_MIGRATE, e))?
            .detach();
        let schema = &self.schema;
        connection
            .execute(
                format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\"; \
                     SET statement_timeout = 0"
                )
                .as_str(),
            )
            .await
            .map_err(|e| failed(CANNOT_MIGRATE, e))?;
        MIGRATOR
            .run_direct(&mut connection)
            .await
            .map_err(migration_failed)
    }

    /// The pool, for the application's own queries.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The schema that holds the store's tables.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub(crate) fn statements(&self) -> &Statements {
        &self.sql
    }

    /// Wakes the trackers after a write of this store committed.
    pub(crate) fn notify_appended(&self) {
        self.notifier.appended(&self.pool, &self.schema);
    }

    /// A wake-up subscription fed by LISTEN/NOTIFY (see
    /// [`Tracker::wakeups`](eventstore_core::Tracker::wakeups)).
    pub(crate) fn subscribe(&self) -> eventstore_core::backend::Wakeups {
        self.listener.subscribe(&self.pool, &self.schema)
    }

    /// How the tracker picks readable rows.
    #[must_use]
    pub fn read_mode(&self) -> ReadMode {
        self.read_mode
    }

    /// Takes the stream's forget-or-snapshot lock until `tx` ends.
    pub(crate) async fn lock_stream(
        &self,
        tx: &mut sqlx::Transaction<'_, Postgres>,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<()> {
        sqlx::query(&self.sql.stream_lock)
            .bind(aggregate_kind)
            .bind(aggregate_id)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// After an append wrote nothing or hit a unique violation: was it the
    /// idempotency key (already applied or rejected), the guarded stream or
    /// the version (conflict)?
    async fn explain_refusal(&self, request: AppendRequest) -> Result<AppendOutcome> {
        if let Some(key) = &request.idempotency_key {
            let kind = &request.aggregate_kind;
            match self
                .read_key_outcome(kind, request.aggregate_id.as_str(), key)
                .await?
            {
                Some(RecordedOutcome::Applied) => return Ok(AppendOutcome::AlreadyApplied),
                Some(RecordedOutcome::Rejected(error)) => {
                    return Ok(AppendOutcome::AlreadyRejected(error));
                }
                None => {}
            }
        }
        if let Some(guard) = request.unless_moved {
            self.ensure_not_moved(guard).await?;
        }
        Err(Error::Conflict {
            aggregate_kind: request.aggregate_kind,
            aggregate_id: request.aggregate_id.into(),
            expected_version: request.expected_version,
            attempts: 1,
        })
    }
}

impl PgEventStore {
    /// After a write guarded by `guard` wrote nothing: fails with
    /// [`Error::StreamMoved`] when the guarded stream is past its version.
    async fn ensure_not_moved(&self, guard: StreamAt) -> Result<()> {
        let at: i64 = sqlx::query_scalar(&self.sql.stream_version)
            .bind(&guard.aggregate_kind)
            .bind(guard.aggregate_id.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        if at > bigint("unless_moved version", guard.version)? {
            return Err(Error::StreamMoved {
                aggregate_kind: guard.aggregate_kind,
                aggregate_id: guard.aggregate_id.into(),
                version: guard.version,
            });
        }
        Ok(())
    }
}

/// Whether a database error is a unique violation (a lost race).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

impl EventStore for PgEventStore {
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome> {
        request.validate()?;
        if request.events.is_empty() {
            return Ok(AppendOutcome::Committed(Vec::new()));
        }
        let ids: Vec<EventId> = request.events.iter().map(|_| EventId::new()).collect();
        let params = AppendParams::new(&request)?;
        let guards = params.guards();
        let query = if let [event] = &request.events[..] {
            params.bind(
                self.sql.append_one.with(guards),
                ids[0].to_string(),
                event.kind.as_str(),
                event.body.as_str(),
                schema_version(event)?,
            )
        } else {
            params.bind(
                self.sql.append.with(guards),
                ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                request
                    .events
                    .iter()
                    .map(|e| e.kind.as_str())
                    .collect::<Vec<_>>(),
                request
                    .events
                    .iter()
                    .map(|e| e.body.as_str())
                    .collect::<Vec<_>>(),
                request
                    .events
                    .iter()
                    .map(schema_version)
                    .collect::<Result<Vec<_>>>()?,
            )
        };
        let result = query.fetch_all(&self.pool).await;
        let rows = match result {
            Ok(rows) if !rows.is_empty() => rows,
            Ok(_) => return self.explain_refusal(request).await,
            Err(error) if is_unique_violation(&error) => {
                return self.explain_refusal(request).await;
            }
            Err(error) => {
                return Err(match jsonb_refused(&error) {
                    Some(problem) => Error::UnstorableJson {
                        aggregate_kind: request.aggregate_kind,
                        aggregate_id: request.aggregate_id.to_string(),
                        problem,
                    },
                    None => backend(error),
                });
            }
        };
        self.notifier.appended(&self.pool, &self.schema);
        let mut written: Vec<(u64, u64, u64, std::time::SystemTime)> = rows
            .iter()
            .map(|row| {
                Ok((
                    unsigned(row, APPENDED.version, "version")?,
                    unsigned(row, APPENDED.position, "position")?,
                    xid8(row, APPENDED.tx)?,
                    timestamptz(row, APPENDED.created_at)?,
                ))
            })
            .collect::<Result<_>>()?;
        written.sort_unstable_by_key(|w| w.0);
        let AppendRequest {
            aggregate_kind,
            aggregate_id,
            metadata,
            events,
            ..
        } = request;
        let recorded = events
            .into_iter()
            .zip(ids)
            .zip(written)
            .map(
                |((event, id), (version, position, tx, recorded_at))| RecordedEvent {
                    id,
                    position,
                    tx,
                    aggregate_kind: aggregate_kind.clone(),
                    aggregate_id: aggregate_id.to_string(),
                    version,
                    kind: event.kind,
                    schema_version: event.schema_version,
                    body: event.body,
                    metadata: metadata.clone(),
                    recorded_at,
                },
            )
            .collect();
        Ok(AppendOutcome::Committed(recorded))
    }

    async fn load(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>> {
        self.read_events(aggregate_kind, aggregate_id, after_version)
            .await
    }

    async fn load_page(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<StreamEvent>> {
        self.read_page_of(aggregate_kind, aggregate_id, after_version, limit)
            .await
    }

    async fn load_snapshot(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<Option<Snapshot>> {
        self.read_snapshot(aggregate_kind, aggregate_id).await
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<()> {
        // off the command's path: a transaction of its own, which waits for
        // a forget of the stream that is running (stream_lock.sql)
        let mut tx = self.pool.begin().await.map_err(backend)?;
        self.lock_stream(
            &mut tx,
            &snapshot.aggregate_kind,
            snapshot.aggregate_id.as_str(),
        )
        .await?;
        sqlx::query(&self.sql.save_snapshot)
            .bind(&snapshot.aggregate_kind)
            .bind(snapshot.aggregate_id.as_str())
            .bind(bigint("snapshot version", snapshot.version)?)
            .bind(integer("snapshot schema version", snapshot.schema_version)?)
            .bind(snapshot.state.as_str())
            .bind(bigint("snapshot forgets", snapshot.forgets)?)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn forget(&self, request: &ForgetRequest) -> Result<Forgotten> {
        self.forget_stream(request).await
    }

    async fn idempotency_key_outcome(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        key: &str,
    ) -> Result<Option<RecordedOutcome>> {
        self.read_key_outcome(aggregate_kind, aggregate_id, key)
            .await
    }

    async fn record_refusal(&self, request: RefusalRequest) -> Result<RefusalOutcome> {
        self.insert_refusal(request).await
    }

    async fn load_stream(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> Result<LoadedStream> {
        self.read_stream(aggregate_kind, aggregate_id, idempotency_key, limit)
            .await
    }
}
