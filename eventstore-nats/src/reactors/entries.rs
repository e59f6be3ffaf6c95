//! The JSON entries of the reactor buckets and their keys.
//!
//! Bucket `<prefix>_reactors`, one entry per reactor and one per partition:
//!
//! - `<reactor>`: the reactor's stored partition count (absent until a
//!   join stores one) and its live runners, by owner, each with its
//!   heartbeat's end and its count:
//!   `{"partitions":2,"runners":{"host-1":{"until_ms":1764320000000,"partitions":2}}}`;
//!   runners whose heartbeat ended are dropped at the next write.
//! - `<reactor>.<partition>`: the partition's checkpoint and lease, and the
//!   partition count they are of:
//!   `{"partitions":2,"checkpoint":{"tx":7,"position":458752},"lease":{"owner":"host-1","until_ms":1764320000000}}`.
//!   Keeping the lease and the checkpoint in one entry makes a save by a
//!   lease no longer held impossible: the save is a compare-and-set on the
//!   entry that a take-over changes.
//!
//! Bucket `<prefix>_parked`, one entry per parked event:
//! `<reactor>.<position>` → `{"tx":7,"error":"...","attempts":3,"parked_at_us":1764320000000000}`,
//! without the event's body: the event is read from the store when listed,
//! so that a forget reaches it.
//!
//! `<reactor>` is the reactor's name as one token
//! ([`encode_token`]); times are milliseconds since the epoch by the
//! writer's clock.

use std::collections::BTreeMap;

use eventstore_core::Checkpoint;
use serde::{Deserialize, Serialize};

use crate::kv::now_millis;
use crate::subject::encode_token;

/// The key of a reactor's entry.
pub(super) fn reactor_key(reactor: &str) -> String {
    encode_token(reactor)
}

/// The key of a reactor's partition's entry.
pub(super) fn partition_key(reactor: &str, partition: u32) -> String {
    format!("{}.{partition}", encode_token(reactor))
}

/// The filter of every partition entry of a reactor.
pub(super) fn partitions_filter(reactor: &str) -> String {
    format!("{}.*", encode_token(reactor))
}

/// The partition a key of [`partition_key`] names.
pub(super) fn partition_of_key(key: &str) -> Option<u32> {
    key.rsplit_once('.')?.1.parse().ok()
}

/// The key of a reactor's parked event.
pub(super) fn parked_key(reactor: &str, position: u64) -> String {
    format!("{}.{position}", encode_token(reactor))
}

/// The filter of every parked event of a reactor.
pub(super) fn parked_filter(reactor: &str) -> String {
    format!("{}.*", encode_token(reactor))
}

/// The position a key of [`parked_key`] names.
pub(super) fn position_of_key(key: &str) -> Option<u64> {
    key.rsplit_once('.')?.1.parse().ok()
}

/// A reactor's entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ReactorEntry {
    /// The stored partition count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) partitions: Option<u32>,
    /// The runners that beat, by owner.
    #[serde(default)]
    pub(super) runners: BTreeMap<String, Beat>,
}

/// A runner's last heartbeat.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Beat {
    /// When it ends.
    pub(super) until_ms: u64,
    /// The runner's partition count.
    pub(super) partitions: u32,
}

impl ReactorEntry {
    /// The live runners other than `owner`.
    pub(super) fn others<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a Beat> + 'a {
        let now = now_millis();
        self.runners
            .iter()
            .filter(move |(o, beat)| *o != owner && beat.until_ms > now)
            .map(|(_, beat)| beat)
    }

    /// Marks `owner` live until `until_ms` and drops the runners whose
    /// heartbeat ended; how many are live, `owner` included.
    pub(super) fn beat(&mut self, owner: &str, partitions: u32, until_ms: u64) -> u32 {
        let now = now_millis();
        self.runners.retain(|_, beat| beat.until_ms > now);
        self.runners.insert(
            owner.to_owned(),
            Beat {
                until_ms,
                partitions,
            },
        );
        u32::try_from(self.runners.len()).unwrap_or(u32::MAX)
    }
}

/// A partition's entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct PartitionEntry {
    /// The partition count the checkpoint and the lease are of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) partitions: Option<u32>,
    /// The stored checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) checkpoint: Option<StoredCheckpoint>,
    /// The lease, running or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) lease: Option<StoredLease>,
}

impl PartitionEntry {
    /// The owner of the running lease, if any.
    pub(super) fn holder(&self) -> Option<&str> {
        let now = now_millis();
        self.lease
            .as_ref()
            .filter(|lease| lease.until_ms > now)
            .map(|lease| lease.owner.as_str())
    }

    /// Whether `owner` holds the running lease.
    pub(super) fn held_by(&self, owner: &str) -> bool {
        self.holder() == Some(owner)
    }
}

/// A checkpoint as stored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct StoredCheckpoint {
    tx: u64,
    position: u64,
}

impl From<Checkpoint> for StoredCheckpoint {
    fn from(checkpoint: Checkpoint) -> Self {
        Self {
            tx: checkpoint.tx,
            position: checkpoint.position,
        }
    }
}

impl From<StoredCheckpoint> for Checkpoint {
    fn from(stored: StoredCheckpoint) -> Self {
        Self {
            tx: stored.tx,
            position: stored.position,
        }
    }
}

/// A lease as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredLease {
    /// The runner holding it.
    pub(super) owner: String,
    /// When it ends.
    pub(super) until_ms: u64,
}

/// A parked event's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ParkedEntry {
    /// The event's commit (its `tx`), when the runner had the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) tx: Option<u64>,
    /// The last error's message.
    pub(super) error: String,
    /// How many attempts were made.
    pub(super) attempts: u32,
    /// When it was parked or last retried, in microseconds.
    pub(super) parked_at_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_partition_and_position_whatever_the_reactor() {
        let key = partition_key("a.b 7", 3);
        assert_eq!(key, "a=2Eb=207.3");
        assert_eq!(partition_of_key(&key), Some(3));
        assert_eq!(position_of_key(&parked_key("x.9", 65_537)), Some(65_537));
        assert_eq!(partitions_filter("a.b"), "a=2Eb.*");
    }

    #[test]
    fn entries_stay_small() {
        let entry = PartitionEntry {
            partitions: Some(2),
            checkpoint: Some(Checkpoint { tx: 7, position: 9 }.into()),
            lease: None,
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"partitions":2,"checkpoint":{"tx":7,"position":9}}"#
        );
    }
}
