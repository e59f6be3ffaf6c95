//! The kid's account: deposits, withdrawals within the balance and within
//! the budget of the current period.
//!
//! Every command takes the time it runs at (`now`), from the server's
//! injected clock, so that tests move across period boundaries without
//! sleeping. A budget counts the withdrawals made in the period that holds
//! `now`, as the budget cuts periods: changing the budget takes effect at
//! once, counting the withdrawals already made in the new period (nothing
//! withdrawn is undone; a maximum lowered below them refuses withdrawals
//! until the next period).

use eventstore_core::{Aggregate, Event};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::amount::Amount;
use super::period::{Period, Window, zone};

/// The longest a description may be, in characters.
pub const MAX_DESCRIPTION: usize = 200;

/// The largest balance, in cents: the ledger shows a change as an `i64`.
pub const MAX_BALANCE: u64 = i64::MAX.unsigned_abs();

/// How far back before its latest withdrawal an account keeps its
/// withdrawals: longer than any period (a month of 31 days, and an hour
/// the clocks may add), so that every period still open is counted whole.
const KEPT_WITHDRAWALS: SignedDuration = SignedDuration::from_hours(32 * 24);

/// Money came in.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Deposited {
    /// How much, in cents.
    pub amount: Amount,
    /// What for (may be empty).
    pub description: String,
    /// When, by the server's clock.
    pub at: Timestamp,
}

/// Money went out.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Withdrawn {
    /// How much, in cents.
    pub amount: Amount,
    /// What for (may be empty).
    pub description: String,
    /// When, by the server's clock.
    pub at: Timestamp,
}

/// A budget was set, or changed: it applies from now on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BudgetSet {
    /// The most that may be withdrawn in one period, in cents.
    pub max: Amount,
    /// How long a period is.
    pub period: Period,
    /// The IANA name of the time zone whose calendar cuts the periods.
    pub time_zone: String,
}

/// The budget was removed: withdrawals are limited by the balance only.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BudgetRemoved {}

/// Everything that happens to a kid's account.
#[derive(Event, Clone, Debug, PartialEq, Eq)]
pub enum KidAccountEvent {
    /// See [`Deposited`].
    Deposited(Deposited),
    /// See [`Withdrawn`].
    Withdrawn(Withdrawn),
    /// See [`BudgetSet`].
    BudgetSet(BudgetSet),
    /// See [`BudgetRemoved`].
    BudgetRemoved(BudgetRemoved),
}

/// A budget: at most `max` withdrawn per period.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most per period, in cents.
    pub max: Amount,
    /// How long a period is.
    pub period: Period,
    /// The time zone whose calendar cuts the periods.
    pub time_zone: String,
}

impl Budget {
    /// The period that holds `at`.
    fn window(&self, at: Timestamp) -> Result<Window, KmmError> {
        let zone = zone(&self.time_zone).map_err(|e| KmmError::UnknownZone(e.0))?;
        self.period
            .window(at, &zone)
            .map_err(|_| KmmError::OutOfRange(at.to_string()))
    }
}

/// One withdrawal, as a budget counts it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spent {
    /// How much, in cents.
    pub amount: Amount,
    /// When.
    pub at: Timestamp,
}

/// A kid's account.
///
/// ```
/// use eventstore_core::{MemoryStore, Options, Repository};
/// use sagas_examples::kmm::{Amount, KidAccount, KmmError, Period};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let repo = Repository::new(MemoryStore::new());
/// let now: jiff::Timestamp = "2026-11-29T10:00:00Z".parse()?;
/// repo.execute("ada", Options::default(), |a: &KidAccount| a.deposit(Amount(20_00), "grass mowing", now)).await?.into_result()?;
/// repo.execute("ada", Options::default(), |a: &KidAccount| a.set_budget(Amount(10_00), Period::Daily, "UTC")).await?.into_result()?;
/// repo.execute("ada", Options::default(), |a: &KidAccount| a.withdraw(Amount(7_50), "baseball cards", now)).await?.into_result()?;
/// let refused = repo.execute("ada", Options::default(), |a: &KidAccount| a.withdraw(Amount(5_00), "", now)).await?;
/// assert!(matches!(refused.rejection(), Some(KmmError::OverBudget { .. })));
/// assert_eq!(repo.load::<KidAccount>("ada").await?.state.balance, Amount(12_50));
/// # Ok(()) }
/// ```
#[derive(Aggregate, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[aggregate(kind = "KidAccount", event = KidAccountEvent)]
pub struct KidAccount {
    /// Whether anything ever happened to it.
    pub exists: bool,
    /// The money in it, in cents.
    pub balance: Amount,
    /// The budget, if one is set.
    pub budget: Option<Budget>,
    /// The withdrawals from 32 days before the last one made on, in the
    /// order they were made (by a clock set back, not by time).
    pub recent: Vec<Spent>,
}

impl KidAccountEventHandler for KidAccount {
    fn on_deposited(&mut self, e: &Deposited) {
        self.exists = true;
        self.balance.0 += e.amount.0;
    }

    fn on_withdrawn(&mut self, e: &Withdrawn) {
        self.exists = true;
        self.balance.0 -= e.amount.0;
        self.recent.push(Spent {
            amount: e.amount,
            at: e.at,
        });
        // kept from before this withdrawal, not before the latest one: a
        // clock set back after running ahead would otherwise let go of the
        // withdrawal just made, and its period would count none of them
        let kept_from = e.at.saturating_sub(KEPT_WITHDRAWALS).unwrap_or(e.at);
        self.recent.retain(|s| s.at >= kept_from);
    }

    fn on_budget_set(&mut self, e: &BudgetSet) {
        self.exists = true;
        self.budget = Some(Budget {
            max: e.max,
            period: e.period,
            time_zone: e.time_zone.clone(),
        });
    }

    fn on_budget_removed(&mut self, _: &BudgetRemoved) {
        self.budget = None;
    }
}

/// The period of the latest withdrawal, as the budget cuts periods.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PeriodSummary {
    /// Its first instant, in the budget's time zone (RFC 9557:
    /// `2026-11-30T00:00:00+01:00[Europe/Berlin]`).
    pub period_start: String,
    /// The next period's first instant, likewise.
    pub period_end: String,
    /// How many withdrawals it had.
    pub withdrawals: usize,
    /// How much they took, in cents.
    pub total_withdrawn: Amount,
}

/// Why an account refused a command or a query (serializable: a refusal is
/// recorded under the command's request id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum KmmError {
    /// Nothing ever happened to the account.
    #[error("there is no such account yet (an account starts with its first deposit)")]
    NoAccount,
    /// An amount of nothing.
    #[error("the amount must be positive")]
    ZeroAmount,
    /// The balance is too low.
    #[error("insufficient funds: the balance is {balance}, less than {requested}")]
    InsufficientFunds {
        /// The balance, in cents.
        balance: Amount,
        /// The withdrawal, in cents.
        requested: Amount,
    },
    /// The withdrawal would take the period over the budget.
    #[error(
        "over budget: {spent} of the {period} budget of {max} is withdrawn in the period that \
         ends {period_end}, so {requested} more is refused"
    )]
    OverBudget {
        /// The budget's maximum, in cents.
        max: Amount,
        /// The budget's period.
        period: Period,
        /// What the period's withdrawals took so far, in cents.
        spent: Amount,
        /// The refused withdrawal, in cents.
        requested: Amount,
        /// When the period ends.
        period_end: String,
    },
    /// The account has no budget.
    #[error("the account has no budget (set one with set-budget)")]
    NoBudget,
    /// A description that is too long, not one line, or holds characters
    /// that reorder the text around them.
    #[error(
        "a description is one line of at most {MAX_DESCRIPTION} characters, without bidirectional \
         controls; got {0:?}"
    )]
    BadDescription(String),
    /// A time zone that does not exist.
    #[error("{0:?} is not a time zone: expected a name like UTC or Europe/Berlin")]
    UnknownZone(String),
    /// A balance larger than kmm keeps ([`MAX_BALANCE`]).
    #[error("the balance would go over the largest amount kmm keeps")]
    TooLarge,
    /// A time whose period is off the calendar.
    #[error("{0} is out of the calendar's range")]
    OutOfRange(String),
}

impl KmmError {
    /// Its kind in `snake_case`, as error replies carry it.
    ///
    /// ```
    /// assert_eq!(sagas_examples::kmm::KmmError::NoBudget.kind(), "no_budget");
    /// ```
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoAccount => "no_account",
            Self::ZeroAmount => "zero_amount",
            Self::InsufficientFunds { .. } => "insufficient_funds",
            Self::OverBudget { .. } => "over_budget",
            Self::NoBudget => "no_budget",
            Self::BadDescription(_) => "bad_description",
            Self::UnknownZone(_) => "unknown_zone",
            Self::TooLarge => "too_large",
            Self::OutOfRange(_) => "out_of_range",
        }
    }
}

impl KidAccount {
    /// Puts money in; the first deposit starts the account.
    ///
    /// # Errors
    /// [`KmmError::ZeroAmount`], [`KmmError::BadDescription`],
    /// [`KmmError::TooLarge`] when the balance would go over
    /// [`MAX_BALANCE`].
    pub fn deposit(
        &self,
        amount: Amount,
        description: &str,
        now: Timestamp,
    ) -> Result<Vec<KidAccountEvent>, KmmError> {
        positive(amount)?;
        let description = one_line(description)?;
        // the ledger shows changes as i64: no balance goes past it
        self.balance
            .0
            .checked_add(amount.0)
            .filter(|&balance| balance <= MAX_BALANCE)
            .ok_or(KmmError::TooLarge)?;
        Ok(vec![
            Deposited {
                amount,
                description,
                at: now,
            }
            .into(),
        ])
    }

    /// Takes money out, within the balance and the current period's budget.
    ///
    /// # Errors
    /// [`KmmError::NoAccount`], [`KmmError::ZeroAmount`],
    /// [`KmmError::BadDescription`], [`KmmError::InsufficientFunds`],
    /// [`KmmError::OverBudget`].
    pub fn withdraw(
        &self,
        amount: Amount,
        description: &str,
        now: Timestamp,
    ) -> Result<Vec<KidAccountEvent>, KmmError> {
        self.existing()?;
        positive(amount)?;
        let description = one_line(description)?;
        if amount > self.balance {
            return Err(KmmError::InsufficientFunds {
                balance: self.balance,
                requested: amount,
            });
        }
        if let Some(budget) = &self.budget {
            let window = budget.window(now)?;
            let spent = self.spent_in(&window).1;
            if spent.0.saturating_add(amount.0) > budget.max.0 {
                return Err(KmmError::OverBudget {
                    max: budget.max,
                    period: budget.period,
                    spent,
                    requested: amount,
                    period_end: window.end.to_string(),
                });
            }
        }
        Ok(vec![
            Withdrawn {
                amount,
                description,
                at: now,
            }
            .into(),
        ])
    }

    /// Sets the budget, or changes it: it applies at once, to the period
    /// that holds the next withdrawal, counting what that period already
    /// withdrew.
    ///
    /// # Errors
    /// [`KmmError::NoAccount`] (a budget for an account that never had a
    /// deposit is a typo more often than not), [`KmmError::ZeroAmount`],
    /// [`KmmError::UnknownZone`].
    pub fn set_budget(
        &self,
        max: Amount,
        period: Period,
        time_zone: &str,
    ) -> Result<Vec<KidAccountEvent>, KmmError> {
        self.existing()?;
        positive(max)?;
        zone(time_zone).map_err(|e| KmmError::UnknownZone(e.0))?;
        Ok(vec![
            BudgetSet {
                max,
                period,
                time_zone: time_zone.to_owned(),
            }
            .into(),
        ])
    }

    /// Removes the budget.
    ///
    /// # Errors
    /// [`KmmError::NoAccount`], [`KmmError::NoBudget`].
    pub fn remove_budget(&self) -> Result<Vec<KidAccountEvent>, KmmError> {
        self.existing()?;
        if self.budget.is_none() {
            return Err(KmmError::NoBudget);
        }
        Ok(vec![BudgetRemoved {}.into()])
    }

    /// The period of the latest withdrawal, as the current budget cuts
    /// periods, with its withdrawals; `None` before the first withdrawal.
    ///
    /// # Errors
    /// [`KmmError::NoAccount`], [`KmmError::NoBudget`].
    pub fn last_budget_period(&self) -> Result<Option<PeriodSummary>, KmmError> {
        self.existing()?;
        let budget = self.budget.as_ref().ok_or(KmmError::NoBudget)?;
        let Some(latest) = self.recent.iter().map(|s| s.at).max() else {
            return Ok(None);
        };
        let window = budget.window(latest)?;
        let (withdrawals, total_withdrawn) = self.spent_in(&window);
        Ok(Some(PeriodSummary {
            period_start: window.start.to_string(),
            period_end: window.end.to_string(),
            withdrawals,
            total_withdrawn,
        }))
    }

    /// The balance.
    ///
    /// # Errors
    /// [`KmmError::NoAccount`].
    pub fn current_balance(&self) -> Result<Amount, KmmError> {
        self.existing()?;
        Ok(self.balance)
    }

    fn existing(&self) -> Result<(), KmmError> {
        if self.exists {
            Ok(())
        } else {
            Err(KmmError::NoAccount)
        }
    }

    /// How many withdrawals fell in `window`, and how much they took.
    fn spent_in(&self, window: &Window) -> (usize, Amount) {
        self.recent
            .iter()
            .filter(|s| window.holds(s.at))
            .fold((0, Amount(0)), |(n, total), s| {
                (n + 1, Amount(total.0.saturating_add(s.amount.0)))
            })
    }
}

fn positive(amount: Amount) -> Result<(), KmmError> {
    if amount.0 == 0 {
        Err(KmmError::ZeroAmount)
    } else {
        Ok(())
    }
}

/// Whether `c` reorders the text around it when shown (bidirectional
/// embeddings, overrides, isolates and marks): a ledger line must read as
/// it is.
fn reorders(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn one_line(description: &str) -> Result<String, KmmError> {
    if description.chars().count() > MAX_DESCRIPTION
        || description.chars().any(|c| c.is_control() || reorders(c))
    {
        Err(KmmError::BadDescription(description.to_owned()))
    } else {
        Ok(description.trim().to_owned())
    }
}
