//! [`Step`]: a command on another aggregate that a saga wants taken.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::outcome::{StepOutcome, step_outcome};
use crate::aggregate::Aggregate;
use crate::error::Error;
use crate::reactor::HandlerError;
use crate::repository::{Options, Repository};
use crate::store::EventStore;

/// A command on another aggregate that a saga wants taken now, named
/// within its saga: what [`Saga::steps`](crate::Saga::steps) returns.
///
/// The runtime runs it with the idempotency key `<saga kind>/<saga
/// id>/<name>`, so a step is taken at most once per saga instance, and
/// hands its [`StepOutcome`] back to the saga. `S` is the store the runtime
/// runs it on; a saga writes `steps<S: EventStore>` and lets it be inferred.
///
/// ```
/// # use eventstore_core::doc::Account;
/// use eventstore_core::{MemoryStore, Step};
/// let step: Step<MemoryStore> = Step::on("withdraw", "acc-1", |a: &Account| a.withdraw(30));
/// assert_eq!((step.name(), step.target_kind(), step.target_id()), ("withdraw", "Account", "acc-1"));
/// assert_eq!(step.to_string(), r#"withdraw on Account "acc-1""#);
/// ```
pub struct Step<S> {
    name: String,
    target_kind: &'static str,
    target_id: String,
    command: Box<dyn Command<S>>,
    refusal_not_final: bool,
}

impl<S: EventStore> Step<S> {
    /// The step `name`: the command `decide` on the aggregate `A` whose id
    /// is `target_id` (checked when the step runs: an id that no
    /// aggregate can have fails the handler, naming it).
    ///
    /// `decide` is a command as [`Repository::execute`] takes it; its domain
    /// error is stored with a refusal, so it must serialize, and its text
    /// is what [`Rejection`](crate::Rejection)'s `Display` shows.
    pub fn on<A, D>(
        name: impl Into<String>,
        target_id: impl Into<String>,
        decide: impl Fn(&A) -> Result<Vec<A::Event>, D> + Send + Sync + 'static,
    ) -> Self
    where
        A: Aggregate,
        D: Serialize + DeserializeOwned + fmt::Display + Send + 'static,
    {
        Self {
            name: name.into(),
            target_kind: A::KIND,
            target_id: target_id.into(),
            command: Box::new(Typed {
                decide,
                types: PhantomData,
            }),
            refusal_not_final: false,
        }
    }

    /// Its command's refusal is not recorded under the step's key
    /// ([`Options::refusal_not_final`]): for a compensation whose
    /// [`on_outcome`](crate::Saga::on_outcome) refuses a rejection, so
    /// that the event, retried or replayed by an operator once the
    /// compensation is possible, decides the command again instead of
    /// meeting the first refusal.
    #[must_use]
    pub fn refusal_not_final(mut self) -> Self {
        self.refusal_not_final = true;
        self
    }
}

impl<S> Step<S> {
    /// Its name, unique within its saga instance.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of the aggregate its command runs on.
    #[must_use]
    pub fn target_kind(&self) -> &'static str {
        self.target_kind
    }

    /// The id of the aggregate its command runs on.
    #[must_use]
    pub fn target_id(&self) -> &str {
        &self.target_id
    }

    /// Runs its command with `options` (the key and the guard the runtime
    /// derives); `None` when the guard's stream moved on, and nothing ran.
    pub(super) async fn run(
        &self,
        repo: &Repository<S>,
        options: Options,
    ) -> Result<Option<StepOutcome>, HandlerError> {
        let options = if self.refusal_not_final {
            options.refusal_not_final()
        } else {
            options
        };
        self.command.run(repo, &self.target_id, options).await
    }
}

impl<S> fmt::Display for Step<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} on {} {:?}",
            self.name, self.target_kind, self.target_id
        )
    }
}

impl<S> fmt::Debug for Step<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("name", &self.name)
            .field("target_kind", &self.target_kind)
            .field("target_id", &self.target_id)
            .finish_non_exhaustive()
    }
}

/// The idempotency key of step `step` of the saga `kind` `id`.
pub(crate) fn step_key(kind: &str, id: &str, step: &str) -> String {
    format!("{kind}/{id}/{step}")
}

/// A boxed future, as a trait object returns it.
type Running<'a> =
    Pin<Box<dyn Future<Output = Result<Option<StepOutcome>, HandlerError>> + Send + 'a>>;

/// A step's command with its types erased.
trait Command<S>: Send + Sync {
    /// Executes it on the aggregate `target_id`.
    fn run<'a>(
        &'a self,
        repo: &'a Repository<S>,
        target_id: &'a str,
        options: Options,
    ) -> Running<'a>;
}

/// A step's command with its types.
struct Typed<A, D, F> {
    decide: F,
    types: PhantomData<fn() -> (A, D)>,
}

impl<S, A, D, F> Command<S> for Typed<A, D, F>
where
    S: EventStore,
    A: Aggregate,
    D: Serialize + DeserializeOwned + fmt::Display + Send + 'static,
    F: Fn(&A) -> Result<Vec<A::Event>, D> + Send + Sync,
{
    fn run<'a>(
        &'a self,
        repo: &'a Repository<S>,
        target_id: &'a str,
        options: Options,
    ) -> Running<'a> {
        Box::pin(async move {
            match repo.execute(target_id, options, &self.decide).await {
                Ok(outcome) => Ok(Some(step_outcome(outcome)?)),
                Err(Error::StreamMoved { .. }) => Ok(None),
                Err(other) => Err(other.into()),
            }
        })
    }
}
