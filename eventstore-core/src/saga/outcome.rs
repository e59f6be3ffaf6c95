//! [`StepOutcome`]: what a step's command did, as the saga is told.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::json::JsonText;
use crate::repository::Outcome;

/// What a step's command did: the one thing [`Saga::on_outcome`] is told.
///
/// A step whose idempotency key was used before is [`Done`](Self::Done):
/// its command took effect then.
///
/// ```
/// # use eventstore_core::doc::AccountError;
/// use eventstore_core::{Rejection, StepOutcome};
/// let refused = StepOutcome::Rejected(Rejection::of(&AccountError::InsufficientFunds)?);
/// assert_eq!(refused.rejection::<AccountError>(), Some(AccountError::InsufficientFunds));
/// assert_eq!(refused.to_string(), "rejected: not enough money");
/// assert_eq!(StepOutcome::Done.rejection::<AccountError>(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// [`Saga::on_outcome`]: crate::Saga::on_outcome
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The command took effect (now, or under the same key before).
    Done,
    /// The command's aggregate refused it, with this domain error.
    Rejected(Rejection),
}

impl StepOutcome {
    /// The typed domain error of a rejection: `None` when the step was
    /// done, the error was forgotten, or it does not decode as a `D`.
    #[must_use]
    pub fn rejection<D: DeserializeOwned>(&self) -> Option<D> {
        match self {
            Self::Done => None,
            Self::Rejected(rejection) => rejection.decode(),
        }
    }
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done => f.write_str("done"),
            Self::Rejected(rejection) => write!(f, "rejected: {rejection}"),
        }
    }
}

/// A step's refusal: the domain error, serialized, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The domain error as JSON; `None` once forgotten.
    error: Option<JsonText>,
    /// The domain error's display text.
    text: String,
}

impl Rejection {
    /// The rejection of a step with the domain error `error`.
    ///
    /// # Errors
    /// serde's error when `error` cannot be encoded as JSON.
    pub fn of<D: Serialize + fmt::Display>(error: &D) -> Result<Self, serde_json::Error> {
        Ok(Self {
            error: Some(JsonText::encode(error)?),
            text: error.to_string(),
        })
    }

    /// A refusal whose domain error is no longer known: what a step
    /// recorded as refused reads as once `forget` erased its error.
    ///
    /// ```
    /// # use eventstore_core::doc::AccountError;
    /// use eventstore_core::Rejection;
    /// let forgotten = Rejection::forgotten();
    /// assert_eq!(forgotten.decode::<AccountError>(), None);
    /// assert_eq!(forgotten.to_string(), "refused (the reason was forgotten)");
    /// ```
    #[must_use]
    pub fn forgotten() -> Self {
        Self {
            error: None,
            text: "refused (the reason was forgotten)".to_owned(),
        }
    }

    /// The typed domain error: `None` when forgotten or not a `D`.
    #[must_use]
    pub fn decode<D: DeserializeOwned>(&self) -> Option<D> {
        self.error.as_ref().and_then(|json| json.decode().ok())
    }

    /// The domain error as JSON, `None` once forgotten.
    #[must_use]
    pub fn json(&self) -> Option<&JsonText> {
        self.error.as_ref()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a step did, from what its command's [`Outcome`] says: the one
/// place that reads a step's `Outcome`.
pub(super) fn step_outcome<D>(outcome: Outcome<D>) -> Result<StepOutcome, serde_json::Error>
where
    D: Serialize + fmt::Display,
{
    Ok(match outcome {
        Outcome::Done(_) | Outcome::AlreadyApplied => StepOutcome::Done,
        Outcome::Rejected(error) | Outcome::AlreadyRejected(Some(error)) => {
            StepOutcome::Rejected(Rejection::of(&error)?)
        }
        Outcome::AlreadyRejected(None) => StepOutcome::Rejected(Rejection::forgotten()),
    })
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::repository::Committed;

    #[derive(Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
    enum Refusal {
        #[error("the account is not open")]
        NotOpen,
    }

    #[test]
    fn every_outcome_maps_to_a_step_outcome() {
        let done = Outcome::<Refusal>::Done(Committed {
            version: 1,
            events: Vec::new(),
            attempts: 1,
        });
        assert_eq!(step_outcome(done).unwrap(), StepOutcome::Done);
        assert_eq!(
            step_outcome(Outcome::<Refusal>::AlreadyApplied).unwrap(),
            StepOutcome::Done
        );
        let refused = step_outcome(Outcome::Rejected(Refusal::NotOpen)).unwrap();
        assert_eq!(refused.rejection(), Some(Refusal::NotOpen));
        assert_eq!(refused.to_string(), "rejected: the account is not open");
        let before = step_outcome(Outcome::AlreadyRejected(Some(Refusal::NotOpen))).unwrap();
        assert_eq!(before, refused, "refused by an earlier delivery, the same");
        let erased = step_outcome(Outcome::<Refusal>::AlreadyRejected(None)).unwrap();
        assert_eq!(erased, StepOutcome::Rejected(Rejection::forgotten()));
    }

    #[test]
    fn a_rejection_keeps_the_error_as_json() {
        let rejection = Rejection::of(&Refusal::NotOpen).unwrap();
        assert_eq!(rejection.json().map(JsonText::as_str), Some(r#""NotOpen""#));
        // another type does not decode from it
        assert_eq!(rejection.decode::<u32>(), None);
    }
}
