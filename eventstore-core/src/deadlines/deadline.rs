//! [`Deadline`]: a time at which a saga wants to hear from the runtime.

use std::time::{Duration, SystemTime};

/// The most bytes a deadline's payload may take as JSON: a deadline
/// carries a reminder, not data (the saga's state holds that).
pub const MAX_DEADLINE_PAYLOAD_BYTES: usize = 4_096;

/// The latest due time a store keeps, in microseconds since 1970: the
/// last of the year 9999. PostgreSQL turns a count of seconds into an
/// interval through a double, exact this far (not in the year 30000, say),
/// and a deadline must read back with the due time it was kept with.
pub const MAX_DEADLINE_DUE_MICROS: u64 = 253_402_300_799_999_999;

/// The most bytes a deadline's name may take.
pub const MAX_DEADLINE_NAME_BYTES: usize = 200;

/// A deadline a saga wants pending: a name, the time it is due (whole
/// microseconds, as stores keep it) and a small JSON payload.
///
/// A saga lists the deadlines it wants in [`Saga::deadlines`](crate::Saga::deadlines),
/// from its recorded state. A deadline is identified by its name and due
/// time: one the saga no longer lists is cancelled, and one listed under
/// the same name with another due time was moved, which makes it a new
/// deadline (it fires once, under a key of its own).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use eventstore_core::saga::Deadline;
/// let asked = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let approval = Deadline::after("approval", asked, Duration::from_secs(600))
///     .with(serde_json::json!({ "reminders": 1 }));
/// assert_eq!(approval.due(), asked + Duration::from_secs(600));
/// assert_eq!(approval.payload()["reminders"], 1);
/// assert_eq!(approval.key_suffix(), "deadline/approval/1800000600000000");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    name: String,
    due: SystemTime,
    payload: serde_json::Value,
}

impl Deadline {
    /// The deadline `name`, due at `due` (to the microsecond: finer parts
    /// are dropped; before 1970 counts as 1970), without a payload.
    #[must_use]
    pub fn at(name: impl Into<String>, due: SystemTime) -> Self {
        Self {
            name: name.into(),
            due: SystemTime::UNIX_EPOCH + Duration::from_micros(micros(due)),
            payload: serde_json::Value::Null,
        }
    }

    /// The deadline `name`, due `after` past `from` (a time the saga
    /// recorded, such as the `now` its handler was given).
    #[must_use]
    pub fn after(name: impl Into<String>, from: SystemTime, after: Duration) -> Self {
        Self::at(name, from + after)
    }

    /// The same deadline with a payload, handed back when it fires (at
    /// most [`MAX_DEADLINE_PAYLOAD_BYTES`] as JSON).
    #[must_use]
    pub fn with(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }

    /// Its name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it is due.
    #[must_use]
    pub fn due(&self) -> SystemTime {
        self.due
    }

    /// Its due time in microseconds since 1970.
    #[must_use]
    pub fn due_micros(&self) -> u64 {
        micros(self.due)
    }

    /// Its payload (`null` when it has none).
    #[must_use]
    pub fn payload(&self) -> &serde_json::Value {
        &self.payload
    }

    /// Whether `other` is the same deadline: the same name and due time.
    #[must_use]
    pub fn is(&self, other: &Deadline) -> bool {
        self.name == other.name && self.due == other.due
    }

    /// What its firing's idempotency key adds to the saga's:
    /// `deadline/<name>/<due in microseconds>`.
    #[must_use]
    pub fn key_suffix(&self) -> String {
        format!("deadline/{}/{}", self.name, self.due_micros())
    }

    /// Why a store cannot keep it, if it cannot: an empty or long name, a
    /// NUL in it, a due time past [`MAX_DEADLINE_DUE_MICROS`], a payload
    /// above [`MAX_DEADLINE_PAYLOAD_BYTES`] or with a NUL character in a
    /// string or key (PostgreSQL's jsonb refuses it; refused here, it is
    /// refused by every store alike).
    #[must_use]
    pub fn problem(&self) -> Option<String> {
        if self.name.is_empty() {
            return Some("its name is empty".to_owned());
        }
        if self.name.len() > MAX_DEADLINE_NAME_BYTES {
            return Some(format!(
                "its name takes {} bytes, above {MAX_DEADLINE_NAME_BYTES}",
                self.name.len()
            ));
        }
        if self.name.contains('\0') {
            return Some("its name holds a NUL character".to_owned());
        }
        if self.due_micros() > MAX_DEADLINE_DUE_MICROS {
            return Some(format!(
                "it is due {} microseconds after 1970, past the latest a store keeps ({MAX_DEADLINE_DUE_MICROS})",
                self.due_micros()
            ));
        }
        if holds_nul(&self.payload) {
            return Some("its payload holds a NUL character".to_owned());
        }
        let bytes = self.payload.to_string().len();
        (bytes > MAX_DEADLINE_PAYLOAD_BYTES).then(|| {
            format!("its payload takes {bytes} bytes as JSON, above {MAX_DEADLINE_PAYLOAD_BYTES}")
        })
    }
}

/// Whether a string or key of `value` holds a NUL character.
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// `time` in whole microseconds since 1970 (0 before).
fn micros(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_keep_whole_microseconds() {
        let due = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_500_999);
        let deadline = Deadline::at("d", due);
        assert_eq!(deadline.due_micros(), 1_500);
        assert_eq!(deadline, Deadline::at("d", deadline.due()), "stable");
        let early = SystemTime::UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Deadline::at("d", early).due(), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn identity_is_name_and_due_not_payload() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(60);
        let a = Deadline::at("approval", at);
        assert!(a.is(&a.clone().with(serde_json::json!(1))));
        assert!(!a.is(&Deadline::at("approval", at + Duration::from_micros(1))));
        assert!(!a.is(&Deadline::at("reminder", at)));
    }

    #[test]
    fn names_and_payloads_a_store_cannot_keep_are_named() {
        let at = SystemTime::UNIX_EPOCH;
        assert_eq!(Deadline::at("ok", at).problem(), None);
        assert_eq!(
            Deadline::at("", at).problem().as_deref(),
            Some("its name is empty")
        );
        assert!(Deadline::at("a\0b", at).problem().unwrap().contains("NUL"));
        let long = "n".repeat(MAX_DEADLINE_NAME_BYTES + 1);
        assert!(
            Deadline::at(long, at)
                .problem()
                .unwrap()
                .contains("201 bytes")
        );
        let nul = serde_json::json!({ "a": [1, { "b\0": 2 }] });
        assert!(
            Deadline::at("d", at)
                .with(nul)
                .problem()
                .unwrap()
                .contains("NUL")
        );
        let text = serde_json::json!({ "a": "C:\\u0000" });
        assert_eq!(
            Deadline::at("d", at).with(text).problem(),
            None,
            "the text \\u0000"
        );
        let latest = SystemTime::UNIX_EPOCH + Duration::from_micros(MAX_DEADLINE_DUE_MICROS);
        assert_eq!(Deadline::at("d", latest).problem(), None);
        let beyond = latest + Duration::from_micros(1);
        assert!(
            Deadline::at("d", beyond)
                .problem()
                .unwrap()
                .contains("past the latest")
        );
        let big = serde_json::Value::String("x".repeat(MAX_DEADLINE_PAYLOAD_BYTES));
        let problem = Deadline::at("d", at).with(big).problem().unwrap();
        assert!(problem.contains("4098 bytes"), "{problem}");
    }
}
