//! async-nats errors as `eventstore_core` errors: [`Error::transient`] for
//! what the same call may not meet again (a timeout, a lost connection),
//! [`Error::backend`] for the rest, each with a few words of what failed.

use std::borrow::Cow;

use async_nats::jetstream::consumer::pull::BatchErrorKind;
use async_nats::jetstream::context::{
    CreateKeyValueErrorKind, CreateStreamErrorKind, GetStreamErrorKind, KeyValueErrorKind,
    PublishErrorKind, RequestErrorKind,
};
use async_nats::jetstream::kv::{CreateErrorKind, EntryErrorKind, PutErrorKind, UpdateErrorKind};
use async_nats::jetstream::stream::{ConsumerErrorKind, LastRawMessageErrorKind};
use async_nats::{ConnectErrorKind, SubscribeErrorKind};
use eventstore_core::Error;

/// An async-nats error kind that says whether a retry may succeed.
pub(crate) trait Transience {
    /// Whether the same call may succeed when made again.
    fn is_transient(&self) -> bool;
}

/// `error` as an [`Error::Backend`] saying `what` failed, transient when
/// its kind is.
pub(crate) fn failed<K>(
    what: impl Into<Cow<'static, str>>,
    error: async_nats::error::Error<K>,
) -> Error
where
    K: Transience + Clone + std::fmt::Debug + std::fmt::Display + PartialEq + Send + Sync + 'static,
{
    if error.kind().is_transient() {
        Error::transient(what, error)
    } else {
        Error::backend(what, error)
    }
}

impl Transience for ConnectErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut | Self::Io | Self::Dns)
    }
}

impl Transience for SubscribeErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Other)
    }
}

impl Transience for PublishErrorKind {
    fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::TimedOut | Self::BrokenPipe | Self::MaxAckPending
        )
    }
}

impl Transience for RequestErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut | Self::NoResponders)
    }
}

impl Transience for LastRawMessageErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Other)
    }
}

impl Transience for ConsumerErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut | Self::Request)
    }
}

impl Transience for BatchErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Pull | Self::Flush | Self::Subscribe)
    }
}

impl Transience for CreateStreamErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut | Self::JetStreamUnavailable)
    }
}

impl Transience for GetStreamErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Request)
    }
}

impl Transience for KeyValueErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::GetBucket)
    }
}

impl Transience for CreateKeyValueErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut)
    }
}

impl Transience for EntryErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut | Self::Other)
    }
}

impl Transience for CreateErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Publish | Self::Ack)
    }
}

impl Transience for UpdateErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::TimedOut)
    }
}

impl Transience for PutErrorKind {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Publish | Self::Ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_transient_and_refusals_are_not() {
        let timeout = async_nats::jetstream::context::PublishError::new(PublishErrorKind::TimedOut);
        let error = failed("cannot publish the commit", timeout);
        assert!(error.is_transient(), "{error:?}");
        assert_eq!(error.to_string(), "cannot publish the commit");

        let refused = async_nats::jetstream::context::PublishError::new(PublishErrorKind::Other);
        assert!(!failed("cannot publish the commit", refused).is_transient());
    }
}
