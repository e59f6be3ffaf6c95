//! The command line of `sagas`.
//!
//! Account and transfer ids are [`AggregateId`]s, parsed with the command
//! line, so that an id no aggregate can have (empty, over 255 bytes, a
//! control character) is a usage error naming it before anything is read
//! or written: a transfer to such an account would withdraw the money and
//! then fail to deposit it.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use eventstore_core::AggregateId;

use crate::money::Money;

/// Runs the money-transfer sample of eventstore.
#[derive(Debug, Parser)]
#[command(name = "sagas", version, about)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the PostgreSQL store is.
#[derive(Debug, Args, Clone)]
pub(crate) struct Database {
    /// The PostgreSQL database.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        global = true
    )]
    pub(crate) database_url: Option<String>,
    /// The schema of the event store's tables.
    #[arg(long, default_value = eventstore_postgres::DEFAULT_SCHEMA, global = true)]
    pub(crate) schema: String,
    /// Runs on NATS JetStream instead of PostgreSQL: `nats://HOST:PORT`
    /// (`account`, `transfer`, `worker`, `parked` and `reset`; the other
    /// commands work on PostgreSQL only). `postgres://...` is the same as
    /// --database-url.
    #[arg(long, value_name = "URL", global = true)]
    pub(crate) store: Option<String>,
    /// The JetStream stream of `--store nats://...` (created when missing,
    /// with its buckets); its subjects are `<NAME>.<kind>.<id>`.
    #[arg(long, value_name = "NAME", default_value = "SAGAS", global = true)]
    pub(crate) stream: String,
}

/// Output for people (tables) or scripts (JSON).
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct Output {
    /// Prints JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Opens accounts, runs three transfers through the saga (one
    /// completes, one is refused, one is refunded), prints each step, the
    /// event log and the balances. In memory unless given a database.
    Demo {
        /// Runs on this PostgreSQL database instead, in the schema
        /// `sagas_demo`, which it empties first.
        #[arg(long, value_name = "URL", conflicts_with = "store")]
        database_url: Option<String>,
        /// Runs on this store instead: `nats://HOST:PORT` for NATS
        /// JetStream (in the stream `SAGAS_DEMO` and its buckets, which it
        /// deletes first), or `postgres://...` as --database-url.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Creates or updates the event store's tables.
    Migrate {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
    },
    /// Commands on one account.
    Account {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// What to do.
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Starts a transfer, or shows one.
    Transfer {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// What to do.
        #[command(subcommand)]
        command: TransferCommand,
    },
    /// Runs the transfer saga until Ctrl-C or SIGTERM; several may run at once.
    Worker {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Partitions of the saga (every worker must use the same number).
        #[arg(long, default_value_t = 4)]
        partitions: u32,
        /// How long a dead worker's partitions wait before another takes
        /// them, in milliseconds.
        #[arg(long, default_value_t = 5_000)]
        lease_ttl_ms: u64,
    },
    /// Sets every partition of the transfer saga back to the first event
    /// (or the last, with --to-end) while no worker runs: after a restore
    /// from a dump, when workers stop saying a checkpoint is ahead.
    Reset {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Partitions of the saga, as the workers run it.
        #[arg(long, default_value_t = 4)]
        partitions: u32,
        /// Starts at the last event readable now instead of the first
        /// (events before it are never handled).
        #[arg(long)]
        to_end: bool,
    },
    /// Transfers by state, stuck transfers, the saga's lag, parked events and
    /// pending approval deadlines (with the overdue ones).
    Status {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
        /// A transfer not settled this many seconds after it started is stuck.
        #[arg(long, default_value_t = 60)]
        stuck_after: u64,
    },
    /// The event log, in commit order: each row's kind, the schema version
    /// its body was written at, and the body.
    Events {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Tables or JSON (one object per line).
        #[command(flatten)]
        output: Output,
        /// Only this aggregate's events.
        #[arg(long, value_name = "ID")]
        aggregate: Option<AggregateId>,
        /// Shows the accounts' and transfers' rows as the application reads
        /// them today: brought to the current version of their events, one
        /// line per event a row reads as. Rows of other aggregates show as
        /// stored.
        #[arg(long)]
        current: bool,
        /// Keeps printing events as they are committed, until Ctrl-C.
        #[arg(long)]
        follow: bool,
    },
    /// Events that failed every attempt of the saga.
    Parked {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// What to do.
        #[command(subcommand)]
        command: ParkedCommand,
    },
    /// Erases an account owner's name (GDPR) from its events, snapshots and
    /// parked events, in one transaction; the history stays.
    Forget {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
        /// The account id.
        #[arg(value_name = "ID")]
        id: AggregateId,
    },
    /// Imports history from another system: one event a line, as a JSON
    /// object with aggregate_kind, aggregate_id, kind, version, body (an
    /// object), time (RFC 3339), and optionally schema_version (the
    /// version of the event the body was written as, 1 when absent: an
    /// account's `Opened` with `owner` and `initial_balance` is 1, with
    /// `holder` and `opening_balance` 2) and metadata; all in one
    /// transaction, or nothing when a line is refused.
    Import {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
        /// The file of JSON lines; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
    /// Starts many transfers and reports how fast workers settle them.
    Load {
        /// Where the store is.
        #[command(flatten)]
        db: Database,
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
        /// Accounts to open (each with 1,000.00).
        #[arg(long, default_value_t = 50)]
        accounts: usize,
        /// Transfers to start.
        #[arg(long, default_value_t = 1_000)]
        transfers: usize,
        /// Transfers started at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds to wait for the workers to settle them all.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

/// Commands on one account.
#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Opens an account.
    Open {
        /// The account id.
        #[arg(value_name = "ID")]
        id: AggregateId,
        /// The owner's name.
        #[arg(long)]
        owner: String,
        /// The first balance, like 100 or 12.50.
        #[arg(long, default_value = "0")]
        balance: Money,
    },
    /// Puts money in.
    Deposit {
        /// The account id.
        #[arg(value_name = "ID")]
        id: AggregateId,
        /// The amount, like 100 or 12.50.
        amount: Money,
    },
    /// Freezes an account: no money moves but refunds.
    Freeze {
        /// The account id.
        #[arg(value_name = "ID")]
        id: AggregateId,
        /// Why.
        #[arg(long, default_value = "frozen by an operator")]
        reason: String,
    },
    /// Closes an empty account.
    Close {
        /// The account id.
        #[arg(value_name = "ID")]
        id: AggregateId,
    },
    /// Shows an account.
    Show {
        /// The account id.
        #[arg(value_name = "ID")]
        id: AggregateId,
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
    },
}

/// Starting or showing a transfer.
#[derive(Debug, Subcommand)]
pub(crate) enum TransferCommand {
    /// Starts a transfer; the workers run it.
    Start {
        /// The account to take the money from.
        #[arg(value_name = "ID")]
        from: AggregateId,
        /// The account to give it to.
        #[arg(value_name = "ID")]
        to: AggregateId,
        /// The amount, like 100 or 12.50.
        amount: Money,
        /// The transfer id (default: a new one). Starting the same id twice
        /// starts one transfer.
        #[arg(long, value_name = "ID")]
        id: Option<AggregateId>,
        /// Waits until it settles (a worker must be running).
        #[arg(long)]
        wait: bool,
        /// Transfers of more than this wait, once the money is withdrawn,
        /// for `sagas transfer approve` (or `reject`).
        #[arg(long, value_name = "AMOUNT", default_value = "1000.00")]
        approval_limit: Money,
        /// How long such a transfer waits before the money goes back, like
        /// 90s, 10m, 2h or 1d.
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
        approval_timeout: Duration,
    },
    /// Approves a transfer that awaits approval: the money goes on.
    Approve {
        /// The transfer id.
        #[arg(value_name = "ID")]
        id: AggregateId,
    },
    /// Rejects a transfer that awaits approval: the money goes back.
    Reject {
        /// The transfer id.
        #[arg(value_name = "ID")]
        id: AggregateId,
        /// Why, recorded with the transfer.
        #[arg(long, default_value = "rejected by an operator")]
        reason: String,
    },
    /// Shows a transfer.
    Show {
        /// The transfer id.
        #[arg(value_name = "ID")]
        id: AggregateId,
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
    },
}

/// Operating on parked events.
#[derive(Debug, Subcommand)]
pub(crate) enum ParkedCommand {
    /// Lists them.
    List {
        /// Tables or JSON.
        #[command(flatten)]
        output: Output,
    },
    /// Runs the saga on one again.
    Retry {
        /// The event's position.
        position: u64,
    },
    /// Drops one without running the saga on it.
    Skip {
        /// The event's position.
        position: u64,
    },
}

/// A duration as a number and a unit: `90s`, `10m`, `2h`, `1d` (a bare
/// number is seconds).
///
/// # Errors
/// A message naming the value, when it is not one.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: the unit must be s, m, h or d (like 10m)"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per))
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is not a positive duration (like 90s, 10m, 2h or 1d)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_argument_is_checked() {
        use clap::Parser;
        for args in [
            &["account", "open", "\n", "--owner", "x"][..],
            &["account", "deposit", "\n", "1"],
            &["account", "freeze", "\n"],
            &["account", "close", "\n"],
            &["account", "show", "\n"],
            &["transfer", "start", "\n", "bob", "1"],
            &["transfer", "start", "alice", "\n", "1"],
            &["transfer", "start", "alice", "bob", "1", "--id", "\n"],
            &["transfer", "show", "\n"],
            &["forget", "\n"],
            &["events", "--aggregate", "\n"],
        ] {
            let error = Cli::try_parse_from(std::iter::once("sagas").chain(args.iter().copied()))
                .expect_err(&format!("{args:?} is refused"));
            assert!(
                error.to_string().contains(r#"invalid aggregate id "\n""#),
                "{args:?}: {error}"
            );
        }
    }

    #[test]
    fn amounts_are_parsed_as_money_and_bad_ones_are_named() {
        use clap::Parser;
        let cli = Cli::try_parse_from(["sagas", "account", "deposit", "ada", "12.5"])
            .expect("a valid amount");
        assert!(
            matches!(
                cli.command,
                Command::Account {
                    command: AccountCommand::Deposit {
                        amount: Money(1_250),
                        ..
                    },
                    ..
                }
            ),
            "{cli:?}"
        );
        let error = Cli::try_parse_from(["sagas", "account", "deposit", "ada", "1.234"])
            .expect_err("three decimals are refused");
        assert!(
            error
                .to_string()
                .contains(r#""1.234" is not an amount like 100 or 12.50"#),
            "{error}"
        );
    }

    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "0s", "10 minutes", "-5m", "99999999999999999999d"] {
            let error = parse_duration(bad).expect_err(bad);
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }
}
