//! `cargo run --release -- [case] [writers] [--json]`: commands per second
//! of this project against its Rust peers, cqrs-es (postgres-es) and
//! disintegrate (disintegrate-postgres), and against plain sqlx, on the
//! same one-event counter aggregate, in one run, alternating the systems.
//! See README.md for what is measured and how each system is set up.

mod case;
mod measure;
mod report;
mod systems;

use std::time::Duration;

use case::Case;
use measure::Plan;
use report::Measured;
use systems::{Kind, MAX_CONNECTIONS, Setup};

/// The bench's error: every failure ends the run with its message.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;
/// The bench's result.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const WRITERS: [usize; 3] = [1, 4, 16];
const USAGE: &str = "usage: peers [a|b|c|new|hundred|growing|all] [WRITERS,...] [--json]
environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
  ROUNDS (default 3), SECS (timed seconds per cell, default 8),
  POOL (case b: prepared aggregates per writer, default 100),
  PEER_PING (1: the peers' pools ping before every acquire, sqlx's default
  and their documentation's; 0: they do not, as this project's pool; default 1)";

/// What to run, from the command line and the environment.
#[derive(Debug)]
struct Config {
    url: String,
    cases: Vec<Case>,
    writers: Vec<usize>,
    rounds: u32,
    secs: f64,
    per_writer: u64,
    peer_ping: bool,
    json: bool,
}

impl Config {
    fn from_env() -> Result<Self> {
        let mut cases = Case::ALL.to_vec();
        let mut writers = WRITERS.to_vec();
        let mut json = false;
        let mut positional = 0;
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--json" => json = true,
                "-h" | "--help" => return Err(USAGE.into()),
                "all" if positional == 0 => positional += 1,
                _ if positional == 0 => {
                    cases = vec![arg.parse()?];
                    positional += 1;
                }
                _ if positional == 1 => {
                    writers = arg
                        .split(',')
                        .map(|w| match w.parse::<usize>() {
                            Ok(n) if (1..=MAX_CONNECTIONS as usize).contains(&n) => Ok(n),
                            _ => Err(format!(
                                "writers must be 1 to {MAX_CONNECTIONS} (the connections of \
                                 every pool), not {w:?}"
                            )),
                        })
                        .collect::<Result<_, _>>()?;
                    positional += 1;
                }
                other => return Err(format!("unexpected argument {other:?}\n{USAGE}").into()),
            }
        }
        Ok(Self {
            url: std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned()),
            cases,
            writers,
            rounds: env_number("ROUNDS", 3, 1..=100)?,
            secs: env_number("SECS", 8.0, 0.1..=600.0)?,
            per_writer: env_number("POOL", 100, 1..=100_000)?,
            peer_ping: env_number("PEER_PING", 1, 0..=1)? == 1,
            json,
        })
    }
}

/// The variable `name` as a number in `range`, or `default` when unset.
fn env_number<T>(name: &str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Ok(text) = std::env::var(name) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(format!(
            "{name}={text:?}: expected a number from {} to {}",
            range.start(),
            range.end()
        )
        .into()),
    }
}

fn main() {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(error) = runtime.block_on(run(&config)) {
        eprintln!("peers: {error}");
        std::process::exit(1);
    }
}

async fn run(config: &Config) -> Result<()> {
    let setup = Setup::connect(&config.url, config.peer_ping).await?;
    let (version, sync): (String, String) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('synchronous_commit')",
    )
    .fetch_one(&setup.admin)
    .await?;
    let cells =
        config.rounds as usize * config.cases.len() * config.writers.len() * Kind::ALL.len();
    eprintln!(
        "PostgreSQL {version} at {}, synchronous_commit={sync}, {} cores; {cells} cells of {} s \
         timed (plus set-up, preparation and case b's resets); peers' pools ping before acquire: {}",
        config.url,
        std::thread::available_parallelism().map_or(1, usize::from),
        config.secs,
        if config.peer_ping {
            "yes (sqlx's default)"
        } else {
            "no (PEER_PING=0)"
        },
    );
    let mut measured = Vec::with_capacity(cells);
    for round in 1..=config.rounds {
        for &case in &config.cases {
            for (n, &writers) in config.writers.iter().enumerate() {
                // Alternate: each cell of a round starts with another system.
                let mut order = Kind::ALL;
                order.rotate_left((round as usize + n) % Kind::ALL.len());
                for system in order {
                    let plan = Plan {
                        case,
                        writers,
                        timed: Duration::from_secs_f64(config.secs),
                        per_writer: config.per_writer,
                    };
                    let tally = measure::cell(&setup, system, plan)
                        .await
                        .map_err(|e| format!("{system}, case {case}, {writers} writers: {e}"))?;
                    eprintln!(
                        "round {round}/{} case {case:<8} {writers:>2} writer(s)  {:<13} {:>9.0} cmd/s \
                         ({} commands in {:.1} s{}{})",
                        config.rounds,
                        system.to_string(),
                        tally.per_second(),
                        tally.done,
                        tally.secs,
                        if tally.batches > 0 {
                            format!(", {} batches", tally.batches)
                        } else {
                            String::new()
                        },
                        if tally.retried + tally.gave_up > 0 {
                            format!(", {} retried, {} given up", tally.retried, tally.gave_up)
                        } else {
                            String::new()
                        },
                    );
                    measured.push(Measured {
                        round,
                        case,
                        writers,
                        system,
                        tally,
                    });
                }
            }
        }
    }
    setup.drop_schemas().await?;
    let rows = report::rows(&measured, &config.cases, &config.writers);
    if config.json {
        let json = serde_json::json!({ "cells": measured, "rows": rows });
        println!("{json:#}");
    } else {
        report::print_tables(&rows, config.rounds, config.secs);
    }
    Ok(())
}
