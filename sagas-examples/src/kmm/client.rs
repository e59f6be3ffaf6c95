//! [`KmmClient`]: sends requests to a kmm server and reads its replies,
//! and follows an account's ledger.

use std::time::Duration;

use async_nats::service::{NATS_SERVICE_ERROR, NATS_SERVICE_ERROR_CODE};
use async_nats::{Client, ConnectOptions, RequestErrorKind, Subscriber};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::protocol::{ERROR_KIND_HEADER, ledger_subject, service_subject};

/// How long a client waits for a reply: longer than the server's store
/// timeout, so that a slow store is reported by the server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request got no reply it wanted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// NATS could not be reached.
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        /// Where it was looked for.
        url: String,
        /// Why it failed.
        source: async_nats::ConnectError,
    },
    /// No kmm server listens.
    #[error(
        "no kmm server is answering on {subject}: start one with `kmm serve` (with the same --nats and --root)"
    )]
    NotRunning {
        /// The subject asked.
        subject: String,
    },
    /// The server did not answer in time.
    #[error("the kmm server did not answer on {subject} within {after:?}")]
    TimedOut {
        /// The subject asked.
        subject: String,
        /// How long the client waited.
        after: Duration,
    },
    /// The server refused the request: nothing was written.
    #[error("{message}")]
    Refused {
        /// Its kind: `insufficient_funds`, `over_budget`, `bad_request`...
        kind: String,
        /// What the server said.
        message: String,
    },
    /// The server failed to answer the request.
    #[error("the kmm server failed ({code}): {message}")]
    ServerFailed {
        /// The NATS service error code: 503 when its store did not answer.
        code: usize,
        /// What the server said.
        message: String,
    },
    /// NATS failed otherwise.
    #[error("NATS failed: {0}")]
    Nats(String),
    /// A reply that is not what the client expects.
    #[error("the kmm server's reply is not what this client expects: {0}")]
    BadReply(String),
}

/// A connection to a kmm server, through NATS.
#[derive(Debug, Clone)]
pub struct KmmClient {
    nats: Client,
    root: String,
}

impl KmmClient {
    /// Connects to NATS at `url`, to talk to the server under `root`.
    ///
    /// # Errors
    /// [`ClientError::Connect`] when NATS cannot be reached (at once: the
    /// client does not retry the first connection).
    pub async fn connect(url: &str, root: &str) -> Result<Self, ClientError> {
        let nats = ConnectOptions::new()
            .request_timeout(Some(REQUEST_TIMEOUT))
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|source| ClientError::Connect {
                url: url.to_owned(),
                source,
            })?;
        Ok(Self {
            nats,
            root: root.to_owned(),
        })
    }

    /// Sends `request` to `endpoint` and reads its reply.
    ///
    /// # Errors
    /// [`ClientError::NotRunning`] when no server listens,
    /// [`ClientError::TimedOut`], [`ClientError::Refused`] when the server
    /// refused it, [`ClientError::ServerFailed`], [`ClientError::BadReply`].
    pub async fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: &Q,
    ) -> Result<R, ClientError> {
        let subject = service_subject(&self.root, endpoint);
        let payload =
            serde_json::to_vec(request).map_err(|e| ClientError::BadReply(e.to_string()))?;
        let message = self
            .nats
            .request(subject.clone(), payload.into())
            .await
            .map_err(|error| match error.kind() {
                RequestErrorKind::NoResponders => ClientError::NotRunning {
                    subject: subject.clone(),
                },
                RequestErrorKind::TimedOut => ClientError::TimedOut {
                    subject: subject.clone(),
                    after: REQUEST_TIMEOUT,
                },
                _ => ClientError::Nats(error.to_string()),
            })?;
        let error_code = message
            .headers
            .as_ref()
            .and_then(|headers| Some((headers, headers.get(NATS_SERVICE_ERROR_CODE)?)));
        if let Some((headers, code)) = error_code {
            let code: usize = code.as_str().parse().unwrap_or(500);
            let message = headers
                .get(NATS_SERVICE_ERROR)
                .map_or_else(String::new, |m| m.as_str().to_owned());
            let kind = headers
                .get(ERROR_KIND_HEADER)
                .map_or_else(String::new, |k| k.as_str().to_owned());
            return Err(if code == 400 {
                ClientError::Refused { kind, message }
            } else {
                ClientError::ServerFailed { code, message }
            });
        }
        serde_json::from_slice(&message.payload).map_err(|e| ClientError::BadReply(e.to_string()))
    }

    /// Subscribes to `account`'s ledger entries as they are published.
    ///
    /// # Errors
    /// [`ClientError::Nats`].
    pub async fn subscribe_ledger(&self, account: &str) -> Result<Subscriber, ClientError> {
        let subscriber = self
            .nats
            .subscribe(ledger_subject(&self.root, account))
            .await
            .map_err(|e| ClientError::Nats(e.to_string()))?;
        // the server has the subscription before the history is read, so
        // nothing committed after that read is missed
        self.nats
            .flush()
            .await
            .map_err(|e| ClientError::Nats(e.to_string()))?;
        Ok(subscriber)
    }
}
