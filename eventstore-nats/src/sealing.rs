//! The one place where what the store keeps of personal data passes on its
//! way in and out: event bodies, snapshot states and the domain errors of
//! recorded refusals, sealed with the aggregate's keys in the store's
//! [`Secrets`](crate::secrets::Secrets) (every top-level field of a body,
//! a state or an error whole). Sealed JSON is what the messages and
//! buckets hold; a value whose key a forget destroyed opens as `null`.
//!
//! Each call takes the forget count the caller knows of the aggregate (the
//! `Es-Forgets` of the messages it read or follows, or the count read from
//! the bucket): a key set cached with fewer forgets is read again.

use eventstore_core::backend::{AppendRequest, JsonText};
use eventstore_core::{EventBody, Result};

use crate::commit::Problem;
use crate::inner::Inner;
use crate::secrets::{Forgets, PlainEvent, Sealed, SecretsError};

/// What a failed open means: a stored value that does not open is a
/// corrupt row (`Ok(problem)`), anything else (the bucket) an error.
fn unopened(error: SecretsError) -> Result<Problem> {
    match error {
        SecretsError::CorruptValue { .. } | SecretsError::CorruptBody { .. } => {
            Ok(error.to_string())
        }
        other => Err(other.into()),
    }
}

impl Inner {
    /// The bodies of `request`'s events sealed, in order, with the forget
    /// count of the key set that sealed them (what the commit's
    /// `Es-Forgets` says); `forgets` is the count of the message the
    /// append follows.
    ///
    /// # Errors
    /// The secrets bucket's errors.
    pub(crate) async fn seal_events(
        &self,
        request: &AppendRequest,
        forgets: u64,
    ) -> Result<Sealed<Vec<String>>> {
        let events: Vec<PlainEvent<'_>> = request
            .events
            .iter()
            .map(|e| PlainEvent {
                kind: &e.kind,
                schema_version: e.schema_version,
                body: &e.body,
            })
            .collect();
        let (kind, id) = (&request.aggregate_kind, request.aggregate_id.as_str());
        Ok(self.secrets.seal(kind, id, forgets, &events).await?)
    }

    /// The sealed body `sealed` of an event of the aggregate `kind` `id`,
    /// opened: `Ok(Err(problem))` when it does not open (a corrupt row).
    ///
    /// # Errors
    /// The secrets bucket's errors.
    pub(crate) async fn open_body(
        &self,
        (kind, id): (&str, &str),
        forgets: u64,
        sealed: &str,
    ) -> Result<Result<EventBody, Problem>> {
        match self.secrets.open(kind, id, forgets, sealed).await {
            Ok(body) => Ok(Ok(body)),
            Err(e) => unopened(e).map(Err),
        }
    }

    /// A snapshot state of the aggregate `kind` `id`, sealed.
    ///
    /// # Errors
    /// The secrets bucket's errors.
    pub(crate) async fn seal_state(
        &self,
        (kind, id): (&str, &str),
        forgets: u64,
        state: &JsonText,
    ) -> Result<Sealed<String>> {
        Ok(self.secrets.seal_state(kind, id, forgets, state).await?)
    }

    /// A sealed snapshot state opened; `None` when a forget destroyed its
    /// key or it does not open (a snapshot is a cache: it is ignored).
    ///
    /// # Errors
    /// The secrets bucket's errors.
    pub(crate) async fn open_state(
        &self,
        (kind, id): (&str, &str),
        forgets: u64,
        sealed: &str,
    ) -> Result<Option<JsonText>> {
        match self.secrets.open_state(kind, id, forgets, sealed).await {
            Ok(state) => Ok(state),
            Err(e) => {
                let problem = unopened(e)?;
                tracing::warn!(kind, id, %problem, "a snapshot that does not open is ignored");
                Ok(None)
            }
        }
    }

    /// A refusal's domain error recorded on the aggregate `kind` `id`,
    /// sealed.
    ///
    /// # Errors
    /// The secrets bucket's errors.
    pub(crate) async fn seal_refusal(
        &self,
        (kind, id): (&str, &str),
        forgets: u64,
        error: &JsonText,
    ) -> Result<String> {
        let sealed = self.secrets.seal_refusal(kind, id, forgets, error).await?;
        Ok(sealed.value)
    }

    /// A recorded refusal's sealed error opened, with the aggregate's key
    /// set as the bucket holds it now (refusals are read rarely, and a key
    /// set cached before a forget elsewhere would still open it); `None`
    /// once a forget destroyed its key.
    ///
    /// # Errors
    /// The secrets bucket's errors, and a sealed error that does not open.
    pub(crate) async fn open_refusal(
        &self,
        (kind, id): (&str, &str),
        sealed: &str,
    ) -> Result<Option<JsonText>> {
        let forgets = self.forgets(kind, id).await?;
        Ok(self
            .secrets
            .open_refusal(kind, id, forgets.count, sealed)
            .await?)
    }

    /// The forget count of the aggregate `kind` `id` and the version of its
    /// last forget, read from the secrets bucket now.
    ///
    /// # Errors
    /// The secrets bucket's errors.
    pub(crate) async fn forgets(&self, kind: &str, id: &str) -> Result<Forgets> {
        Ok(self.secrets.forgets(kind, id).await?)
    }
}
