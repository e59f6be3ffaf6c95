//! Where each column sits in the rows of each statement shape.
//!
//! Rows are read by index, which is cheaper than by name (no lookup per
//! value), but an index means nothing by itself: here every statement shape
//! has one layout that names each column it reads, and the code reads
//! through it. A layout's field names are the columns' names in the SQL,
//! and the test below checks them against the select list of every `.sql`
//! file that returns rows, so that reordering or renaming a column there
//! fails it instead of reading the wrong column.

/// Declares a layout: a struct of column indexes whose field names are the
/// columns' names (a field may be a nested layout, such as the block of
/// event columns), and, for the test, the list of those names by index.
macro_rules! layout {
    ($(#[$attr:meta])* struct $name:ident {
        $($(#[$field_attr:meta])* $field:ident: $ty:ty,)+
    }) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct $name {
            $($(#[$field_attr])* pub(crate) $field: $ty,)+
        }

        #[cfg(test)]
        impl tests::Columns for $name {
            fn push(&self, _: &'static str, names: &mut Vec<(&'static str, usize)>) {
                $(tests::Columns::push(&self.$field, stringify!($field), names);)+
            }
        }
    };
}

layout! {
    /// The columns of an event, in the order in which every statement that
    /// returns events selects them, from the block's first column.
    struct EventColumns {
        /// The event id, as text.
        id: usize,
        /// The global position.
        position: usize,
        /// The committing transaction (`xid8`, read in binary).
        tx: usize,
        /// The stream's aggregate kind.
        aggregate_kind: usize,
        /// The stream's aggregate id.
        aggregate_id: usize,
        /// The version in the stream.
        version: usize,
        /// The event kind.
        kind: usize,
        /// The schema version its body was written at.
        schema_version: usize,
        /// The body (`jsonb`).
        body: usize,
        /// The metadata (`jsonb`).
        metadata: usize,
        /// When it was written (`timestamptz`, read in binary).
        created_at: usize,
    }
}

impl EventColumns {
    /// The block of event columns that starts at column `first`.
    const fn at(first: usize) -> Self {
        Self {
            id: first,
            position: first + 1,
            tx: first + 2,
            aggregate_kind: first + 3,
            aggregate_id: first + 4,
            version: first + 5,
            kind: first + 6,
            schema_version: first + 7,
            body: first + 8,
            metadata: first + 9,
            created_at: first + 10,
        }
    }
}

/// The rows of `load.sql`: an event each.
pub(crate) const LOAD: EventColumns = EventColumns::at(0);

layout! {
    /// The columns of an event as a load folds it, in the order in which
    /// `load_page.sql` and `load_stream.sql` select them.
    struct StreamEventColumns {
        /// The global position, which names a row that cannot be read.
        position: usize,
        /// The version in the stream.
        version: usize,
        /// The event kind.
        kind: usize,
        /// The schema version its body was written at.
        schema_version: usize,
        /// The body (`jsonb`).
        body: usize,
    }
}

impl StreamEventColumns {
    /// The block of columns that starts at column `first`.
    const fn at(first: usize) -> Self {
        Self {
            position: first,
            version: first + 1,
            kind: first + 2,
            schema_version: first + 3,
            body: first + 4,
        }
    }
}

/// The rows of `load_page.sql`.
pub(crate) const LOAD_PAGE: StreamEventColumns = StreamEventColumns::at(0);

layout! {
    /// What `append.sql` and `append_one.sql` return of each event written.
    struct AppendedColumns {
        /// The global position.
        position: usize,
        /// The committing transaction (`xid8`, read in binary).
        tx: usize,
        /// The version in the stream.
        version: usize,
        /// When it was written (`timestamptz`, read in binary).
        created_at: usize,
    }
}

/// The rows of `append.sql` and `append_one.sql`.
pub(crate) const APPENDED: AppendedColumns = AppendedColumns {
    position: 0,
    tx: 1,
    version: 2,
    created_at: 3,
};

layout! {
    /// A snapshot's columns.
    struct SnapshotColumns {
        /// The version of the stream it was folded at.
        version: usize,
        /// The aggregate's schema version.
        schema_version: usize,
        /// The state (`jsonb`).
        state: usize,
        /// How many times the stream was forgotten.
        forgets: usize,
    }
}

/// The row of `load_snapshot.sql`.
pub(crate) const LOAD_SNAPSHOT: SnapshotColumns = SnapshotColumns {
    version: 0,
    schema_version: 1,
    state: 2,
    forgets: 3,
};

layout! {
    /// What an idempotency key recorded, as `key_outcome.sql` and
    /// `load_stream.sql` select it.
    struct KeyColumns {
        /// Whether the command was refused (null: the key is unused).
        rejected: usize,
        /// The refusal's domain error (`jsonb`; null when done or erased).
        rejection: usize,
    }
}

/// The row of `key_outcome.sql`.
pub(crate) const KEY_OUTCOME: KeyColumns = KeyColumns {
    rejected: 0,
    rejection: 1,
};

layout! {
    /// The rows of `load_stream.sql`: the part, then the header's columns,
    /// null in the event rows, then the event columns, null in the header.
    struct LoadStreamColumns {
        /// Which part the row is of: 0 the header, 1 an event.
        part: usize,
        /// What the idempotency key recorded.
        key: KeyColumns,
        /// The snapshot's version (null: no snapshot).
        snapshot_version: usize,
        /// The snapshot's schema version.
        snapshot_schema_version: usize,
        /// The snapshot's state.
        state: usize,
        /// How many times the stream was forgotten.
        forgets: usize,
        /// The events after the snapshot.
        event: StreamEventColumns,
    }
}

impl LoadStreamColumns {
    /// The header's snapshot columns.
    pub(crate) const fn snapshot(self) -> SnapshotColumns {
        SnapshotColumns {
            version: self.snapshot_version,
            schema_version: self.snapshot_schema_version,
            state: self.state,
            forgets: self.forgets,
        }
    }
}

/// The rows of `load_stream.sql`.
pub(crate) const LOAD_STREAM: LoadStreamColumns = LoadStreamColumns {
    part: 0,
    key: KeyColumns {
        rejected: 1,
        rejection: 2,
    },
    snapshot_version: 3,
    snapshot_schema_version: 4,
    state: 5,
    forgets: 6,
    event: StreamEventColumns::at(7),
};

layout! {
    /// The rows of a tracker's read (`read_after.sql`, `read_partition.sql`).
    struct ReadColumns {
        /// Whether the row passed the filter.
        wanted: usize,
        /// The event (body and metadata null when it did not pass).
        event: EventColumns,
        /// The row's rank in the scan (`read_partition.sql`; null in
        /// `read_after.sql`, which sends every row).
        rank: usize,
    }
}

/// The rows of `read_after.sql` and `read_partition.sql`.
pub(crate) const READ: ReadColumns = ReadColumns {
    wanted: 0,
    event: EventColumns::at(1),
    rank: 12,
};

layout! {
    /// A checkpoint's columns, both bigints.
    struct CheckpointColumns {
        /// The transaction id.
        tx: usize,
        /// The position.
        position: usize,
    }
}

/// The row of `load_checkpoint.sql` and of `head.sql`.
pub(crate) const CHECKPOINT: CheckpointColumns = CheckpointColumns { tx: 0, position: 1 };

layout! {
    /// The rows of `checkpoints_of.sql`.
    struct PartitionCheckpointColumns {
        /// The partition.
        partition: usize,
        /// Its checkpoint.
        checkpoint: CheckpointColumns,
    }
}

/// The rows of `checkpoints_of.sql`.
pub(crate) const CHECKPOINTS_OF: PartitionCheckpointColumns = PartitionCheckpointColumns {
    partition: 0,
    checkpoint: CheckpointColumns { tx: 1, position: 2 },
};

layout! {
    /// The rows of `parked.sql` and `parked_event.sql`.
    struct ParkedColumns {
        /// The event (null but for the position when its row is gone).
        event: EventColumns,
        /// The handler's error.
        error: usize,
        /// How many times it was attempted.
        attempts: usize,
        /// When it was parked, in microseconds since the Unix epoch.
        parked_us: usize,
    }
}

/// The rows of `parked.sql` and `parked_event.sql`.
pub(crate) const PARKED: ParkedColumns = ParkedColumns {
    event: EventColumns::at(0),
    error: 11,
    attempts: 12,
    parked_us: 13,
};

layout! {
    /// The row of `join_lock.sql`.
    struct JoinLockColumns {
        /// The stored partition count.
        partitions: usize,
        /// Whether the reactor's row was created now.
        created: usize,
    }
}

/// The row of `join_lock.sql`.
pub(crate) const JOIN_LOCK: JoinLockColumns = JoinLockColumns {
    partitions: 0,
    created: 1,
};

layout! {
    /// The row of `holdback.sql`.
    struct HoldbackColumns {
        /// The holder's database.
        database: usize,
        /// Its backend's process id (null when prepared).
        pid: usize,
        /// How long it has been open, in microseconds.
        age_us: usize,
        /// Its backend's state.
        state: usize,
        /// Its query, when in the store's database.
        query: usize,
        /// A prepared transaction's global id.
        gid: usize,
        /// When it was prepared, in microseconds since the Unix epoch.
        prepared_us: usize,
        /// Who prepared it.
        owner: usize,
    }
}

/// The row of `holdback.sql`.
pub(crate) const HOLDBACK: HoldbackColumns = HoldbackColumns {
    database: 0,
    pid: 1,
    age_us: 2,
    state: 3,
    query: 4,
    gid: 5,
    prepared_us: 6,
    owner: 7,
};

layout! {
    /// The columns of a pending deadline, in the order in which
    /// `due_deadlines.sql` and `deadline_summary.sql` select them.
    struct PendingColumns {
        /// The saga's id.
        saga_id: usize,
        /// The version of the saga whose state listed it.
        version: usize,
        /// The deadline's name.
        name: usize,
        /// When it is due (`timestamptz`, read in binary).
        due: usize,
        /// Its payload (`jsonb`).
        payload: usize,
    }
}

impl PendingColumns {
    /// The block of columns that starts at column `first`.
    const fn at(first: usize) -> Self {
        Self {
            saga_id: first,
            version: first + 1,
            name: first + 2,
            due: first + 3,
            payload: first + 4,
        }
    }
}

/// The rows of `due_deadlines.sql`.
pub(crate) const DUE_DEADLINES: PendingColumns = PendingColumns::at(0);

layout! {
    /// The rows of `deadline_summary.sql`: the totals, then an overdue
    /// deadline (null in the one row of totals when none is overdue).
    struct SummaryColumns {
        /// How many deadlines of the kind are pending.
        pending: usize,
        /// The earliest due time among them (null when none is).
        next_due: usize,
        /// How many are overdue.
        overdue: usize,
        /// One of the earliest overdue.
        late: PendingColumns,
    }
}

/// The rows of `deadline_summary.sql`.
pub(crate) const DEADLINE_SUMMARY: SummaryColumns = SummaryColumns {
    pending: 0,
    next_due: 1,
    overdue: 2,
    late: PendingColumns::at(3),
};

layout! {
    /// The row of `sync_deadlines.sql`.
    struct SyncColumns {
        /// Whether the deadlines were synced.
        synced: usize,
        /// Whether they were not, because the saga's deadlines were synced
        /// from a later version (neither: a concurrent sync won the race).
        newer: usize,
    }
}

/// The row of `sync_deadlines.sql`.
pub(crate) const SYNC_DEADLINES: SyncColumns = SyncColumns {
    synced: 0,
    newer: 1,
};

#[cfg(test)]
mod tests;
