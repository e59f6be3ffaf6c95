//! The `kmm` program: `kmm serve` runs the server; every other command is
//! a client of it.

mod args;
mod serve;
mod show;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, MoveArgs};

use super::account::PeriodSummary;
use super::client::{ClientError, KmmClient};
use super::period::zone;
use super::protocol::{
    Balance, Done, LedgerPage, LedgerReply, MoveMoney, OfAccount, SetBudget, check_account,
    check_request_id,
};

/// Why the program stopped short.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// A value on the command line that cannot be sent: exit 2.
    #[error("{0}")]
    Usage(String),
    /// A request that went wrong: exit 1 when refused, 3 otherwise.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A command whose outcome is unknown (a timeout, a failed server):
    /// exit 3, saying how to retry it safely.
    #[error(
        "{error}; the {command} may have been applied: to apply it at most once, run the same \
         command again with --request-id {request_id}"
    )]
    Uncertain {
        /// The command.
        command: &'static str,
        /// What went wrong.
        error: ClientError,
        /// The request id it was sent with.
        request_id: String,
    },
    /// The server could not run: exit 3.
    #[error("{0}")]
    Serve(String),
}

/// Sends a command, under `request_id`: a refusal is the server's answer,
/// and no server heard one NATS had no responders for; anything else but a
/// reply leaves its outcome unknown.
async fn send<Q: serde::Serialize>(
    client: &KmmClient,
    command: &'static str,
    request: &Q,
    request_id: &str,
) -> Result<Done, Failure> {
    client
        .call(command, request)
        .await
        .map_err(|error| match error {
            // refused, or heard by no server: not applied
            certain @ (ClientError::Refused { .. } | ClientError::NotRunning { .. }) => {
                Failure::Client(certain)
            }
            error => Failure::Uncertain {
                command,
                error,
                request_id: request_id.to_owned(),
            },
        })
}

/// The request id to send a command with: the one given, or a fresh one,
/// so that a command whose reply is lost can be sent again and applied
/// once.
fn or_fresh(request_id: Option<String>) -> String {
    request_id.unwrap_or_else(|| eventstore_core::EventId::new().to_string())
}

/// The `kmm` program: parses the command line, logs to stderr
/// (`RUST_LOG`, default `warn`), runs the command and prints a failure as
/// one line on stderr. It exits with 0 when done, 1 when the server
/// refused the request (nothing written), 2 for a bad command line, and 3
/// when NATS or the server cannot be reached or failed.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     sagas_examples::kmm::run_program()
/// }
/// ```
#[must_use]
pub fn run_program() -> ExitCode {
    let Some(runtime) = crate::program::start() else {
        return ExitCode::from(3);
    };
    let cli = Cli::parse();
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(match failure {
                Failure::Client(ClientError::Refused { .. }) => 1,
                Failure::Usage(_) => 2,
                Failure::Client(_) | Failure::Uncertain { .. } | Failure::Serve(_) => 3,
            })
        }
    }
}

/// Runs a command line.
async fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    let command = match cli.command {
        Command::Serve {
            store,
            stream,
            schema,
            store_timeout,
            clock_start,
        } => {
            let store = serve::StoreChoice::parse(&store, &cli.nats, &stream, &schema)
                .map_err(Failure::Usage)?;
            return serve::run(&cli.nats, &cli.root, store, store_timeout, clock_start).await;
        }
        command => command,
    };
    let client = KmmClient::connect(&cli.nats, &cli.root).await?;
    match command {
        Command::Serve { .. } => unreachable!("served above"),
        Command::Deposit(args) => move_money(&client, "deposit", args, json).await,
        Command::Withdraw(args) => move_money(&client, "withdraw", args, json).await,
        Command::SetBudget {
            account,
            max,
            period,
            time_zone,
            request_id,
        } => {
            checked(&account, request_id.as_deref())?;
            zone(&time_zone).map_err(|e| Failure::Usage(e.to_string()))?;
            let id = or_fresh(request_id);
            let request = SetBudget {
                account,
                max,
                period,
                time_zone,
                request_id: Some(id.clone()),
            };
            let done = send(&client, "set-budget", &request, &id).await?;
            let what = format!(
                "{} may withdraw {}",
                done.account,
                show::budget(max, period, &request.time_zone)
            );
            print_done(json, &what, &done, &id);
            Ok(())
        }
        Command::RemoveBudget {
            account,
            request_id,
        } => {
            checked(&account, request_id.as_deref())?;
            let id = or_fresh(request_id);
            let request = OfAccount {
                account,
                request_id: Some(id.clone()),
            };
            let done = send(&client, "remove-budget", &request, &id).await?;
            let what = format!("{} has no budget now", done.account);
            print_done(json, &what, &done, &id);
            Ok(())
        }
        Command::Balance { account } => {
            let balance: Balance = client.call("balance", &query(account)?).await?;
            if json {
                show::json(&balance);
            } else {
                println!("{}", balance.balance);
            }
            Ok(())
        }
        Command::LastBudgetPeriod { account } => {
            let summary: Option<PeriodSummary> =
                client.call("last-budget-period", &query(account)?).await?;
            if json {
                show::json(&summary);
            } else {
                show::period(summary.as_ref());
            }
            Ok(())
        }
        Command::Ledger { account, follow } => {
            checked(&account, None)?;
            if follow {
                follow_ledger(&client, &account, json).await
            } else {
                print_ledger(&client, &account, 0, json).await.map(|_| ())
            }
        }
    }
}

fn checked(account: &str, request_id: Option<&str>) -> Result<(), Failure> {
    check_account(account).map_err(Failure::Usage)?;
    if let Some(id) = request_id {
        check_request_id(id).map_err(Failure::Usage)?;
    }
    Ok(())
}

/// The request of a query about `account`, checked.
fn query(account: String) -> Result<OfAccount, Failure> {
    checked(&account, None)?;
    Ok(OfAccount {
        account,
        request_id: None,
    })
}

/// Runs `deposit` or `withdraw`.
async fn move_money(
    client: &KmmClient,
    command: &'static str,
    args: MoveArgs,
    json: bool,
) -> Result<(), Failure> {
    checked(&args.account, args.request_id.as_deref())?;
    let request_id = or_fresh(args.request_id);
    let request = MoveMoney {
        account: args.account,
        amount: args.amount,
        description: args.description.join(" "),
        request_id: Some(request_id.clone()),
    };
    let done = send(client, command, &request, &request_id).await?;
    let what = if command == "deposit" {
        format!("deposited {} to {}", request.amount, done.account)
    } else {
        format!("withdrew {} from {}", request.amount, done.account)
    };
    print_done(json, &what, &done, &request_id);
    Ok(())
}

fn print_done(json: bool, what: &str, done: &Done, request_id: &str) {
    if json {
        show::json(done);
    } else {
        show::done(what, done, request_id);
    }
}

/// Prints the ledger entries after version `after`, every page of them;
/// returns the last version read.
async fn print_ledger(
    client: &KmmClient,
    account: &str,
    mut after: u64,
    json: bool,
) -> Result<u64, Failure> {
    loop {
        let request = LedgerPage {
            account: account.to_owned(),
            after,
        };
        let reply: LedgerReply = client.call("ledger", &request).await?;
        for entry in &reply.entries {
            show::entry(entry, json);
            after = after.max(entry.version);
        }
        // the next page is after the last event read, which is the last
        // entry printed when the page ends with one: compared with the
        // version asked after, not with it
        match reply.more_after {
            Some(next) if next > request.after => after = after.max(next),
            _ => return Ok(after),
        }
    }
}

/// Prints the ledger, then each new entry as it is published, until
/// interrupted. The subscription starts before the history is read; an
/// entry seen twice (published again after a server crash, or read in the
/// history too) is printed once, and an entry whose version skips some is
/// preceded by the history read again from the last one printed, so that
/// no entry a later one follows is missed.
async fn follow_ledger(client: &KmmClient, account: &str, json: bool) -> Result<(), Failure> {
    use futures_util::StreamExt;

    let mut live = client.subscribe_ledger(account).await?;
    let mut last = print_ledger(client, account, 0, json).await?;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            message = live.next() => {
                let Some(message) = message else {
                    return Err(ClientError::Nats("the ledger subscription ended".to_owned()).into());
                };
                let entry: super::protocol::LedgerEntry = match serde_json::from_slice(&message.payload) {
                    Ok(entry) => entry,
                    Err(error) => {
                        // someone else's message on the subject: not the server's
                        eprintln!("warning: passed over a message that is no ledger entry: {error}");
                        continue;
                    }
                };
                if entry.version <= last {
                    continue;
                }
                if entry.version == last + 1 {
                    show::entry(&entry, json);
                    last = entry.version;
                } else {
                    last = print_ledger(client, account, last, json).await?;
                }
            }
        }
    }
}
