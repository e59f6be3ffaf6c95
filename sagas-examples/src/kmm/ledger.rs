//! The ledger: an account's deposits and withdrawals, read a page at a
//! time from the store, and published as they commit by the
//! [`LedgerPublisher`] reactor.

use async_nats::Client;
use eventstore_core::reactor::{HandlerError, Reactor};
use eventstore_core::{EventFilter, EventStore, RecordedEvent};

use super::account::{KidAccount, KidAccountEvent};
use super::protocol::{LEDGER_PAGE, LedgerEntry, LedgerReply, ledger_subject};
use eventstore_core::Aggregate;

/// The ledger entry an event makes, if it moves money.
#[must_use]
pub fn entry_of(account: &str, version: u64, event: &KidAccountEvent) -> Option<LedgerEntry> {
    let (change, at, description) = match event {
        KidAccountEvent::Deposited(e) => (signed(e.amount.0), e.at, &e.description),
        KidAccountEvent::Withdrawn(e) => (-signed(e.amount.0), e.at, &e.description),
        KidAccountEvent::BudgetSet(_) | KidAccountEvent::BudgetRemoved(_) => return None,
    };
    Some(LedgerEntry {
        account: account.to_owned(),
        version,
        change,
        at,
        description: description.clone(),
    })
}

/// Cents as a change of balance (no account holds more than `i64::MAX`
/// cents: [`KidAccount::deposit`] refuses to go past
/// [`MAX_BALANCE`](super::account::MAX_BALANCE), so no change is beyond
/// `i64`).
fn signed(cents: u64) -> i64 {
    i64::try_from(cents).unwrap_or(i64::MAX)
}

/// The ledger entries of `account` with a version above `after`: those of
/// the next [`LEDGER_PAGE`] events at most.
///
/// # Errors
/// The store's, and a stored event that does not decode.
pub async fn page<S: EventStore>(
    store: &S,
    account: &str,
    after: u64,
) -> eventstore_core::Result<LedgerReply> {
    let events = store
        .load_page(KidAccount::KIND, account, after, LEDGER_PAGE)
        .await?;
    let mut entries = Vec::new();
    for event in &events {
        let decoded = event.decode::<KidAccountEvent>(KidAccount::KIND, account)?;
        entries.extend(entry_of(account, event.version, &decoded));
    }
    let more_after = match events.last() {
        Some(last) if events.len() == LEDGER_PAGE => Some(last.version),
        _ => None,
    };
    Ok(LedgerReply {
        entries,
        more_after,
    })
}

/// Publishes each committed deposit and withdrawal on
/// `<root>.streams.ledger.<account>`, at least once and in each account's
/// order: after a crash the runner publishes again what it had not
/// checkpointed, and followers drop what they saw by its version.
#[derive(Debug)]
pub struct LedgerPublisher {
    nats: Client,
    root: String,
}

impl LedgerPublisher {
    /// Publishes with `nats` under `root`.
    #[must_use]
    pub fn new(nats: Client, root: impl Into<String>) -> Self {
        Self {
            nats,
            root: root.into(),
        }
    }
}

impl Reactor for LedgerPublisher {
    fn name(&self) -> &str {
        "kmm-ledger"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate::<KidAccount>()
    }

    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        let decoded = event.decode::<KidAccountEvent>()?;
        let Some(entry) = entry_of(&event.aggregate_id, event.version, &decoded) else {
            return Ok(());
        };
        let subject = ledger_subject(&self.root, &entry.account);
        self.nats
            .publish(subject, serde_json::to_vec(&entry)?.into())
            .await?;
        // the checkpoint moves on only once the server has the entry
        self.nats.flush().await?;
        Ok(())
    }
}
