//! The statements of a command's path, as the store sends them, for the
//! test that checks that each one reads through its index whatever the
//! planner's statistics say (`tests/tests/postgres_plans.rs`): a new
//! deployment, or a table just truncated, has none until autovacuum
//! analyzes it.

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
    pub samples: &'static [&'static [&'static str]],
}

/// The types of `append_one.sql`'s parameters.
const APPEND_ONE_TYPES: &[&str] = &[
    "text", "text", "bigint", "text", "text", "text", "text", "text", "text", "text", "bigint",
    "bigint",
];

/// The types of `append.sql`'s parameters.
const APPEND_TYPES: &[&str] = &[
    "text", "text", "bigint", "text[]", "text[]", "text[]", "text", "text", "text", "text",
    "bigint", "bigint",
];

impl PgEventStore {
    /// Every statement a command sends (load, key check, append, and the
    /// look-ups that explain a refused append), with sample arguments.
    #[doc(hidden)]
    #[must_use]
    pub fn command_statements(&self) -> Vec<CommandStatement> {
        let sql = self.statements();
        let statement = |name, sql: &String, parameter_types, samples| CommandStatement {
            name,
            sql: sql.clone(),
            parameter_types,
            samples,
        };
        vec![
            statement(
                "load_stream",
                &sql.load_stream,
                &["text", "text", "text"],
                &[
                    &["'Account'", "'a1'", "NULL"],
                    &["'Account'", "'a1'", "'key'"],
                ],
            ),
            statement(
                "load",
                &sql.load,
                &["text", "text", "bigint"],
                &[&["'Account'", "'a1'", "0"], &["'Account'", "'a1'", "5"]],
            ),
            statement(
                "load_snapshot",
                &sql.load_snapshot,
                &["text", "text"],
                &[&["'Account'", "'a1'"]],
            ),
            statement(
                "has_key",
                &sql.has_key,
                &["text", "text", "text"],
                &[&["'Account'", "'a1'", "'key'"]],
            ),
            statement(
                "stream_version",
                &sql.stream_version,
                &["text", "text"],
                &[&["'Account'", "'a1'"]],
            ),
            statement(
                "append_one",
                &sql.append_one,
                APPEND_ONE_TYPES,
                &[
                    &[
                        "'Account'",
                        "'a1'",
                        "0",
                        "'id'",
                        "'Opened'",
                        "'{}'",
                        "'{}'",
                        "NULL",
                        "NULL",
                        "NULL",
                        "NULL",
                        "7",
                    ],
                    &[
                        "'Account'",
                        "'a1'",
                        "3",
                        "'id'",
                        "'Opened'",
                        "'{}'",
                        "'{}'",
                        "'key'",
                        "'Account'",
                        "'a2'",
                        "5",
                        "7",
                    ],
                ],
            ),
            statement(
                "append",
                &sql.append,
                APPEND_TYPES,
                &[
                    &[
                        "'Account'",
                        "'a1'",
                        "0",
                        "'{i1,i2}'",
                        "'{A,B}'",
                        "'{\"{}\",\"{}\"}'",
                        "'{}'",
                        "NULL",
                        "NULL",
                        "NULL",
                        "NULL",
                        "7",
                    ],
                    &[
                        "'Account'",
                        "'a1'",
                        "3",
                        "'{i1,i2}'",
                        "'{A,B}'",
                        "'{\"{}\",\"{}\"}'",
                        "'{}'",
                        "'key'",
                        "'Account'",
                        "'a2'",
                        "5",
                        "7",
                    ],
                ],
            ),
        ]
    }
}
