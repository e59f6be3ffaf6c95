//! What the `kmm` commands print: a line or a few for people, JSON with
//! `--json`.

use jiff::Timestamp;
use serde::Serialize;

use crate::kmm::account::PeriodSummary;
use crate::kmm::amount::{Amount, signed};
use crate::kmm::period::Period;
use crate::kmm::protocol::{Done, LedgerEntry};

/// Prints `value` as one line of JSON.
pub(super) fn json<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: cannot print JSON: {error}"),
    }
}

/// What a command did, in words.
pub(super) fn done(what: &str, done: &Done, id: &str) {
    if done.already_applied {
        println!(
            "request {id} was already applied: nothing done again; the balance of {} is {}",
            done.account, done.balance
        );
    } else {
        println!(
            "{what}; the balance of {} is {}",
            done.account, done.balance
        );
    }
}

/// How a budget reads: `at most 10 a day (UTC)`, `at most 40 a week from
/// Monday (Europe/Berlin)`.
pub(super) fn budget(max: Amount, period: Period, time_zone: &str) -> String {
    let per = match period {
        Period::Minutely => "a minute",
        Period::Daily => "a day",
        Period::Weekly => "a week from Monday",
        Period::Monthly => "a month",
    };
    format!("at most {max} {per} ({time_zone})")
}

/// The four lines of `last-budget-period`.
pub(super) fn period(summary: Option<&PeriodSummary>) {
    match summary {
        Some(summary) => {
            println!("period start: {}", summary.period_start);
            println!("period end: {}", summary.period_end);
            println!("withdrawals: {}", summary.withdrawals);
            println!("total withdrawn: {}", summary.total_withdrawn);
        }
        None => println!("no withdrawal yet"),
    }
}

/// One ledger line: `+20 | 2026-11-29T10:00:00Z | grass mowing`.
pub(super) fn entry(entry: &LedgerEntry, as_json: bool) {
    if as_json {
        json(entry);
        return;
    }
    let at = Timestamp::from_second(entry.at.as_second()).unwrap_or(entry.at);
    if entry.description.is_empty() {
        println!("{} | {at}", signed(entry.change));
    } else {
        println!("{} | {at} | {}", signed(entry.change), entry.description);
    }
}
