//! Why sealing or opening failed, each error naming the aggregate and,
//! for a sealed value, the field.

/// Any error a source may be.
type Source = Box<dyn std::error::Error + Send + Sync>;

/// Why the secrets of an aggregate could not be read, written or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SecretsError {
    /// The secrets bucket could not be read or written.
    #[error("{what}")]
    Nats {
        /// What failed, naming the aggregate.
        what: String,
        /// Whether the same call may succeed when made again.
        transient: bool,
        /// The client's error.
        #[source]
        source: Source,
    },
    /// The OS random generator failed to give a key or the seed of a
    /// thread's nonces.
    #[error("the OS random generator failed")]
    Random(#[source] Source),
    /// AES-GCM refused to seal a value (one beyond 64 GiB).
    #[error("AES-GCM refused to seal {label:?}")]
    Encrypt {
        /// The field, or `(state)` / `(refusal)`.
        label: String,
    },
    /// The key set entry is not what this module writes.
    #[error("the key set of {aggregate} is corrupt: {problem}")]
    CorruptKeySet {
        /// The aggregate, kind and id.
        aggregate: String,
        /// What is wrong.
        problem: String,
    },
    /// A sealed value does not open: tampered with, truncated, or not
    /// written by this module. Never read as `null`: only a destroyed key
    /// makes a value `null`.
    #[error("the sealed {field:?} of {aggregate} cannot be opened: {problem}")]
    CorruptValue {
        /// The aggregate, kind and id.
        aggregate: String,
        /// The field, or `(state)` / `(refusal)`.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A sealed body is not a JSON object.
    #[error("a sealed body of {aggregate} is not a JSON object: {problem}")]
    CorruptBody {
        /// The aggregate, kind and id.
        aggregate: String,
        /// What is wrong.
        problem: String,
    },
    /// Other writers kept changing the key set: every compare-and-set of
    /// a bounded number failed.
    #[error("the key set of {aggregate} changed under {attempts} attempts to update it")]
    Contended {
        /// The aggregate, kind and id.
        aggregate: String,
        /// The attempts made.
        attempts: u32,
    },
}

impl From<SecretsError> for eventstore_core::Error {
    fn from(error: SecretsError) -> Self {
        match error {
            SecretsError::Nats {
                what,
                transient: true,
                source,
            } => Self::transient(what, source),
            SecretsError::Nats { what, source, .. } => Self::backend(what, source),
            contended @ SecretsError::Contended { .. } => {
                Self::transient("cannot update a key set", contended)
            }
            other => Self::backend("cannot use the secrets of an aggregate", other),
        }
    }
}

/// `kind` `id` as errors name an aggregate.
pub(crate) fn aggregate(kind: &str, id: &str) -> String {
    format!("{kind} {id:?}")
}

#[cfg(test)]
mod tests {
    use eventstore_core::ErrorChain;

    use super::*;

    #[test]
    fn errors_name_the_aggregate_and_field_and_say_whether_to_retry() {
        let corrupt = SecretsError::CorruptValue {
            aggregate: aggregate("Account", "a-1"),
            field: "owner".into(),
            problem: "the tag does not match".into(),
        };
        let error = eventstore_core::Error::from(corrupt);
        assert!(!error.is_transient());
        assert_eq!(
            ErrorChain(&error).to_string(),
            "cannot use the secrets of an aggregate: the sealed \"owner\" of Account \"a-1\" \
             cannot be opened: the tag does not match"
        );
        let contended = SecretsError::Contended {
            aggregate: aggregate("Account", "a-1"),
            attempts: 3,
        };
        assert!(eventstore_core::Error::from(contended).is_transient());
    }
}
