//! The SQL statements, qualified with the store's schema once, at startup.
//!
//! Every statement is parameterised; the only text spliced in is the schema
//! name, which [`SchemaName`](crate::options::SchemaName) has checked to be
//! a plain identifier.

mod append_variants;

use append_variants::without_comments;
pub(crate) use append_variants::{AppendStatements, Guards};

/// Which rows a tracker may read in the default mode: those of transactions
/// older than every running one, so that a late commit cannot land behind
/// the reader.
const VISIBLE_OLDER_THAN_RUNNING: &str = "tx < pg_snapshot_xmin(pg_current_snapshot())";

/// Which rows a tracker may read in safety-margin mode: those older than a
/// fixed lag, bound as parameter `$param` in microseconds. Simple, and needs
/// no view of running transactions, but it adds the lag to every event's
/// latency and still skips the rows of a transaction that commits more than
/// the lag after it wrote them.
fn visible_older_than_lag(param: u8) -> String {
    format!("created_at <= now() - make_interval(secs => ${param}::bigint / 1000000.0)")
}

/// The key's row in `load_stream.sql` for a command without a key: none,
/// without a probe of `command_keys`.
const NO_KEY: &str = "SELECT NULL::boolean AS rejected, NULL::jsonb AS rejection WHERE false";

/// Every statement of the store, with `{schema}` replaced.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) append: AppendStatements,
    pub(crate) append_one: AppendStatements,
    pub(crate) key_outcome: String,
    pub(crate) record_refusal: String,
    pub(crate) stream_version: String,
    pub(crate) load: String,
    pub(crate) load_page: String,
    /// `load_stream.sql` for a command without an idempotency key.
    pub(crate) load_stream: String,
    /// `load_stream.sql` for a command with one.
    pub(crate) load_stream_keyed: String,
    pub(crate) load_snapshot: String,
    pub(crate) save_snapshot: String,
    pub(crate) read_after: String,
    pub(crate) read_partition: String,
    pub(crate) head: String,
    pub(crate) read_after_margin: String,
    pub(crate) read_partition_margin: String,
    pub(crate) head_margin: String,
    pub(crate) holdback: String,
    pub(crate) load_checkpoint: String,
    pub(crate) save_checkpoint: String,
    pub(crate) acquire_lease: String,
    pub(crate) release_lease: String,
    pub(crate) lease_holder: String,
    pub(crate) park: String,
    pub(crate) parked: String,
    pub(crate) unpark: String,
    pub(crate) heartbeat: String,
    pub(crate) leave: String,
    pub(crate) forget_events: String,
    pub(crate) forget_snapshots: String,
    pub(crate) delete_snapshots: String,
    pub(crate) forget_parked: String,
    pub(crate) forget_mark: String,
    pub(crate) forget_refusals: String,
    pub(crate) lease_holders: String,
    pub(crate) renew_lease: String,
    pub(crate) join_lock: String,
    pub(crate) live_counts: String,
    pub(crate) checkpoints_of: String,
    pub(crate) repartition: String,
    pub(crate) repartition_start: String,
    pub(crate) live_runners: String,
    pub(crate) partition_count: String,
    pub(crate) parked_event: String,
    pub(crate) parked_count: String,
    pub(crate) retried: String,
    pub(crate) retried_ok: String,
    pub(crate) next_tx: String,
    pub(crate) stream_lock: String,
    pub(crate) import_versions: String,
    pub(crate) import_copy: String,
    pub(crate) sync_deadlines: String,
    pub(crate) due_deadlines: String,
    pub(crate) next_deadline: String,
    pub(crate) remove_deadline: String,
    pub(crate) deadline_summary: String,
    pub(crate) jsonb_check: String,
}

impl Statements {
    /// The statements for tables in `schema` (a checked identifier).
    pub(crate) fn new(schema: &str) -> Self {
        let qualify = |sql: &str| sql.replace("{schema}", &format!("\"{schema}\""));
        let visible = |sql: &str, condition: &str| qualify(&sql.replace("{visible}", condition));
        let head = include_str!("head.sql");
        // a read: one of the two shapes around the page
        let read = |shape: &str, condition: &str| {
            visible(
                &shape.replace("{page}", include_str!("read_page.sql")),
                condition,
            )
        };
        let read_after = include_str!("read_after.sql");
        let load_stream = include_str!("load_stream.sql");
        let read_partition = include_str!("read_partition.sql");
        Self {
            append: AppendStatements::new(include_str!("append.sql"), qualify),
            append_one: AppendStatements::new(include_str!("append_one.sql"), qualify),
            key_outcome: qualify(include_str!("key_outcome.sql")),
            record_refusal: qualify(include_str!("record_refusal.sql")),
            stream_version: qualify(include_str!("stream_version.sql")),
            load: qualify(include_str!("load.sql")),
            load_page: qualify(include_str!("load_page.sql")),
            load_stream: qualify(&load_stream.replace("{key}", NO_KEY)),
            load_stream_keyed: qualify(&load_stream.replace(
                "{key}",
                without_comments(include_str!("load_stream_key.sql")),
            )),
            load_snapshot: qualify(include_str!("load_snapshot.sql")),
            save_snapshot: qualify(include_str!("save_snapshot.sql")),
            read_after: read(read_after, VISIBLE_OLDER_THAN_RUNNING),
            read_partition: read(read_partition, VISIBLE_OLDER_THAN_RUNNING),
            head: visible(head, VISIBLE_OLDER_THAN_RUNNING),
            read_after_margin: read(read_after, &visible_older_than_lag(11)),
            read_partition_margin: read(read_partition, &visible_older_than_lag(11)),
            head_margin: visible(head, &visible_older_than_lag(1)),
            holdback: include_str!("holdback.sql").to_owned(),
            load_checkpoint: qualify(include_str!("load_checkpoint.sql")),
            save_checkpoint: qualify(include_str!("save_checkpoint.sql")),
            acquire_lease: qualify(include_str!("acquire_lease.sql")),
            release_lease: qualify(include_str!("release_lease.sql")),
            lease_holder: qualify(include_str!("lease_holder.sql")),
            park: qualify(include_str!("park.sql")),
            parked: qualify(include_str!("parked.sql")),
            unpark: qualify(include_str!("unpark.sql")),
            heartbeat: qualify(include_str!("heartbeat.sql")),
            leave: qualify(include_str!("leave.sql")),
            forget_events: qualify(include_str!("forget_events.sql")),
            forget_snapshots: qualify(include_str!("forget_snapshots.sql")),
            delete_snapshots: qualify(include_str!("delete_snapshots.sql")),
            forget_parked: qualify(include_str!("forget_parked.sql")),
            forget_mark: qualify(include_str!("forget_mark.sql")),
            forget_refusals: qualify(include_str!("forget_refusals.sql")),
            lease_holders: qualify(include_str!("lease_holders.sql")),
            renew_lease: qualify(include_str!("renew_lease.sql")),
            join_lock: qualify(include_str!("join_lock.sql")),
            live_counts: qualify(include_str!("live_counts.sql")),
            checkpoints_of: qualify(include_str!("checkpoints_of.sql")),
            repartition: qualify(include_str!("repartition.sql")),
            repartition_start: qualify(include_str!("repartition_start.sql")),
            live_runners: qualify(include_str!("live_runners.sql")),
            partition_count: qualify(include_str!("partition_count.sql")),
            parked_event: qualify(include_str!("parked_event.sql")),
            parked_count: qualify(include_str!("parked_count.sql")),
            retried: qualify(include_str!("retried.sql")),
            retried_ok: qualify(include_str!("retried_ok.sql")),
            next_tx: qualify(include_str!("next_tx.sql")),
            stream_lock: qualify(include_str!("stream_lock.sql")),
            import_versions: qualify(include_str!("import_versions.sql")),
            import_copy: qualify(include_str!("import_copy.sql")),
            sync_deadlines: qualify(include_str!("sync_deadlines.sql")),
            due_deadlines: qualify(include_str!("due_deadlines.sql")),
            next_deadline: qualify(include_str!("next_deadline.sql")),
            remove_deadline: qualify(include_str!("remove_deadline.sql")),
            deadline_summary: qualify(include_str!("deadline_summary.sql")),
            jsonb_check: include_str!("jsonb_check.sql").to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_read_mode_reads_with_its_own_condition() {
        let sql = Statements::new("es");
        for statement in [&sql.read_after, &sql.read_partition, &sql.head] {
            assert!(
                statement.contains(VISIBLE_OLDER_THAN_RUNNING),
                "{statement}"
            );
            assert!(!statement.contains("created_at <="), "{statement}");
        }
        assert!(sql.read_after_margin.contains("secs => $11::bigint"));
        assert!(sql.read_partition_margin.contains("secs => $11::bigint"));
        assert!(sql.head_margin.contains("secs => $1::bigint"));
        for statement in [
            &sql.read_after_margin,
            &sql.read_partition_margin,
            &sql.head_margin,
        ] {
            assert!(!statement.contains("pg_snapshot_xmin"), "{statement}");
        }
    }

    #[test]
    fn every_table_is_qualified() {
        let sql = Statements::new("es");
        let appends = sql.append.forms().chain(sql.append_one.forms());
        let all = [
            &sql.key_outcome,
            &sql.record_refusal,
            &sql.stream_version,
            &sql.load,
            &sql.load_page,
            &sql.load_stream,
            &sql.load_stream_keyed,
            &sql.load_snapshot,
            &sql.save_snapshot,
            &sql.read_after,
            &sql.read_partition,
            &sql.head,
            &sql.read_after_margin,
            &sql.read_partition_margin,
            &sql.head_margin,
            &sql.load_checkpoint,
            &sql.save_checkpoint,
            &sql.acquire_lease,
            &sql.release_lease,
            &sql.lease_holder,
            &sql.park,
            &sql.parked,
            &sql.unpark,
            &sql.heartbeat,
            &sql.leave,
            &sql.forget_events,
            &sql.forget_snapshots,
            &sql.delete_snapshots,
            &sql.forget_parked,
            &sql.forget_mark,
            &sql.forget_refusals,
            &sql.lease_holders,
            &sql.renew_lease,
            &sql.join_lock,
            &sql.live_counts,
            &sql.checkpoints_of,
            &sql.repartition,
            &sql.repartition_start,
            &sql.live_runners,
            &sql.partition_count,
            &sql.parked_event,
            &sql.parked_count,
            &sql.retried,
            &sql.retried_ok,
            &sql.import_versions,
            &sql.import_copy,
            &sql.sync_deadlines,
            &sql.due_deadlines,
            &sql.next_deadline,
            &sql.remove_deadline,
            &sql.deadline_summary,
        ];
        let all = all
            .into_iter()
            .map(String::as_str)
            .chain(appends.map(|(_, sql)| sql));
        for statement in all {
            assert!(!statement.contains("{guards}"), "{statement}");
            assert!(!statement.contains("{key}"), "{statement}");
            assert!(!statement.contains("{claim}"), "{statement}");
            assert!(!statement.contains("{checks}"), "{statement}");
            assert!(!statement.contains("{schema}"), "{statement}");
            assert!(!statement.contains("{visible}"), "{statement}");
            assert!(!statement.contains("{page}"), "{statement}");
            for keyword in ["FROM", "INTO"] {
                for table in [
                    "events",
                    "snapshots",
                    "command_keys",
                    "deadlines",
                    "deadline_sagas",
                ] {
                    let unqualified = format!("{keyword} {table}");
                    assert!(
                        !statement.contains(&unqualified),
                        "{unqualified} in {statement}"
                    );
                }
            }
            assert!(statement.contains("\"es\"."), "{statement}");
            // "tx" alone in ORDER BY is the bigint output column, which no
            // index serves: every read would sort the whole table
            assert!(!statement.contains("ORDER BY tx"), "{statement}");
        }
    }
}
