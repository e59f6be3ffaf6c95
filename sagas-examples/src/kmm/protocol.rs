//! What the client and the server say to each other: JSON requests on
//! `<root>.services.<command>`, JSON replies, refusals as NATS service
//! errors, and ledger entries on `<root>.streams.ledger.<account>`.
//!
//! The root is `kmm` unless both sides are told otherwise (`--root`), so
//! that two kmm applications can share a NATS server.

use serde::{Deserialize, Serialize};

use super::amount::Amount;
use super::period::Period;

/// The subjects' first token unless told otherwise.
pub const DEFAULT_ROOT: &str = "kmm";

/// The header that carries the kind of an error reply, beside the NATS
/// service API's `Nats-Service-Error` (the message) and
/// `Nats-Service-Error-Code` (400 for a refusal, 503 for a store that did
/// not answer, 500 otherwise).
pub const ERROR_KIND_HEADER: &str = "Kmm-Error";

/// The commands and queries the server answers, each on
/// `<root>.services.<name>`.
pub const ENDPOINTS: [&str; 7] = [
    "deposit",
    "withdraw",
    "set-budget",
    "remove-budget",
    "balance",
    "last-budget-period",
    "ledger",
];

/// The subject of one endpoint.
///
/// ```
/// assert_eq!(sagas_examples::kmm::protocol::service_subject("kmm", "deposit"), "kmm.services.deposit");
/// ```
#[must_use]
pub fn service_subject(root: &str, endpoint: &str) -> String {
    format!("{root}.services.{endpoint}")
}

/// The subject an account's ledger entries are published on.
///
/// ```
/// assert_eq!(sagas_examples::kmm::protocol::ledger_subject("kmm", "ada"), "kmm.streams.ledger.ada");
/// ```
#[must_use]
pub fn ledger_subject(root: &str, account: &str) -> String {
    format!("{root}.streams.ledger.{account}")
}

/// A request to `deposit` or `withdraw`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MoveMoney {
    /// The account.
    pub account: String,
    /// How much, in cents.
    pub amount: Amount,
    /// What for.
    #[serde(default)]
    pub description: String,
    /// Makes a retried request apply once (see [`check_request_id`]).
    #[serde(default)]
    pub request_id: Option<String>,
}

/// A request to `set-budget`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SetBudget {
    /// The account.
    pub account: String,
    /// The most per period, in cents.
    pub max: Amount,
    /// How long a period is.
    pub period: Period,
    /// The IANA time zone whose calendar cuts the periods.
    pub time_zone: String,
    /// Makes a retried request apply once.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// A request that names an account only: `remove-budget`, `balance`,
/// `last-budget-period`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct OfAccount {
    /// The account.
    pub account: String,
    /// Makes a retried `remove-budget` apply once.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// A request for a page of an account's ledger.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LedgerPage {
    /// The account.
    pub account: String,
    /// Entries of a version above this one (0: from the start).
    #[serde(default)]
    pub after: u64,
}

/// The reply to a command: the account after it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// The account.
    pub account: String,
    /// Its balance, in cents.
    pub balance: Amount,
    /// Whether the request id had been used by a request that was done:
    /// nothing was applied this time.
    pub already_applied: bool,
}

/// The reply to `balance`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// The account.
    pub account: String,
    /// Its balance, in cents.
    pub balance: Amount,
}

/// One deposit or withdrawal, as the ledger shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The account.
    pub account: String,
    /// The account's version after it: entries of one account are
    /// ordered by it, and a follower uses it to drop repeats and fill gaps.
    pub version: u64,
    /// The change of balance, in cents: positive for a deposit.
    pub change: i64,
    /// When, by the server's clock (RFC 3339, UTC).
    pub at: jiff::Timestamp,
    /// What for.
    pub description: String,
}

/// The reply to `ledger`: the entries after the requested version, at most
/// [`LEDGER_PAGE`] of them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LedgerReply {
    /// The entries, by version.
    pub entries: Vec<LedgerEntry>,
    /// The version the next page starts after, when there may be more.
    pub more_after: Option<u64>,
}

/// The most events the server reads for one `ledger` reply.
pub const LEDGER_PAGE: usize = 500;

/// Whether `id` is a request id: 1 to 64 letters, digits, `-` or `_`. A
/// command sent again with the same id (a retry after a timeout) is
/// applied once, and answers as it did the first time.
///
/// ```
/// use sagas_examples::kmm::protocol::check_request_id;
/// assert!(check_request_id("pay-2026-11-29").is_ok());
/// assert_eq!(
///     check_request_id("a b").unwrap_err(),
///     r#""a b" is not a request id: expected 1 to 64 letters, digits, - or _"#
/// );
/// ```
///
/// # Errors
/// A message naming `id`.
pub fn check_request_id(id: &str) -> Result<(), String> {
    if well_formed(id) {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a request id: expected 1 to 64 letters, digits, - or _"
        ))
    }
}

/// Whether `account` can name an account: 1 to 64 letters, digits, `-` or
/// `_` (it is a token of the ledger's subject).
///
/// ```
/// use sagas_examples::kmm::protocol::check_account;
/// assert!(check_account("ada").is_ok());
/// assert_eq!(
///     check_account("ada.lovelace").unwrap_err(),
///     r#""ada.lovelace" is not an account name: expected 1 to 64 letters, digits, - or _"#
/// );
/// ```
///
/// # Errors
/// A message naming `account`.
pub fn check_account(account: &str) -> Result<(), String> {
    if well_formed(account) {
        Ok(())
    } else {
        Err(format!(
            "{account:?} is not an account name: expected 1 to 64 letters, digits, - or _"
        ))
    }
}

fn well_formed(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
