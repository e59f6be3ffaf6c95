//! [`UpcastError`]: why a stored row could not be brought to the current
//! schema.

use std::fmt;

/// Why a row could not be brought to the current schema: what an
/// upcaster returns when the old body is not what it expects, and what
/// the runtime says when no upcaster reads a row or the upcasters loop.
///
/// ```
/// use eventstore_core::schema::UpcastError;
/// let error = UpcastError::new("no owner to split");
/// assert_eq!(error.to_string(), "no owner to split");
/// ```
#[derive(Debug)]
pub struct UpcastError(Box<Inner>);

/// What an [`UpcastError`] holds, boxed so that the error stays one
/// pointer wide in the errors that carry it.
#[derive(Debug)]
struct Inner {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl UpcastError {
    /// An error that says `message`.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            message: message.into(),
            source: None,
        }))
    }

    /// Prefixes the message with where it happened: `context: message`.
    ///
    /// ```
    /// use eventstore_core::schema::UpcastError;
    /// let error = UpcastError::new("no amount").context("Deposited v1");
    /// assert_eq!(error.to_string(), "Deposited v1: no amount");
    /// ```
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.0.message = format!("{context}: {}", self.0.message);
        self
    }
}

impl fmt::Display for UpcastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for UpcastError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for UpcastError {
    fn from(error: serde_json::Error) -> Self {
        Self(Box::new(Inner {
            message: "the body does not match its old payload type".to_owned(),
            source: Some(Box::new(error)),
        }))
    }
}
