//! `Approval`, the saga of the deadline cases: it waits for an approval
//! until its deadline, which times it out; it can be extended (the
//! deadline moves) and approved or rejected by commands on its stream.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{
    Aggregate, AggregateId, Deadline, Event, EventStore, NoInput, Saga, Step, StepOutcome,
};

/// An approval was asked for, due at `due_micros` (µs since 1970).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Requested {
    /// The deadline, in microseconds since 1970.
    pub due_micros: u64,
    /// The deadline's payload.
    pub note: String,
}

/// The deadline was moved to `due_micros`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Extended {
    /// The new deadline, in microseconds since 1970.
    pub due_micros: u64,
}

/// Approved in time.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Approved {}

/// Not approved in time: the deadline fired at `at_micros`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TimedOut {
    /// When it fired, in microseconds since 1970.
    pub at_micros: u64,
    /// The payload the deadline carried.
    pub note: String,
}

/// The events of [`Approval`].
#[derive(Event, Debug, Clone, PartialEq)]
pub enum ApprovalEvent {
    /// See [`Requested`].
    Requested(Requested),
    /// See [`Extended`].
    Extended(Extended),
    /// See [`Approved`].
    Approved(Approved),
    /// See [`TimedOut`].
    TimedOut(TimedOut),
}

/// Waits for an approval until its deadline.
#[derive(Aggregate, Debug, Default, Serialize, Deserialize)]
#[aggregate(kind = "Approval", event = ApprovalEvent)]
pub struct Approval {
    /// When the deadline is due (µs), while waiting.
    pub due_micros: Option<u64>,
    /// The note the deadline carries.
    pub note: String,
    /// Approved.
    pub approved: bool,
    /// Timed out.
    pub timed_out: bool,
}

impl ApprovalEventHandler for Approval {
    fn on_requested(&mut self, e: &Requested) {
        (self.due_micros, self.note) = (Some(e.due_micros), e.note.clone());
    }
    fn on_extended(&mut self, e: &Extended) {
        self.due_micros = Some(e.due_micros);
    }
    fn on_approved(&mut self, _: &Approved) {
        (self.approved, self.due_micros) = (true, None);
    }
    fn on_timed_out(&mut self, _: &TimedOut) {
        (self.timed_out, self.due_micros) = (true, None);
    }
}

/// Why an approval command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApprovalError {
    /// It is not waiting (timed out or approved already, or never asked).
    #[error("not waiting for an approval")]
    NotWaiting,
}

impl Approval {
    /// Approves it while it waits.
    ///
    /// # Errors
    /// [`ApprovalError::NotWaiting`].
    pub fn approve(&self) -> Result<Vec<ApprovalEvent>, ApprovalError> {
        match self.due_micros {
            Some(_) => Ok(vec![Approved {}.into()]),
            None => Err(ApprovalError::NotWaiting),
        }
    }

    /// Moves its deadline to `due` while it waits.
    ///
    /// # Errors
    /// [`ApprovalError::NotWaiting`].
    pub fn extend(&self, due: SystemTime) -> Result<Vec<ApprovalEvent>, ApprovalError> {
        match self.due_micros {
            Some(_) => Ok(vec![
                Extended {
                    due_micros: micros(due),
                }
                .into(),
            ]),
            None => Err(ApprovalError::NotWaiting),
        }
    }
}

/// The request of an approval due at `due`, with the note `note`.
#[must_use]
pub fn requested(due: SystemTime, note: &str) -> ApprovalEvent {
    Requested {
        due_micros: micros(due),
        note: note.to_owned(),
    }
    .into()
}

/// `time` in microseconds since 1970.
#[must_use]
pub fn micros(time: SystemTime) -> u64 {
    Deadline::at("", time).due_micros()
}

impl Saga for Approval {
    type Input = NoInput;

    /// None, unless its note starts with `stuck`: then, while it waits, a
    /// step that always fails (on an id no aggregate can have), as a saga
    /// stuck on a broken step, retried and parked, whose deadline is what
    /// gets it out.
    fn steps<S: EventStore>(&self, _: &AggregateId) -> Vec<Step<S>> {
        if self.note.starts_with("stuck") && self.due_micros.is_some() {
            let step = Step::on("stuck", "", |_: &Approval| {
                Ok::<_, ApprovalError>(Vec::new())
            });
            return vec![step];
        }
        Vec::new()
    }

    fn on_outcome(&self, _: &str, _: &StepOutcome, _: SystemTime) -> Vec<ApprovalEvent> {
        Vec::new()
    }

    fn deadlines(&self) -> Vec<Deadline> {
        self.due_micros.map_or_else(Vec::new, |due| {
            let due = SystemTime::UNIX_EPOCH + Duration::from_micros(due);
            vec![Deadline::at("approval", due).with(serde_json::json!({ "note": self.note }))]
        })
    }

    fn on_deadline(&self, deadline: &Deadline, now: SystemTime) -> Vec<ApprovalEvent> {
        let note = deadline.payload()["note"].as_str().unwrap_or_default();
        vec![
            TimedOut {
                at_micros: micros(now),
                note: note.to_owned(),
            }
            .into(),
        ]
    }
}
