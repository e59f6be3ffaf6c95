//! `kmm serve`: the application as NATS services, one endpoint per
//! command on `<root>.services.<command>` (service `kmm`, with the NATS
//! service API's `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`), and the
//! ledger publisher.
//!
//! Every request is answered: with its JSON reply, or with a NATS service
//! error whose code is 400 for a refusal or bad request (nothing written),
//! 503 when the store did not answer within the store timeout (the client
//! waits longer, so it hears this rather than timing out itself) and 500
//! otherwise, and whose `Kmm-Error` header names its kind.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::service::Request;
use async_nats::service::ServiceExt;
use async_nats::{Client, HeaderMap};
use eventstore_core::reactor::Runner;
use eventstore_core::reactor::{ReactorStore, RunnerOptions};
use eventstore_core::{EventStore, Loaded, Options, Outcome, Repository, SharedClock, Tracker};
use futures_util::{FutureExt, StreamExt};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::account::{KidAccount, KidAccountEvent, KmmError};
use super::ledger::{LedgerPublisher, page};
use super::protocol::{
    Balance, Done, ENDPOINTS, ERROR_KIND_HEADER, LedgerPage, MoveMoney, OfAccount, SetBudget,
    check_account, check_request_id,
};

/// How long the server waits for its store on one request unless told
/// otherwise: less than the client's 10 s, so that a client hears why.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the ledger publisher may take to stop once asked to (what it
/// had not checkpointed is published again on the next start).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How many requests the server holds at once, all endpoints together:
/// one more is answered 503 `busy` at once, so a flood against a stuck
/// store cannot grow the server without bound.
const MAX_WAITING: usize = 1024;

/// How many requests are handled at once, all endpoints together.
const CONCURRENT_REQUESTS: usize = 32;

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The subjects' first token (`kmm`).
    pub root: String,
    /// How long a request waits for the store.
    pub store_timeout: Duration,
    /// Where the time of deposits and withdrawals comes from.
    pub clock: SharedClock,
}

/// Why a request got an error reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 400, 500 or 503, as the NATS service API's error code.
    pub code: usize,
    /// What kind of error: `insufficient_funds`, `bad_request`,
    /// `store_timeout`...
    pub kind: &'static str,
    /// What happened, in one line.
    pub message: String,
}

impl Failure {
    fn bad_request(message: String) -> Self {
        Self {
            code: 400,
            kind: "bad_request",
            message,
        }
    }

    fn refused(command: &str, account: &str, error: &KmmError) -> Self {
        Self {
            code: 400,
            kind: error.kind(),
            message: format!("{command} refused for {account}: {error}"),
        }
    }

    fn store(error: &eventstore_core::Error) -> Self {
        match error {
            // a number of the request the store cannot take (a ledger page
            // after a version beyond PostgreSQL's bigint) is the request's
            eventstore_core::Error::InvalidId { .. }
            | eventstore_core::Error::OutOfRange { .. } => Self::bad_request(error.to_string()),
            _ => Self {
                code: 500,
                kind: "store_error",
                message: format!("the store failed: {}", eventstore_core::ErrorChain(error)),
            },
        }
    }
}

/// The application behind the endpoints.
struct App<S> {
    repo: Repository<S>,
    options: ServeOptions,
}

/// Serves until `shutdown` completes: the endpoints, and the ledger
/// publisher on `store`'s reactor runtime. `ready` is called once every
/// endpoint listens.
///
/// # Errors
/// When the service cannot be started, or the ledger publisher fails.
pub async fn serve<S>(
    nats: Client,
    store: S,
    options: ServeOptions,
    ready: impl FnOnce(),
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: EventStore + ReactorStore + Tracker + Clone + Send + Sync + 'static,
{
    let service = nats
        .service_builder()
        .description("the kids' money manager: deposits, withdrawals within budgets, ledgers")
        .start("kmm", env!("CARGO_PKG_VERSION"))
        .await?;
    let group = service.group(format!("{}.services", options.root));
    let app = Arc::new(App {
        repo: Repository::new(store.clone())
            .max_attempts(100)
            .snapshot_every_for::<KidAccount>(50),
        options: options.clone(),
    });
    // requests are taken as they arrive, each with its deadline from then:
    // one waiting for a turn at the store hears 503 in time, instead of
    // waiting unseen in the subscription until its client gives up
    let turns = Arc::new(Semaphore::new(CONCURRENT_REQUESTS));
    let admitted = Arc::new(Semaphore::new(MAX_WAITING));
    let mut workers = tokio::task::JoinSet::new();
    for name in ENDPOINTS {
        let mut endpoint = group.endpoint_builder().name(name).add(name).await?;
        let app = Arc::clone(&app);
        let turns = Arc::clone(&turns);
        let admitted = Arc::clone(&admitted);
        workers.spawn(async move {
            let mut handling = tokio::task::JoinSet::new();
            while let Some(request) = endpoint.next().await {
                while handling.try_join_next().is_some() {}
                let Ok(place) = Arc::clone(&admitted).try_acquire_owned() else {
                    // a flood against a stuck store: said at once, held nowhere
                    reply_to(&request, Err(busy()), name).await;
                    continue;
                };
                let app = Arc::clone(&app);
                let turns = Arc::clone(&turns);
                handling.spawn(async move {
                    app.respond(name, &request, &turns).await;
                    drop(place);
                });
            }
            // the stream ends only once the service stops: answer what is in hand
            while handling.join_next().await.is_some() {}
        });
    }
    let publisher = Runner::new(store, LedgerPublisher::new(nats.clone(), &options.root))
        .clock(options.clock.clone())
        .options(
            // from the beginning of a store it never ran on: the endpoints
            // answer before it first looks, and starting at the end then
            // would pass over what they committed meanwhile (followers drop
            // what they saw by its version)
            RunnerOptions::default().poll_interval(Duration::from_millis(200)),
        );
    ready();
    let shutdown = shutdown.shared();
    let published = tokio::select! {
        published = publisher.run(shutdown.clone()) => published,
        // a publisher stuck in a call to NATS must not keep the server up
        () = async {
            shutdown.await;
            tokio::time::sleep(STOP_GRACE).await;
        } => {
            tracing::warn!("the ledger publisher did not stop within {STOP_GRACE:?}: stopping anyway");
            Ok(())
        }
    };
    workers.abort_all();
    service.stop().await?;
    published?;
    Ok(())
}

impl<S: EventStore + Clone + Send + Sync + 'static> App<S> {
    /// Answers one request of `endpoint`, taken just now: within the store
    /// timeout from now, its turn among [`CONCURRENT_REQUESTS`] included.
    async fn respond(&self, endpoint: &'static str, request: &Request, turns: &Semaphore) {
        let timeout = self.options.store_timeout;
        let answered = tokio::time::timeout(timeout, async {
            let _turn = turns.acquire().await;
            self.answer(endpoint, &request.message.payload).await
        })
        .await;
        let answer = answered.unwrap_or_else(|_| {
            Err(Failure {
                code: 503,
                kind: "store_timeout",
                message: format!("the store did not answer within {timeout:?}"),
            })
        });
        reply_to(request, answer, endpoint).await;
    }

    /// The reply to one request of `endpoint`.
    async fn answer(&self, endpoint: &str, payload: &[u8]) -> Result<Vec<u8>, Failure> {
        match endpoint {
            "deposit" | "withdraw" => {
                let request: MoveMoney = parse(payload)?;
                let now = self.now()?;
                let decide = |a: &KidAccount| {
                    if endpoint == "deposit" {
                        a.deposit(request.amount, &request.description, now)
                    } else {
                        a.withdraw(request.amount, &request.description, now)
                    }
                };
                self.command(endpoint, &request, decide).await
            }
            "set-budget" => {
                let request: SetBudget = parse(payload)?;
                let decide =
                    |a: &KidAccount| a.set_budget(request.max, request.period, &request.time_zone);
                self.command(endpoint, &request, decide).await
            }
            "remove-budget" => {
                let request: OfAccount = parse(payload)?;
                let decide = KidAccount::remove_budget;
                self.command(endpoint, &request, decide).await
            }
            "balance" => {
                let request: OfAccount = parse(payload)?;
                let account = self.load(&request.account).await?;
                let balance = account
                    .current_balance()
                    .map_err(|e| Failure::refused(endpoint, &request.account, &e))?;
                reply(&Balance {
                    account: request.account,
                    balance,
                })
            }
            "last-budget-period" => {
                let request: OfAccount = parse(payload)?;
                let account = self.load(&request.account).await?;
                let summary = account
                    .last_budget_period()
                    .map_err(|e| Failure::refused(endpoint, &request.account, &e))?;
                reply(&summary)
            }
            "ledger" => {
                let request: LedgerPage = parse(payload)?;
                check_account(&request.account).map_err(Failure::bad_request)?;
                let found = page(self.repo.store(), &request.account, request.after)
                    .await
                    .map_err(|e| Failure::store(&e))?;
                if request.after == 0 && found.entries.is_empty() && found.more_after.is_none() {
                    // an account with budget events only has an empty ledger
                    self.load(&request.account)
                        .await?
                        .current_balance()
                        .map_err(|e| Failure::refused(endpoint, &request.account, &e))?;
                }
                reply(&found)
            }
            other => Err(Failure::bad_request(format!("no endpoint {other:?}"))),
        }
    }

    /// Runs a command on `account` and replies with its balance after.
    async fn command(
        &self,
        command: &str,
        request: &impl Addressed,
        decide: impl FnMut(&KidAccount) -> Result<Vec<KidAccountEvent>, KmmError>,
    ) -> Result<Vec<u8>, Failure> {
        let (account, request_id) = (request.account(), request.request_id());
        check_account(account).map_err(Failure::bad_request)?;
        let options = match request_id {
            Some(id) => {
                check_request_id(id).map_err(Failure::bad_request)?;
                Options::idempotent(format!("{command}/{id}"))
            }
            None => Options::default(),
        };
        let mut held: Loaded<KidAccount> = self
            .repo
            .load(account)
            .await
            .map_err(|e| Failure::store(&e))?;
        let outcome = self
            .repo
            .execute_from(account, &mut held, options, decide)
            .await
            .map_err(|e| Failure::store(&e))?;
        let balance = match outcome {
            Outcome::Done(_) => None,
            // `held` may be from before the request that was applied (a
            // retry that raced it): the balance is read again, after it
            Outcome::AlreadyApplied => Some(self.load(account).await?.balance),
            Outcome::Rejected(error) | Outcome::AlreadyRejected(Some(error)) => {
                return Err(Failure::refused(command, account, &error));
            }
            Outcome::AlreadyRejected(None) => {
                return Err(Failure {
                    code: 400,
                    kind: "refused_before",
                    message: format!(
                        "{command} refused for {account}: it was refused before under the same \
                         request id"
                    ),
                });
            }
        };
        reply(&Done {
            account: account.to_owned(),
            balance: balance.unwrap_or(held.state.balance),
            already_applied: balance.is_some(),
        })
    }

    async fn load(&self, account: &str) -> Result<KidAccount, Failure> {
        check_account(account).map_err(Failure::bad_request)?;
        self.repo
            .load::<KidAccount>(account)
            .await
            .map(|loaded| loaded.state)
            .map_err(|e| Failure::store(&e))
    }

    /// The time of a deposit or a withdrawal: a clock off the calendar
    /// (past the year 9999) fails the request rather than record a time
    /// it does not read.
    fn now(&self) -> Result<Timestamp, Failure> {
        let now = self.options.clock.now();
        Timestamp::try_from(now).map_err(|e| Failure {
            code: 500,
            kind: "clock_out_of_range",
            message: format!("the server's clock reads a time off the calendar ({now:?}): {e}"),
        })
    }
}

/// The most characters of an error message a reply carries: the message
/// names the values of the request, which may be as long as a NATS
/// message, and the reply must fit in one.
const MAX_ERROR_MESSAGE: usize = 1_000;

/// `message` as a header value can hold it: control characters escaped
/// (a line break would end the header, and async-nats panics on one), and
/// cut after [`MAX_ERROR_MESSAGE`] characters.
fn header_safe(message: &str) -> String {
    let mut safe = String::new();
    for (n, c) in message.chars().enumerate() {
        if n == MAX_ERROR_MESSAGE {
            safe.push_str("...");
            break;
        }
        if c.is_control() {
            safe.extend(c.escape_default());
        } else {
            safe.push(c);
        }
    }
    safe
}

/// Sends `answer` to `request`'s client: the reply, or a service error with
/// its kind in the `Kmm-Error` header.
async fn reply_to(request: &Request, answer: Result<Vec<u8>, Failure>, endpoint: &str) {
    let mut headers = HeaderMap::new();
    let reply = answer.map(Into::into).map_err(|failure| {
        headers.insert(ERROR_KIND_HEADER, failure.kind);
        async_nats::service::error::Error {
            status: header_safe(&failure.message),
            code: failure.code,
        }
    });
    if let Err(error) = request.respond_with_headers(reply, headers).await {
        tracing::warn!(endpoint, %error, "cannot reply");
    }
}

/// The answer to a request that finds [`MAX_WAITING`] requests in hand.
fn busy() -> Failure {
    Failure {
        code: 503,
        kind: "busy",
        message: format!(
            "the server is busy: {MAX_WAITING} requests wait for the store; nothing was done"
        ),
    }
}

/// A command's request: the account it is for, and its request id.
trait Addressed {
    fn account(&self) -> &str;
    fn request_id(&self) -> Option<&str>;
}

macro_rules! addressed {
    ($($request:ty),*) => {$(
        impl Addressed for $request {
            fn account(&self) -> &str {
                &self.account
            }

            fn request_id(&self) -> Option<&str> {
                self.request_id.as_deref()
            }
        }
    )*};
}

addressed!(MoveMoney, SetBudget, OfAccount);

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(payload)
        .map_err(|e| Failure::bad_request(format!("the request is not what kmm expects: {e}")))
}

fn reply<T: Serialize>(value: &T) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|e| Failure {
        code: 500,
        kind: "internal",
        message: format!("cannot encode the reply: {e}"),
    })
}
