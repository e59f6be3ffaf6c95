//! The `kmm` command line.

use clap::{Parser, Subcommand};

use crate::kmm::amount::Amount;
use crate::kmm::period::Period;
use crate::kmm::protocol::DEFAULT_ROOT;

/// The kids' money manager: parents deposit money for kids and set a
/// spending budget per period; kids withdraw within it.
///
/// Run the server with `kmm serve`, then the other commands talk to it
/// over NATS. Exit codes: 0 done, 1 refused (nothing written), 2 bad
/// command line, 3 no NATS, no server, or a server that failed.
#[derive(Debug, Parser)]
#[command(name = "kmm", version)]
pub(super) struct Cli {
    /// The NATS server.
    #[arg(
        long,
        global = true,
        env = "KMM_NATS",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub(super) nats: String,
    /// The subjects' first token: `<root>.services.<command>`,
    /// `<root>.streams.ledger.<account>`.
    #[arg(long, global = true, env = "KMM_ROOT", default_value = DEFAULT_ROOT, value_parser = subject_token)]
    pub(super) root: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(super) json: bool,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run the server: the commands as NATS services, and the ledger
    /// publisher.
    Serve {
        /// The store: `nats` (JetStream on the --nats server, the
        /// default), `nats://HOST:PORT`, `postgres://...` or `memory`.
        #[arg(long, env = "KMM_STORE", default_value = "nats")]
        store: String,
        /// The JetStream stream (also its subjects' prefix).
        #[arg(long, default_value = "KMM", value_parser = subject_token)]
        stream: String,
        /// The PostgreSQL schema.
        #[arg(long, default_value = "kmm")]
        schema: String,
        /// How long a request waits for the store, in seconds.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=9))]
        store_timeout: u64,
        /// Start the server's clock at this time (RFC 3339) and let it run
        /// from there: for demos and tests.
        #[arg(long)]
        clock_start: Option<jiff::Timestamp>,
    },
    /// Put money in an account; the first deposit opens it.
    Deposit(MoveArgs),
    /// Take money out, within the balance and the budget.
    Withdraw(MoveArgs),
    /// Set or change the budget: at most MAX withdrawn per PERIOD.
    SetBudget {
        /// The account.
        account: String,
        /// The most per period.
        max: Amount,
        /// minutely, daily, weekly (from Monday) or monthly.
        period: Period,
        /// The time zone whose calendar cuts the periods.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Apply the request once however often it is sent.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Remove the budget.
    RemoveBudget {
        /// The account.
        account: String,
        /// Apply the request once however often it is sent.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Print the balance.
    Balance {
        /// The account.
        account: String,
    },
    /// Print the last budget period that had a withdrawal.
    LastBudgetPeriod {
        /// The account.
        account: String,
    },
    /// Print the deposits and withdrawals.
    Ledger {
        /// The account.
        account: String,
        /// Keep printing new entries as they commit, until interrupted.
        #[arg(long)]
        follow: bool,
    },
}

/// What `deposit` and `withdraw` take.
#[derive(Debug, clap::Args)]
pub(super) struct MoveArgs {
    /// The account: 1 to 64 letters, digits, - or _.
    pub(super) account: String,
    /// The amount, with at most two decimals: 20, 7.50.
    pub(super) amount: Amount,
    /// What for (after `--` when it starts with `-`).
    pub(super) description: Vec<String>,
    /// Apply the request once however often it is sent (1 to 64 letters,
    /// digits, - or _; a fresh one when not given).
    #[arg(long)]
    pub(super) request_id: Option<String>,
}

/// A token of a NATS subject: letters, digits, `-` and `_`.
fn subject_token(text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a subject token: expected letters, digits, - or _"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The description and the request id of a parsed deposit or
    /// withdrawal.
    fn described(args: &[&str]) -> (Vec<String>, Option<String>) {
        let cli = Cli::try_parse_from(args).expect("a command line");
        match cli.command {
            Command::Deposit(args) | Command::Withdraw(args) => (args.description, args.request_id),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_id_after_the_description_is_a_request_id() {
        // were it taken into the description, a retry would apply twice
        for command in ["deposit", "withdraw"] {
            assert_eq!(
                described(&[
                    "kmm",
                    command,
                    "ada",
                    "10",
                    "pocket",
                    "money",
                    "--request-id",
                    "r1"
                ]),
                (
                    vec!["pocket".to_owned(), "money".to_owned()],
                    Some("r1".to_owned())
                ),
                "{command}"
            );
            assert_eq!(
                described(&["kmm", command, "ada", "10", "--request-id", "r1", "pocket"]),
                (vec!["pocket".to_owned()], Some("r1".to_owned())),
                "{command}"
            );
            // a description that looks like an option comes after --
            assert_eq!(
                described(&["kmm", command, "ada", "10", "--", "--request-id", "r1"]),
                (vec!["--request-id".to_owned(), "r1".to_owned()], None),
                "{command}"
            );
        }
    }
}
