//! Deadlines: the times at which sagas want to hear from the runtime
//! ([`Deadline`]), and where the pending ones are kept ([`DeadlineStore`]),
//! shared by the sagas that list them and the reactor runtime that fires
//! them.

mod deadline;
mod pending;

pub use deadline::{
    Deadline, MAX_DEADLINE_DUE_MICROS, MAX_DEADLINE_NAME_BYTES, MAX_DEADLINE_PAYLOAD_BYTES,
};
pub use pending::{DeadlineStore, DeadlineSummary, DeadlinesAt, PendingDeadline};
