//! The statements of a command's path and the reactors' reads, as the
//! store sends them (its sessions plan each once, generically), for the
//! test that checks that each one reads through its index whatever the
//! planner's statistics say (`tests/tests/postgres_plans.rs`): a new
//! deployment, or a table just truncated, has none until autovacuum
//! analyzes it.

use crate::sql::Guards;
use crate::store::PgEventStore;

/// One statement of a command's path, with what it takes to plan it.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct CommandStatement {
    /// The statement's file, without `.sql`.
    pub name: &'static str,
    /// The text the store prepares, qualified with its schema.
    pub sql: String,
    /// The SQL types of `$1`, `$2`, ... as `PREPARE` takes them.
    pub parameter_types: &'static [&'static str],
    /// Argument lists, as SQL literals, that take the statement's branches
    /// (a key or none, a new stream or not, a guard or none).
    pub samples: Vec<Vec<&'static str>>,
    /// Whether its custom plans (made for each argument list, PostgreSQL's
    /// default for a statement's first executions) must read through the
    /// index too, or only its generic plan, the one the store's sessions
    /// use (`plan_cache_mode=force_generic_plan`): the tracker's reads
    /// sort their page on custom plans made without statistics.
    pub custom_plans_checked: bool,
}

/// The types of the tracker's reads' parameters (`read_page.sql`): the
/// checkpoint, the kinds, the scan limit, the `until` checkpoint, and the
/// partition's count, index and 2^64 mod the count.
const READ_TYPES: &[&str] = &[
    "bigint", "bigint", "text[]", "text[]", "bigint", "bigint", "bigint", "bigint", "bigint",
    "bigint",
];

/// The types of `append_one.sql`'s parameters.
const APPEND_ONE_TYPES: &[&str] = &[
    "text", "text", "bigint", "text", "text", "text", "text", "text", "text", "text", "bigint",
    "bigint", "int4",
];

/// The types of `append.sql`'s parameters.
const APPEND_TYPES: &[&str] = &[
    "text", "text", "bigint", "text[]", "text[]", "text[]", "text", "text", "text", "text",
    "bigint", "bigint", "int4[]",
];

impl PgEventStore {
    /// Every statement a command sends (load, key check, append, a
    /// refusal recorded under a key, and the look-ups that explain a
    /// refused append or refusal), a forget's erasure of refusals, the tracker's two reads
    /// (of every partition and of one) and an import's look-up of the
    /// versions its streams are at, with sample arguments.
    #[doc(hidden)]
    #[must_use]
    pub fn command_statements(&self) -> Vec<CommandStatement> {
        let sql = self.statements();
        let statement =
            |name, sql: &String, parameter_types, samples: &[&[&'static str]]| CommandStatement {
                name,
                sql: sql.clone(),
                parameter_types,
                samples: samples.iter().map(|sample| sample.to_vec()).collect(),
                custom_plans_checked: true,
            };
        let generic_only = |statement: CommandStatement| CommandStatement {
            custom_plans_checked: false,
            ..statement
        };
        let mut statements = vec![
            statement(
                "load_stream",
                &sql.load_stream,
                &["text", "text", "text", "bigint"],
                &[
                    &["'Account'", "'a1'", "NULL", "4096"],
                    &["'Account'", "'a1'", "NULL", "9223372036854775807"],
                ],
            ),
            statement(
                "load_stream (keyed)",
                &sql.load_stream_keyed,
                &["text", "text", "text", "bigint"],
                &[
                    &["'Account'", "'a1'", "'key'", "4096"],
                    &["'Account'", "'a1'", "'key'", "9223372036854775807"],
                ],
            ),
            statement(
                "load",
                &sql.load,
                &["text", "text", "bigint"],
                &[&["'Account'", "'a1'", "0"], &["'Account'", "'a1'", "5"]],
            ),
            statement(
                "load_page",
                &sql.load_page,
                &["text", "text", "bigint", "bigint"],
                &[
                    &["'Account'", "'a1'", "0", "4096"],
                    &["'Account'", "'a1'", "5", "4096"],
                    &["'Account'", "'a1'", "0", "9223372036854775807"],
                ],
            ),
            statement(
                "load_snapshot",
                &sql.load_snapshot,
                &["text", "text"],
                &[&["'Account'", "'a1'"]],
            ),
            statement(
                "key_outcome",
                &sql.key_outcome,
                &["text", "text", "text"],
                &[&["'Account'", "'a1'", "'key'"]],
            ),
            statement(
                "record_refusal",
                &sql.record_refusal,
                &[
                    "text", "text", "text", "bigint", "text", "text", "text", "bigint",
                ],
                &[
                    &[
                        "'Account'",
                        "'a1'",
                        "'key'",
                        "3",
                        "'{}'",
                        "NULL",
                        "NULL",
                        "NULL",
                    ],
                    &[
                        "'Account'",
                        "'a1'",
                        "'key'",
                        "3",
                        "'{}'",
                        "'Transfer'",
                        "'t1'",
                        "2",
                    ],
                ],
            ),
            statement(
                "forget_refusals",
                &sql.forget_refusals,
                &["text", "text"],
                &[&["'Account'", "'a1'"]],
            ),
            generic_only(statement(
                "read_after",
                &sql.read_after,
                READ_TYPES,
                &[
                    &[
                        "0", "0", "'{}'", "'{}'", "100", "NULL", "NULL", "0", "0", "0",
                    ],
                    &[
                        "5",
                        "7",
                        "'{Account}'",
                        "'{Opened}'",
                        "100",
                        "9",
                        "9",
                        "0",
                        "0",
                        "0",
                    ],
                ],
            )),
            generic_only(statement(
                "read_partition",
                &sql.read_partition,
                READ_TYPES,
                &[
                    &[
                        "0", "0", "'{}'", "'{}'", "100", "NULL", "NULL", "4", "1", "0",
                    ],
                    &[
                        "5",
                        "7",
                        "'{Account}'",
                        "'{}'",
                        "100",
                        "NULL",
                        "NULL",
                        "3",
                        "2",
                        "1",
                    ],
                ],
            )),
            statement(
                "stream_version",
                &sql.stream_version,
                &["text", "text"],
                &[&["'Account'", "'a1'"]],
            ),
            statement(
                "import_versions",
                &sql.import_versions,
                &["text[]", "text[]"],
                &[&["'{Account,Account}'", "'{a1,a2}'"]],
            ),
        ];
        for (name, forms, types, events) in [
            ("append_one", &sql.append_one, APPEND_ONE_TYPES, ONE_EVENT),
            ("append", &sql.append, APPEND_TYPES, TWO_EVENTS),
        ] {
            statements.extend(forms.forms().map(|(guards, sql)| CommandStatement {
                name,
                sql: sql.to_owned(),
                parameter_types: types,
                samples: vec![append_sample(guards, events)],
                custom_plans_checked: true,
            }));
        }
        statements
    }
}

impl PgEventStore {
    /// The reads of the saga runtime's deadline loop, with sample
    /// arguments: the due deadlines of a kind (of every partition and of
    /// one) and the next due time (the same two), for the test that checks
    /// that they read through the firing-order index
    /// (`tests/tests/postgres_deadlines.rs`).
    #[doc(hidden)]
    #[must_use]
    pub fn deadline_statements(&self) -> Vec<CommandStatement> {
        let sql = self.statements();
        vec![
            CommandStatement {
                name: "due_deadlines",
                sql: sql.due_deadlines.clone(),
                parameter_types: &["text", "bigint", "bigint", "bigint", "bigint", "bigint"],
                samples: vec![
                    // 2027-01-15, every partition, then one of 4
                    vec!["'Transfer'", "1800000000000000", "0", "0", "0", "100"],
                    vec!["'Transfer'", "1800000000000000", "4", "1", "0", "100"],
                ],
                custom_plans_checked: true,
            },
            CommandStatement {
                name: "next_deadline",
                sql: sql.next_deadline.clone(),
                parameter_types: &["text", "bigint", "bigint", "bigint"],
                samples: vec![
                    vec!["'Transfer'", "0", "0", "0"],
                    vec!["'Transfer'", "4", "1", "0"],
                ],
                custom_plans_checked: true,
            },
        ]
    }
}

/// The events of an `append_one.sql` sample: `$4` to `$6`, one event's
/// id, kind and body, and `$13`, its schema version.
const ONE_EVENT: ([&str; 3], &str) = (["'id'", "'Opened'", "'{}'"], "1");

/// The events of an `append.sql` sample: `$4` to `$6`, two events' ids,
/// kinds and bodies, and `$13`, their schema versions.
const TWO_EVENTS: ([&str; 3], &str) = (["'{i1,i2}'", "'{A,B}'", "'{\"{}\",\"{}\"}'"], "'{1,2}'");

/// Arguments for the append form with `guards`' checks: an expected version
/// above 0 only with the version check, a key only with the key check, a
/// guarded stream only with that check.
fn append_sample(
    guards: Guards,
    (events, schema_versions): ([&'static str; 3], &'static str),
) -> Vec<&'static str> {
    let mut sample = vec!["'Account'", "'a1'", if guards.version { "3" } else { "0" }];
    sample.extend(events);
    sample.push("'{}'");
    sample.push(if guards.key { "'key'" } else { "NULL" });
    if guards.moved {
        sample.extend(["'Account'", "'a2'", "5"]);
    } else {
        sample.extend(["NULL", "NULL", "NULL"]);
    }
    sample.push("7");
    sample.push(schema_versions);
    sample
}
