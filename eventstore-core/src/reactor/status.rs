//! What a reactor is doing: checkpoints, lag, leases, parked events.

use std::time::{Duration, SystemTime};

use crate::deadlines::DeadlineSummary;
use crate::envelope::Checkpoint;
use crate::tracker::Holdback;

/// How many readable events after the oldest partition's checkpoint are
/// read to count [`PartitionStatus::lag_events`].
pub const LAG_COUNT_LIMIT: usize = 10_000;

/// The state of one reactor across its partitions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactorStatus {
    /// The reactor's name.
    pub reactor: String,
    /// The last event readable now.
    pub head: Checkpoint,
    /// One entry per partition.
    pub partitions: Vec<PartitionStatus>,
    /// How many of its events are parked.
    pub parked: u64,
    /// The open transaction that holds every tracker back, if any.
    pub holdback: Option<Holdback>,
    /// What it has pending by time, such as a saga's deadlines (with the
    /// [`DEADLINES_SHOWN`] most overdue): `None` for a reactor that has
    /// nothing due by time ([`Reactor::due_status`](super::Reactor::due_status)).
    pub deadlines: Option<DeadlineSummary>,
}

/// How many overdue deadlines [`ReactorStatus::deadlines`] lists.
pub const DEADLINES_SHOWN: usize = 10;

/// The state of one partition of a reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStatus {
    /// The partition.
    pub partition: u32,
    /// Where it has read to.
    pub checkpoint: Checkpoint,
    /// Readable events of this partition not yet handled, counted among the
    /// first [`LAG_COUNT_LIMIT`] after the oldest partition's checkpoint.
    pub lag_events: usize,
    /// How long the oldest of them has been waiting.
    pub lag: Duration,
    /// The runner holding its lease, if any.
    pub lease_holder: Option<String>,
}

/// The age of an event recorded at `recorded_at`.
pub(crate) fn age(recorded_at: SystemTime) -> Duration {
    SystemTime::now()
        .duration_since(recorded_at)
        .unwrap_or_default()
}
