//! Bulk import: history from another system, as JSON lines, written with
//! `COPY` in one transaction after every line is checked.

mod chunk;
mod jsonb;
mod line;
mod rows;
mod streams;
mod time;

use eventstore_core::backend::stream_hash;
use eventstore_core::{Error, EventId, ImportProblem, Result};
use sqlx::postgres::PgCopyIn;
use sqlx::{Connection, PgConnection};
use tokio::io::AsyncBufRead;

use crate::convert::hash_bits;
use crate::error::backend;
use crate::store::{PgEventStore, is_unique_violation};
use chunk::Chunk;
use line::Line;
use rows::CopyRows;
use streams::Streams;

/// How many streams one look-up of stored versions names, at most, when
/// an import looks for the stream a concurrent writer moved.
const LOOK_UP_BATCH: usize = 10_000;

/// An import is one statement, as long as its input: it runs without the
/// store's statement timeout.
const NO_STATEMENT_TIMEOUT: &str = "SET LOCAL statement_timeout = 0";

/// What an [import](PgEventStore::import) wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportReport {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Events written.
    pub events: u64,
    /// Streams written to.
    pub streams: u64,
}

impl PgEventStore {
    /// Imports history from another system: one event per line, as JSON
    /// (JSON Lines), written in one transaction, so that trackers see the
    /// whole import at once, in commit order, like one large append.
    ///
    /// Each line is an object with `aggregate_kind`, `aggregate_id` (an
    /// [`AggregateId`](eventstore_core::AggregateId)), `kind`, `version`,
    /// `body` (a JSON object), `time` (RFC 3339, stored as the event's
    /// `recorded_at` and carried by its [`EventId`], so that ids sort by
    /// the events' times) and, optionally, `metadata` (what
    /// [`Metadata`](eventstore_core::Metadata) reads) and `schema_version`
    /// (the schema version of its kind that the body was written at, 1 to
    /// 2147483647, which decoding upcasts from as for an appended event; 1
    /// when absent); other fields are refused, blank lines skipped. A
    /// stream's first line must follow the version the stream is at in the
    /// store (1 for a new stream), and its later lines each the one before;
    /// streams may interleave.
    ///
    /// The input is read and written a chunk at a time: memory holds one
    /// chunk of lines and, for each stream met, its versions. The rows go
    /// into one `COPY`, which runs without the
    /// [`statement_timeout`](crate::PgStoreOptions::statement_timeout), while a
    /// second connection of the pool looks up the version of each stream
    /// the first time a line names it: an import takes two connections.
    ///
    /// ```no_run
    /// use eventstore_postgres::{PgEventStore, PgStoreOptions};
    ///
    /// # async fn run() -> eventstore_core::Result<()> {
    /// let url = "postgres://postgres@127.0.0.1:5432/postgres";
    /// let store = PgEventStore::connect(url, PgStoreOptions::default()).await?;
    /// store.migrate().await?;
    /// let history = br#"{"aggregate_kind":"Account","aggregate_id":"acc-1","kind":"Opened","version":1,"body":{"owner":"Ada","balance":100},"time":"2024-01-01T09:00:00Z"}
    /// {"aggregate_kind":"Account","aggregate_id":"acc-1","kind":"MoneyWithdrawn","version":2,"body":{"amount":30,"transaction":"t-1"},"time":"2024-01-02T10:30:00Z","metadata":{"actor":"legacy-import"}}
    /// "#;
    /// let report = store.import(&history[..]).await?;
    /// assert_eq!((report.events, report.streams), (2, 1));
    ///
    /// // a file: store.import(tokio::io::BufReader::new(tokio::fs::File::open(path).await?))
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Nothing is written when any line is refused:
    /// - [`Error::Import`], naming the line: it cannot be read, is not such
    ///   an object ([`ImportProblem::Malformed`], also for a schema version
    ///   that is 0 or not an integer that fits, a time that is not RFC 3339
    ///   or outside 1970 to 2105, which event ids cannot hold, and for a
    ///   body or metadata that `jsonb` cannot store: a
    ///   `\u0000` or a lone surrogate in a string, a number beyond
    ///   `numeric`), its body is not an object, its id is invalid, or its
    ///   version exists already in the store, repeats an earlier line's, or
    ///   leaves a gap ([`ImportProblem::Gap`]);
    /// - [`Error::Conflict`], naming the stream and the version the import
    ///   found it at, when another writer appended to a stream of the
    ///   import while it ran (the unique version catches it): the import may
    ///   be tried again, and then finds where the stream is now;
    /// - [`Error::Backend`] when the database fails.
    pub async fn import<R>(&self, mut input: R) -> Result<ImportReport>
    where
        R: AsyncBufRead + Unpin,
    {
        // look-ups read committed versions on a connection of their own,
        // while the import's connection streams its one COPY
        let mut look_ups = self.pool().acquire().await.map_err(backend)?;
        let mut connection = self.pool().acquire().await.map_err(backend)?;
        let mut tx = connection.begin().await.map_err(backend)?;
        sqlx::query(NO_STATEMENT_TIMEOUT)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let mut streams = Streams::default();
        let mut report = ImportReport {
            lines: 0,
            events: 0,
            streams: 0,
        };
        let copied = {
            let mut copy = tx
                .copy_in_raw(&self.statements().import_copy)
                .await
                .map_err(backend)?;
            let fed = self
                .feed(
                    &mut input,
                    &mut look_ups,
                    &mut copy,
                    &mut streams,
                    &mut report,
                )
                .await;
            match fed {
                Ok(rows) => match copy.send(rows).await {
                    Ok(_) => copy.finish().await,
                    Err(error) => Err(error),
                },
                Err(refused) => {
                    // the server answers the abort with "COPY aborted", which
                    // sqlx reads to the end; any other answer is an error the
                    // server sent before (a concurrent writer's version, say),
                    // after which sqlx leaves the server's ready message
                    // unread: the next statement would read the answer of the
                    // one before, so the connection is closed, not reused
                    drop(look_ups);
                    match copy.abort("the import was refused").await {
                        Ok(()) => {
                            let _ = tx.rollback().await;
                        }
                        Err(aborted) => {
                            tracing::debug!("the refused import's COPY had failed: {aborted}");
                            drop(tx);
                            connection.close_on_drop();
                        }
                    }
                    return Err(refused);
                }
            }
        };
        drop(look_ups);
        let committed = match copied {
            Ok(_) => tx.commit().await,
            Err(error) => {
                let _ = tx.rollback().await;
                Err(error)
            }
        };
        if let Err(error) = committed {
            return Err(self.explain(&streams, error).await);
        }
        if report.events > 0 {
            self.notify_appended();
        }
        report.streams = streams.len() as u64;
        Ok(report)
    }

    /// Reads, checks and sends `input` a chunk at a time; the last rows and
    /// the end of the data are left for the caller to send.
    async fn feed<R>(
        &self,
        input: &mut R,
        look_ups: &mut PgConnection,
        copy: &mut PgCopyIn<&mut PgConnection>,
        streams: &mut Streams,
        report: &mut ImportReport,
    ) -> Result<Vec<u8>>
    where
        R: AsyncBufRead + Unpin,
    {
        let mut chunk = Chunk::default();
        let mut rows = CopyRows::new();
        loop {
            let more = chunk.read(input).await?;
            let lines = chunk
                .lines()
                .map(|(number, text)| Line::parse(number, text))
                .collect::<Result<Vec<_>>>()?;
            self.look_up(look_ups, streams, &lines).await?;
            for line in &lines {
                streams.advance(line)?;
                let id = EventId::at(line.time.system_time()).ok_or_else(|| Error::Import {
                    line: line.number,
                    problem: ImportProblem::Malformed {
                        reason: "its time cannot be held by an event id".to_owned(),
                    },
                })?;
                rows.push(line, id, hash_bits(stream_hash(&line.aggregate_id)));
            }
            report.lines = chunk.last_line();
            report.events += lines.len() as u64;
            if !more {
                return Ok(rows.finish());
            }
            // sending only writes: what the server refuses shows at the end
            copy.send(rows.take()).await.map_err(backend)?;
        }
    }

    /// Finds the stored versions of the streams that `lines` meet first.
    async fn look_up(
        &self,
        connection: &mut PgConnection,
        streams: &mut Streams,
        lines: &[Line<'_>],
    ) -> Result<()> {
        let new: Vec<&Line<'_>> = lines.iter().filter(|line| streams.meet(line)).collect();
        if new.is_empty() {
            return Ok(());
        }
        let kinds: Vec<&str> = new.iter().map(|l| l.aggregate_kind.as_ref()).collect();
        let ids: Vec<&str> = new.iter().map(|l| l.aggregate_id.as_ref()).collect();
        let stored: Vec<i64> = sqlx::query_scalar(&self.statements().import_versions)
            .bind(kinds)
            .bind(ids)
            .fetch_all(connection)
            .await
            .map_err(backend)?;
        for (line, version) in new.into_iter().zip(stored) {
            streams.set_stored(line, crate::convert::fit("stored version", version)?);
        }
        Ok(())
    }

    /// `error` as the import's error: a unique violation is a concurrent
    /// writer, named as a [`Error::Conflict`] on the first stream found
    /// moved since the import read its version.
    async fn explain(&self, streams: &Streams, error: sqlx::Error) -> Error {
        if !is_unique_violation(&error) {
            return backend(error);
        }
        let all: Vec<(&str, &str, u64)> = streams.stored().collect();
        for batch in all.chunks(LOOK_UP_BATCH) {
            let kinds: Vec<&str> = batch.iter().map(|s| s.0).collect();
            let ids: Vec<&str> = batch.iter().map(|s| s.1).collect();
            let now: Vec<i64> = match sqlx::query_scalar(&self.statements().import_versions)
                .bind(kinds)
                .bind(ids)
                .fetch_all(self.pool())
                .await
            {
                Ok(now) => now,
                Err(_) => break,
            };
            let moved = batch
                .iter()
                .zip(now)
                .find(|((_, _, stored), now)| u64::try_from(*now).ok() != Some(*stored));
            if let Some(((kind, id, stored), _)) = moved {
                return Error::Conflict {
                    aggregate_kind: (*kind).to_owned(),
                    aggregate_id: (*id).to_owned(),
                    expected_version: *stored,
                    attempts: 1,
                };
            }
        }
        backend(error)
    }
}
