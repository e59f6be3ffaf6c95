//! The reactor runtime's state on JetStream key-value buckets: checkpoints,
//! leases, live runners, partition counts and parked events
//! ([`KvReactors`]), every change a compare-and-set on the revision read.
//!
//! The layout of the buckets and their entries is in [`entries`]'s
//! documentation. Leases end at a time by the writer's clock, compared by
//! the reader's: the runners' clocks must agree to well within a lease's
//! ttl, as they must on PostgreSQL's clock.

mod entries;
mod leases;
mod parked;
mod runners;

use async_nats::jetstream;
use eventstore_core::Result;

pub use parked::EventsAt;

use crate::kv::{Bucket, BucketLayout};

/// The state of reactors in two key-value buckets, `<prefix>_reactors`
/// and `<prefix>_parked`: every method of
/// [`ReactorStore`](eventstore_core::reactor::ReactorStore), for a store
/// to delegate to; listing parked events reads each event from the store
/// through [`EventsAt`], since a parked entry keeps no copy of it.
///
/// A cheap handle to clone.
#[derive(Debug, Clone)]
pub struct KvReactors {
    state: Bucket,
    parked: Bucket,
}

impl KvReactors {
    /// Opens the buckets of `layout`, creating those missing.
    ///
    /// # Errors
    /// [`Error::Backend`](eventstore_core::Error::Backend) naming the bucket
    /// that cannot be opened or created.
    pub async fn open(context: &jetstream::Context, layout: &BucketLayout) -> Result<Self> {
        Ok(Self {
            state: layout.open(context, "reactors").await?,
            parked: layout.open(context, "parked").await?,
        })
    }
}
