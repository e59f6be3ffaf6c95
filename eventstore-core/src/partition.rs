//! Which partition an aggregate's events belong to: the stable hash of its
//! id, shared by the trackers that read one partition and the reactor
//! runtime that splits the work.

/// One of `count` partitions of the streams: the events of the aggregates
/// that [`partition_of`] puts in partition `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which partition, below `count`.
    pub index: u32,
    /// How many partitions there are.
    pub count: u32,
}

impl Partition {
    /// Whether the aggregate `aggregate_id` is in this partition.
    #[must_use]
    pub fn owns(&self, aggregate_id: &str) -> bool {
        partition_of(aggregate_id, self.count) == self.index
    }
}

/// The partition of `aggregate_id` among `partitions`: a stable hash
/// (FNV-1a), the same in every process and release, so that each aggregate's
/// events always go to the same partition and stay in order.
///
/// ```
/// use eventstore_core::reactor::partition_of;
/// assert_eq!(partition_of("acc-1", 4), partition_of("acc-1", 4));
/// assert!(partition_of("acc-1", 4) < 4);
/// assert_eq!(partition_of("anything", 1), 0);
/// ```
#[must_use]
pub fn partition_of(aggregate_id: &str, partitions: u32) -> u32 {
    u32::try_from(stream_hash(aggregate_id) % u64::from(partitions.max(1))).unwrap_or(0)
}

/// The stable hash (FNV-1a, 64 bits) that [`partition_of`] reduces: a
/// store may keep it with each event, to pick a partition's events out
/// where they are stored.
///
/// ```
/// use eventstore_core::backend::stream_hash;
/// use eventstore_core::reactor::partition_of;
/// assert_eq!((stream_hash("acc-1") % 4) as u32, partition_of("acc-1", 4));
/// ```
#[must_use]
pub fn stream_hash(aggregate_id: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    aggregate_id.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_stable_and_spreads_ids() {
        // fixed values: changing the hash would move aggregates between
        // partitions of running systems
        assert_eq!(partition_of("", 1_000), 37);
        assert_eq!(partition_of("acc-1", 1_000), partition_of("acc-1", 1_000));
        let mut counts = [0; 4];
        for i in 0..1_000 {
            counts[partition_of(&format!("acc-{i}"), 4) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 150), "{counts:?}");
    }
}
