//! Why a command did not succeed: the one line to print, and the exit
//! code.

use eventstore_core::ErrorChain;

/// Why a command did not succeed, and so its exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command line was wrong (exit code 2).
    Usage(String),
    /// The domain refused, or something failed while running (exit code 1).
    Failed(String),
}

impl Failure {
    /// The process exit code.
    #[must_use]
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Failed(_) => 1,
        }
    }

    /// The one line to print.
    #[must_use]
    pub(crate) fn message(&self) -> &str {
        match self {
            Self::Usage(message) | Self::Failed(message) => message,
        }
    }
}

/// An error and its causes on one line, as a runtime failure.
pub(crate) fn failed(error: &(dyn std::error::Error + 'static)) -> Failure {
    Failure::Failed(ErrorChain(error).to_string())
}

impl From<eventstore_core::Error> for Failure {
    fn from(error: eventstore_core::Error) -> Self {
        failed(&error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        failed(&error)
    }
}
