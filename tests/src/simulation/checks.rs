//! The checks of one schedule once it has settled, computed from the
//! stored events alone.

use std::collections::BTreeMap;
use std::fmt;

use eventstore_core::{Aggregate, MemoryStore};
use sagas_examples::account::{Account, AccountEvent};
use sagas_examples::transfer::{Transfer, TransferEvent, TransferStatus};

use super::world::PlannedTransfer;
use crate::books::Effects;

/// A check that a schedule failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The accounts hold more than was opened with and arrived.
    MoneyCreated {
        /// What came into the world.
        expected: u64,
        /// What the accounts hold.
        found: u64,
    },
    /// The accounts hold less than was opened with and arrived.
    MoneyDestroyed {
        /// What came into the world.
        expected: u64,
        /// What the accounts hold.
        found: u64,
    },
    /// A transfer is neither completed nor failed once the faults stopped
    /// and every event was delivered.
    Unsettled {
        /// The transfer's id.
        transfer: String,
        /// Where it stopped.
        status: TransferStatus,
    },
    /// The account events of a settled transfer are not what its final
    /// state says.
    WrongEffects {
        /// The transfer's id.
        transfer: String,
        /// Its final state.
        status: TransferStatus,
        /// What the account events say it did.
        found: Effects,
        /// What its final state says it did.
        expected: Effects,
    },
    /// Deliveries were still running, or events undelivered, after this
    /// many steps.
    NoProgress {
        /// The steps run.
        steps: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MoneyCreated { expected, found } => write!(
                f,
                "money created: the accounts hold {found}, {expected} came in"
            ),
            Self::MoneyDestroyed { expected, found } => write!(
                f,
                "money destroyed: the accounts hold {found}, {expected} came in"
            ),
            Self::Unsettled { transfer, status } => {
                write!(f, "{transfer} did not settle: it is {status}")
            }
            Self::WrongEffects {
                transfer,
                status,
                found,
                expected,
            } => write!(
                f,
                "{transfer} is {status}, with {found} on the accounts; expected {expected}"
            ),
            Self::NoProgress { steps } => {
                write!(f, "deliveries had not finished after {steps} steps")
            }
        }
    }
}

/// Checks the books of `store`: the accounts hold `came_in`, every
/// transfer settled, and the account events of each say what its final
/// state says.
pub(crate) fn check(
    store: &MemoryStore,
    transfers: &[PlannedTransfer],
    came_in: u64,
) -> Vec<Violation> {
    let mut accounts = BTreeMap::<String, Account>::new();
    let mut states = BTreeMap::<String, Transfer>::new();
    let mut account_events = Vec::new();
    for recorded in store.all_events() {
        let id = recorded.aggregate_id.clone();
        if recorded.aggregate_kind == Account::KIND {
            let event: AccountEvent = recorded.decode().expect("an account event");
            accounts.entry(id).or_default().apply(&event);
            account_events.push(event);
        } else if recorded.aggregate_kind == Transfer::KIND {
            let event: TransferEvent = recorded.decode().expect("a transfer event");
            states.entry(id).or_default().apply(&event);
        }
    }
    let mut violations = Vec::new();
    let found: u64 = accounts.values().map(|a| a.balance).sum();
    if found > came_in {
        violations.push(Violation::MoneyCreated {
            expected: came_in,
            found,
        });
    } else if found < came_in {
        violations.push(Violation::MoneyDestroyed {
            expected: came_in,
            found,
        });
    }
    let effects = Effects::tally(account_events);
    for PlannedTransfer { id, .. } in transfers {
        let status = states.get(id).map(|t| t.status).unwrap_or_default();
        let Some(expected) = Effects::expected(status) else {
            violations.push(Violation::Unsettled {
                transfer: id.clone(),
                status,
            });
            continue;
        };
        let found = effects.get(id).copied().unwrap_or_default();
        if found != expected {
            violations.push(Violation::WrongEffects {
                transfer: id.clone(),
                status,
                found,
                expected,
            });
        }
    }
    violations
}
