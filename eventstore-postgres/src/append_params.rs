//! The parameters of an append, converted and bound in one place for both
//! append statements.

use eventstore_core::backend::{AppendRequest, NewEvent, stream_hash};
use eventstore_core::{Error, Result};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Encode, Postgres, Type};

use crate::convert::{bigint, expected_version, hash_bits, integer};
use crate::sql::Guards;

/// The parameters that `append.sql` and `append_one.sql` share, converted
/// once; the two differ only in whether $4 to $6 and $13 hold one event's
/// values or arrays of them.
pub(crate) struct AppendParams<'a> {
    request: &'a AppendRequest,
    expected: i64,
    metadata: String,
    guard_version: Option<i64>,
    hash: i64,
}

impl<'a> AppendParams<'a> {
    /// The shared parameters of `request`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a version above `i64::MAX`, or an append
    /// whose versions would go above it;
    /// [`Error::EncodeMetadata`] when the metadata does not encode.
    pub(crate) fn new(request: &'a AppendRequest) -> Result<Self> {
        let guard = request.unless_moved.as_ref();
        Ok(Self {
            request,
            expected: expected_version(request.expected_version, request.events.len())?,
            metadata: serde_json::to_string(&request.metadata).map_err(|source| {
                Error::EncodeMetadata {
                    aggregate_kind: request.aggregate_kind.clone(),
                    aggregate_id: request.aggregate_id.to_string(),
                    source,
                }
            })?,
            guard_version: guard
                .map(|g| bigint("unless_moved version", g.version))
                .transpose()?,
            // the u64 hash's bits as a bigint: reads undo the sign (read_page.sql)
            hash: hash_bits(stream_hash(request.aggregate_id.as_str())),
        })
    }

    /// The checks this append needs: the expected version when it is
    /// above 0, the key when there is one, the guard when there is one.
    pub(crate) fn guards(&self) -> Guards {
        Guards {
            version: self.expected != 0,
            key: self.request.idempotency_key.is_some(),
            moved: self.request.unless_moved.is_some(),
        }
    }

    /// The append statement `sql` with every parameter bound: `ids`,
    /// `kinds` and `bodies` are $4 to $6, `schema_versions` $13.
    pub(crate) fn bind<I, K, B, S>(
        &'a self,
        sql: &'a str,
        ids: I,
        kinds: K,
        bodies: B,
        schema_versions: S,
    ) -> Query<'a, Postgres, PgArguments>
    where
        I: 'a + Send + Encode<'a, Postgres> + Type<Postgres>,
        K: 'a + Send + Encode<'a, Postgres> + Type<Postgres>,
        B: 'a + Send + Encode<'a, Postgres> + Type<Postgres>,
        S: 'a + Send + Encode<'a, Postgres> + Type<Postgres>,
    {
        let request = self.request;
        let guard = request.unless_moved.as_ref();
        sqlx::query(sql)
            .bind(&request.aggregate_kind)
            .bind(request.aggregate_id.as_str())
            .bind(self.expected)
            .bind(ids)
            .bind(kinds)
            .bind(bodies)
            .bind(&self.metadata)
            .bind(request.idempotency_key.as_deref())
            .bind(guard.map(|g| g.aggregate_kind.as_str()))
            .bind(guard.map(|g| g.aggregate_id.as_str()))
            .bind(self.guard_version)
            .bind(self.hash)
            .bind(schema_versions)
    }
}

/// An event's schema version as the integer column holds it.
///
/// # Errors
/// [`Error::OutOfRange`] above `i32::MAX`.
pub(crate) fn schema_version(event: &NewEvent) -> Result<i32> {
    integer("event schema version", event.schema_version)
}
