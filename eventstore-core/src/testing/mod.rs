//! A given/when/then kit for testing command logic without a store, and
//! its saga counterpart ([`given_saga`]).
//!
//! ```
//! use eventstore_core::doc::{Account, AccountError, AccountEvent, MoneyWithdrawn, Opened};
//! use eventstore_core::testing::given;
//!
//! given::<Account>([Opened { owner: Some("Ada".into()), balance: 100 }.into()])
//!     .when(|a| a.withdraw(30))
//!     .then([MoneyWithdrawn { amount: 30 }.into()]);
//!
//! given::<Account>([Opened { owner: Some("Ada".into()), balance: 10 }.into()])
//!     .when(|a| a.withdraw(30))
//!     .then_error(AccountError::InsufficientFunds);
//! ```

use std::fmt::{Debug, Write as _};

mod saga;

pub use saga::{GivenSaga, PlannedStep, WhenEvents, WhenSteps, given_saga};

use crate::aggregate::Aggregate;
use crate::event::Event;
use crate::event::schema::check;
use crate::json::EventBody;

/// Starts a test: the aggregate after these past events.
///
/// # Panics
/// When the schema of the aggregate's events does not pass
/// [`schema::check`](crate::schema::check), naming what is wrong.
pub fn given<A: Aggregate>(history: impl IntoIterator<Item = A::Event>) -> Given<A> {
    if let Err(error) = check::<A::Event>() {
        panic!("given: the events of {}: {error}", A::KIND);
    }
    let mut state = A::default();
    for event in history {
        state.apply(&event);
    }
    Given { state }
}

/// Starts a test from rows as an earlier release stored them: `(kind,
/// schema version, body)`, each brought to today's events by the
/// upcasters, as a load would, then folded.
///
/// ```
/// use eventstore_core::doc::{Account, MoneyWithdrawn};
/// use eventstore_core::testing::given_stored;
/// use serde_json::json;
///
/// given_stored::<Account>([("Opened", 1, json!({ "owner": "Ada", "balance": 100 }))])
///     .when(|a| a.withdraw(30))
///     .then([MoneyWithdrawn { amount: 30 }.into()]);
/// ```
///
/// # Panics
/// When a body is not a JSON object, or a row does not decode, naming it.
pub fn given_stored<'a, A: Aggregate>(
    rows: impl IntoIterator<Item = (&'a str, u32, serde_json::Value)>,
) -> Given<A> {
    let mut history = Vec::new();
    for (kind, version, body) in rows {
        let text = EventBody::try_from(&body)
            .unwrap_or_else(|e| panic!("given_stored: the body of {kind} v{version}: {e}"));
        match A::Event::from_stored(kind, version, &text) {
            Ok(events) => history.extend(events),
            Err(error) => panic!(
                "given_stored: {kind} at schema version {version} does not read as today's events: \
                 {}",
                crate::error::ErrorChain(&error)
            ),
        }
    }
    given::<A>(history)
}

/// The aggregate before the command under test.
#[derive(Debug)]
#[must_use = "call .when(...) and then .then(...) or .then_error(...)"]
pub struct Given<A> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    /// Runs the command under test against the state.
    pub fn when<D>(self, command: impl FnOnce(&A) -> Result<Vec<A::Event>, D>) -> When<A, D> {
        let result = command(&self.state);
        When {
            state: self.state,
            result,
        }
    }
}

/// The result of the command under test, to be checked.
#[derive(Debug)]
#[must_use = "check the result with .then(...) or .then_error(...)"]
pub struct When<A: Aggregate, D> {
    state: A,
    result: Result<Vec<A::Event>, D>,
}

impl<A, D> When<A, D>
where
    A: Aggregate,
    A::Event: Debug + PartialEq,
    D: Debug,
{
    /// Asserts that the command produced exactly these events, and returns
    /// the state with them applied.
    ///
    /// # Panics
    /// At the caller's line, with a diff, when the events differ or the
    /// command was rejected.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.result {
            Ok(actual) if actual == expected => {
                let mut state = self.state;
                actual.iter().for_each(|e| state.apply(e));
                state
            }
            Ok(actual) => panic!(
                "the command produced other events than expected (- expected, + actual):\n{}",
                diff(&expected, &actual)
            ),
            Err(rejection) => panic!(
                "expected the command to produce {expected:#?}\nbut it was rejected with {rejection:#?}"
            ),
        }
    }

    /// Asserts that the command was rejected with this error.
    ///
    /// # Panics
    /// At the caller's line, when the command succeeded or failed otherwise.
    #[track_caller]
    #[allow(
        clippy::needless_pass_by_value,
        reason = "reads naturally: .then_error(Error::X)"
    )]
    pub fn then_error(self, expected: D)
    where
        D: PartialEq,
    {
        match self.result {
            Err(actual) if actual == expected => {}
            Err(actual) => panic!(
                "the command was rejected with another error\n  expected: {expected:?}\n    actual: {actual:?}"
            ),
            Ok(events) => panic!(
                "expected the command to be rejected with {expected:?}\nbut it produced {events:#?}"
            ),
        }
    }
}

/// A line per position, marking the positions that differ.
fn diff<T: Debug + PartialEq>(expected: &[T], actual: &[T]) -> String {
    let mut out = String::new();
    for i in 0..expected.len().max(actual.len()) {
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some(a)) if e == a => {
                let _ = writeln!(out, "  {i}: {e:?}");
            }
            (e, a) => {
                if let Some(e) = e {
                    let _ = writeln!(out, "- {i}: {e:?}");
                }
                if let Some(a) = a {
                    let _ = writeln!(out, "+ {i}: {a:?}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Account, AccountError, MoneyWithdrawn, Opened};

    fn opened(balance: u64) -> crate::doc::AccountEvent {
        Opened {
            owner: Some("Ada".into()),
            balance,
        }
        .into()
    }

    #[test]
    fn then_returns_the_new_state() {
        let state = given::<Account>([opened(100)])
            .when(|a| a.withdraw(30))
            .then([MoneyWithdrawn { amount: 30 }.into()]);
        assert_eq!(state.balance, 70);
    }

    #[test]
    #[should_panic(
        expected = "- 0: MoneyWithdrawn(MoneyWithdrawn { amount: 31 })\n+ 0: MoneyWithdrawn(MoneyWithdrawn { amount: 30 })"
    )]
    fn then_shows_a_diff() {
        let _ = given::<Account>([opened(100)])
            .when(|a| a.withdraw(30))
            .then([MoneyWithdrawn { amount: 31 }.into()]);
    }

    #[test]
    #[should_panic(expected = "but it was rejected with InsufficientFunds")]
    fn then_reports_a_rejection() {
        let _ = given::<Account>([opened(10)])
            .when(|a| a.withdraw(30))
            .then([MoneyWithdrawn { amount: 30 }.into()]);
    }

    #[test]
    #[should_panic(expected = "expected the command to be rejected with InsufficientFunds")]
    fn then_error_reports_success() {
        given::<Account>([opened(100)])
            .when(|a| a.withdraw(30))
            .then_error(AccountError::InsufficientFunds);
    }

    #[test]
    #[should_panic(expected = "expected: NotOpen\n    actual: InsufficientFunds")]
    fn then_error_reports_another_error() {
        given::<Account>([opened(10)])
            .when(|a| a.withdraw(30))
            .then_error(AccountError::NotOpen);
    }

    #[test]
    fn diff_marks_missing_and_extra_events() {
        assert_eq!(
            diff(&[1, 2], &[1, 3, 4]),
            "  0: 1\n- 1: 2\n+ 1: 3\n+ 2: 4\n"
        );
    }
}
