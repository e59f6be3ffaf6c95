//! The account's rules, given/when/then: balances, budgets at every period
//! boundary (minute, day, week, month, in a time zone, across clock
//! changes), and what changing a budget does to the current period. Time
//! is passed in: nothing sleeps.

use eventstore_core::testing::given;
use jiff::Timestamp;

use super::account::{
    BudgetRemoved, BudgetSet, Deposited, KidAccount, KidAccountEvent, MAX_BALANCE, Withdrawn,
};
use super::{Amount, KmmError, Period, PeriodSummary};

fn at(text: &str) -> Timestamp {
    text.parse().expect("a timestamp")
}

fn deposited(cents: u64, when: &str) -> KidAccountEvent {
    Deposited {
        amount: Amount(cents),
        description: String::new(),
        at: at(when),
    }
    .into()
}

fn withdrawn(cents: u64, when: &str) -> KidAccountEvent {
    Withdrawn {
        amount: Amount(cents),
        description: String::new(),
        at: at(when),
    }
    .into()
}

fn budget(max: u64, period: Period, zone: &str) -> KidAccountEvent {
    BudgetSet {
        max: Amount(max),
        period,
        time_zone: zone.to_owned(),
    }
    .into()
}

/// 100 deposited, a budget of 10 per `period` in `zone`, and 6 withdrawn
/// at `first`.
fn spent_6_of_10(period: Period, zone: &str, first: &str) -> Vec<KidAccountEvent> {
    vec![
        deposited(100_00, "2026-01-01T00:00:00Z"),
        budget(10_00, period, zone),
        withdrawn(6_00, first),
    ]
}

/// After `history`, withdrawing 5 more at `then` is refused as over the
/// budget of 10 per `period`, whose period ends at `period_end`.
#[track_caller]
fn refused(history: Vec<KidAccountEvent>, period: Period, then: &str, period_end: &str) {
    given::<KidAccount>(history)
        .when(|a| a.withdraw(Amount(5_00), "", at(then)))
        .then_error(KmmError::OverBudget {
            max: Amount(10_00),
            period,
            spent: Amount(6_00),
            requested: Amount(5_00),
            period_end: period_end.to_owned(),
        });
}

/// After `history`, withdrawing 5 more at `then` is accepted: a new period.
#[track_caller]
fn accepted(history: Vec<KidAccountEvent>, then: &str) {
    given::<KidAccount>(history)
        .when(|a| a.withdraw(Amount(5_00), "", at(then)))
        .then([withdrawn(5_00, then)]);
}

#[test]
fn a_deposit_opens_the_account_and_a_withdrawal_takes_from_it() {
    let state = given::<KidAccount>([])
        .when(|a| a.deposit(Amount(20_00), "grass mowing", at("2026-11-29T10:00:00Z")))
        .then([Deposited {
            amount: Amount(20_00),
            description: "grass mowing".into(),
            at: at("2026-11-29T10:00:00Z"),
        }
        .into()]);
    assert_eq!(state.balance, Amount(20_00));
    let state = given::<KidAccount>([deposited(20_00, "2026-11-29T10:00:00Z")])
        .when(|a| a.withdraw(Amount(7_50), "baseball cards", at("2026-11-29T10:01:00Z")))
        .then([Withdrawn {
            amount: Amount(7_50),
            description: "baseball cards".into(),
            at: at("2026-11-29T10:01:00Z"),
        }
        .into()]);
    assert_eq!(state.balance, Amount(12_50));
}

#[test]
fn a_withdrawal_beyond_the_balance_is_refused() {
    given::<KidAccount>([deposited(10_00, "2026-11-29T10:00:00Z")])
        .when(|a| a.withdraw(Amount(10_01), "", at("2026-11-29T10:00:00Z")))
        .then_error(KmmError::InsufficientFunds {
            balance: Amount(10_00),
            requested: Amount(10_01),
        });
    given::<KidAccount>([deposited(10_00, "2026-11-29T10:00:00Z")])
        .when(|a| a.withdraw(Amount(10_00), "", at("2026-11-29T10:00:00Z")))
        .then([withdrawn(10_00, "2026-11-29T10:00:00Z")]);
}

#[test]
fn nothing_moves_on_an_account_that_does_not_exist() {
    given::<KidAccount>([])
        .when(|a| a.withdraw(Amount(1), "", at("2026-11-29T10:00:00Z")))
        .then_error(KmmError::NoAccount);
    given::<KidAccount>([])
        .when(KidAccount::remove_budget)
        .then_error(KmmError::NoAccount);
    // a budget for an account that never had a deposit is likely a typo
    given::<KidAccount>([])
        .when(|a| a.set_budget(Amount(5_00), Period::Daily, "UTC"))
        .then_error(KmmError::NoAccount);
    assert_eq!(
        KidAccount::default().current_balance(),
        Err(KmmError::NoAccount)
    );
}

#[test]
fn bad_values_are_refused_naming_them() {
    let now = at("2026-11-29T10:00:00Z");
    given::<KidAccount>([])
        .when(|a| a.deposit(Amount(0), "", now))
        .then_error(KmmError::ZeroAmount);
    given::<KidAccount>([deposited(10_00, "2026-11-29T10:00:00Z")])
        .when(|a| a.withdraw(Amount(0), "", now))
        .then_error(KmmError::ZeroAmount);
    given::<KidAccount>([])
        .when(|a| a.deposit(Amount(1), "two\nlines", now))
        .then_error(KmmError::BadDescription("two\nlines".into()));
    let long = "x".repeat(201);
    given::<KidAccount>([])
        .when(|a| a.deposit(Amount(1), &long, now))
        .then_error(KmmError::BadDescription(long));
    for reordering in ["\u{202E}sdrac", "a\u{2066}b", "\u{200F}"] {
        given::<KidAccount>([])
            .when(|a| a.deposit(Amount(1), reordering, now))
            .then_error(KmmError::BadDescription(reordering.into()));
    }
    let opened = || [deposited(1, "2026-11-29T10:00:00Z")];
    given::<KidAccount>(opened())
        .when(|a| a.set_budget(Amount(5_00), Period::Daily, "Mars/Olympus"))
        .then_error(KmmError::UnknownZone("Mars/Olympus".into()));
    given::<KidAccount>(opened())
        .when(|a| a.set_budget(Amount(0), Period::Daily, "UTC"))
        .then_error(KmmError::ZeroAmount);
    given::<KidAccount>([deposited(MAX_BALANCE - 1, "2026-11-29T10:00:00Z")])
        .when(|a| a.deposit(Amount(2), "", now))
        .then_error(KmmError::TooLarge);
    given::<KidAccount>([])
        .when(|a| a.deposit(Amount(u64::MAX), "", now))
        .then_error(KmmError::TooLarge);
    given::<KidAccount>([deposited(MAX_BALANCE - 1, "2026-11-29T10:00:00Z")])
        .when(|a| a.deposit(Amount(1), "", now))
        .then([deposited(1, "2026-11-29T10:00:00Z")]);
}

#[test]
fn a_minutely_budget_counts_the_withdrawals_of_the_minute() {
    let history = || spent_6_of_10(Period::Minutely, "UTC", "2026-11-29T10:15:00Z");
    refused(
        history(),
        Period::Minutely,
        "2026-11-29T10:15:59.999Z",
        "2026-11-29T10:16:00+00:00[UTC]",
    );
    accepted(history(), "2026-11-29T10:16:00Z");
    // 4 more fits exactly
    given::<KidAccount>(history())
        .when(|a| a.withdraw(Amount(4_00), "", at("2026-11-29T10:15:30Z")))
        .then([withdrawn(4_00, "2026-11-29T10:15:30Z")]);
}

#[test]
fn a_daily_budget_turns_at_midnight_in_its_time_zone() {
    // 22:30 UTC on the 29th is 23:30 in Berlin; 23:30 UTC is the 30th there
    let berlin = || spent_6_of_10(Period::Daily, "Europe/Berlin", "2026-11-29T22:30:00Z");
    refused(
        berlin(),
        Period::Daily,
        "2026-11-29T22:59:59Z",
        "2026-11-30T00:00:00+01:00[Europe/Berlin]",
    );
    accepted(berlin(), "2026-11-29T23:00:00Z");
    // in UTC the same instants are one day
    let utc = || spent_6_of_10(Period::Daily, "UTC", "2026-11-29T22:30:00Z");
    refused(
        utc(),
        Period::Daily,
        "2026-11-29T23:30:00Z",
        "2026-11-30T00:00:00+00:00[UTC]",
    );
    accepted(utc(), "2026-11-30T00:00:00Z");
}

#[test]
fn a_weekly_budget_turns_on_monday_and_a_sunday_is_in_the_week_before() {
    // Monday 2026-11-23 to Monday 2026-11-30
    let history = || spent_6_of_10(Period::Weekly, "UTC", "2026-11-23T00:00:00Z");
    refused(
        history(),
        Period::Weekly,
        "2026-11-29T23:59:59Z",
        "2026-11-30T00:00:00+00:00[UTC]",
    );
    accepted(history(), "2026-11-30T00:00:00Z");
    // a withdrawal on Sunday counts against the week that began on Monday
    let sunday = || spent_6_of_10(Period::Weekly, "UTC", "2026-11-29T12:00:00Z");
    refused(
        sunday(),
        Period::Weekly,
        "2026-11-24T09:00:00Z",
        "2026-11-30T00:00:00+00:00[UTC]",
    );
    accepted(sunday(), "2026-11-30T00:00:01Z");
}

#[test]
fn a_monthly_budget_turns_on_the_first() {
    let history = || spent_6_of_10(Period::Monthly, "UTC", "2026-02-01T00:00:00Z");
    refused(
        history(),
        Period::Monthly,
        "2026-02-28T23:59:59Z",
        "2026-03-01T00:00:00+00:00[UTC]",
    );
    accepted(history(), "2026-03-01T00:00:00Z");
    // New York: 03:00 UTC on March 1st is still February there
    let new_york = || spent_6_of_10(Period::Monthly, "America/New_York", "2026-02-10T12:00:00Z");
    refused(
        new_york(),
        Period::Monthly,
        "2026-03-01T03:00:00Z",
        "2026-03-01T00:00:00-05:00[America/New_York]",
    );
    accepted(new_york(), "2026-03-01T05:00:00Z");
}

#[test]
fn a_day_the_clocks_go_forward_is_23_hours() {
    // Berlin, 2026-03-29: 02:00 becomes 03:00; the day ends at 22:00 UTC
    let history = || spent_6_of_10(Period::Daily, "Europe/Berlin", "2026-03-28T23:00:00Z");
    refused(
        history(),
        Period::Daily,
        "2026-03-29T21:59:59Z",
        "2026-03-30T00:00:00+02:00[Europe/Berlin]",
    );
    accepted(history(), "2026-03-29T22:00:00Z");
}

#[test]
fn a_day_the_clocks_go_back_is_25_hours() {
    // Berlin, 2026-10-25: 03:00 becomes 02:00; the day ends at 23:00 UTC
    let history = || spent_6_of_10(Period::Daily, "Europe/Berlin", "2026-10-24T22:00:00Z");
    refused(
        history(),
        Period::Daily,
        "2026-10-25T22:59:59Z",
        "2026-10-26T00:00:00+01:00[Europe/Berlin]",
    );
    accepted(history(), "2026-10-25T23:00:00Z");
}

#[test]
fn the_repeated_hour_of_a_clock_change_has_two_distinct_minutes_of_each_name() {
    // 00:30 UTC and 01:30 UTC are both 02:30 in Berlin on 2026-10-25
    let history = || spent_6_of_10(Period::Minutely, "Europe/Berlin", "2026-10-25T00:30:10Z");
    refused(
        history(),
        Period::Minutely,
        "2026-10-25T00:30:50Z",
        "2026-10-25T02:31:00+02:00[Europe/Berlin]",
    );
    accepted(history(), "2026-10-25T01:30:10Z");
}

#[test]
fn the_first_withdrawal_of_a_new_period_is_refused_when_it_alone_is_over() {
    given::<KidAccount>(spent_6_of_10(Period::Daily, "UTC", "2026-11-28T12:00:00Z"))
        .when(|a| a.withdraw(Amount(10_01), "", at("2026-11-29T12:00:00Z")))
        .then_error(KmmError::OverBudget {
            max: Amount(10_00),
            period: Period::Daily,
            spent: Amount(0),
            requested: Amount(10_01),
            period_end: "2026-11-30T00:00:00+00:00[UTC]".into(),
        });
}

#[test]
fn a_changed_budget_counts_what_its_current_period_already_withdrew() {
    // 6 withdrawn at 10:15 under a minutely budget; a daily one of 10 set
    // at 11:00 counts it, so 5 more that day is over
    let mut history = spent_6_of_10(Period::Minutely, "UTC", "2026-11-29T10:15:00Z");
    history.push(budget(10_00, Period::Daily, "UTC"));
    refused(
        history.clone(),
        Period::Daily,
        "2026-11-29T11:00:00Z",
        "2026-11-30T00:00:00+00:00[UTC]",
    );
    // a lower maximum than already withdrawn refuses even the smallest
    // withdrawal until the period ends; nothing withdrawn is undone
    let mut lowered = spent_6_of_10(Period::Daily, "UTC", "2026-11-29T10:15:00Z");
    lowered.push(budget(5_00, Period::Daily, "UTC"));
    let state = given::<KidAccount>(lowered.clone())
        .when(|a| a.deposit(Amount(1), "", at("2026-11-29T10:20:00Z")))
        .then([deposited(1, "2026-11-29T10:20:00Z")]);
    assert_eq!(state.balance, Amount(94_01));
    given::<KidAccount>(lowered.clone())
        .when(|a| a.withdraw(Amount(1), "", at("2026-11-29T23:59:59Z")))
        .then_error(KmmError::OverBudget {
            max: Amount(5_00),
            period: Period::Daily,
            spent: Amount(6_00),
            requested: Amount(1),
            period_end: "2026-11-30T00:00:00+00:00[UTC]".into(),
        });
    given::<KidAccount>(lowered)
        .when(|a| a.withdraw(Amount(5_00), "", at("2026-11-30T00:00:00Z")))
        .then([withdrawn(5_00, "2026-11-30T00:00:00Z")]);
}

#[test]
fn without_a_budget_only_the_balance_limits_withdrawals() {
    let mut history = spent_6_of_10(Period::Daily, "UTC", "2026-11-29T10:00:00Z");
    history.push(BudgetRemoved {}.into());
    given::<KidAccount>(history.clone())
        .when(|a| a.withdraw(Amount(94_00), "", at("2026-11-29T10:01:00Z")))
        .then([withdrawn(94_00, "2026-11-29T10:01:00Z")]);
    given::<KidAccount>(history)
        .when(KidAccount::remove_budget)
        .then_error(KmmError::NoBudget);
}

#[test]
fn the_last_budget_period_is_the_one_of_the_latest_withdrawal() {
    let mut history = spent_6_of_10(Period::Daily, "Europe/Berlin", "2026-11-28T10:00:00Z");
    history.extend([
        withdrawn(1_00, "2026-11-29T09:00:00Z"),
        withdrawn(2_50, "2026-11-29T22:59:00Z"),
    ]);
    let state = given::<KidAccount>(history.clone())
        .when(|_| Ok::<_, KmmError>(vec![]))
        .then([]);
    assert_eq!(
        state.last_budget_period(),
        Ok(Some(PeriodSummary {
            period_start: "2026-11-29T00:00:00+01:00[Europe/Berlin]".into(),
            period_end: "2026-11-30T00:00:00+01:00[Europe/Berlin]".into(),
            withdrawals: 2,
            total_withdrawn: Amount(3_50),
        }))
    );
    let state = given::<KidAccount>([deposited(1_00, "2026-11-29T09:00:00Z")])
        .when(|_| Ok::<_, KmmError>(vec![]))
        .then([]);
    assert_eq!(state.last_budget_period(), Err(KmmError::NoBudget));
    let state = given::<KidAccount>([budget(1_00, Period::Daily, "UTC")])
        .when(|_| Ok::<_, KmmError>(vec![]))
        .then([]);
    assert_eq!(state.last_budget_period(), Ok(None));
}

#[test]
fn a_month_of_withdrawals_is_kept_and_older_ones_are_let_go() {
    // a withdrawal on the 1st still counts on the 31st of a monthly budget
    let mut history = spent_6_of_10(Period::Monthly, "UTC", "2026-12-01T00:00:00Z");
    history.push(withdrawn(1, "2026-12-31T23:59:00Z"));
    let state = given::<KidAccount>(history.clone())
        .when(|_| Ok::<_, KmmError>(vec![]))
        .then([]);
    assert_eq!(state.recent.len(), 2);
    given::<KidAccount>(history)
        .when(|a| a.withdraw(Amount(4_00), "", at("2026-12-31T23:59:30Z")))
        .then_error(KmmError::OverBudget {
            max: Amount(10_00),
            period: Period::Monthly,
            spent: Amount(6_01),
            requested: Amount(4_00),
            period_end: "2027-01-01T00:00:00+00:00[UTC]".into(),
        });
    // 33 days on, the first one is let go
    let mut later = spent_6_of_10(Period::Monthly, "UTC", "2026-12-01T00:00:00Z");
    later.push(withdrawn(1, "2027-01-03T00:00:00Z"));
    let state = given::<KidAccount>(later)
        .when(|_| Ok::<_, KmmError>(vec![]))
        .then([]);
    assert_eq!(state.recent.len(), 1);
}

#[test]
fn a_clock_set_back_over_a_month_still_counts_the_withdrawals_of_its_period() {
    // a withdrawal made while the clock ran 60 days ahead, then the
    // clock is set right: the withdrawals of today still count today
    let mut history = spent_6_of_10(Period::Daily, "UTC", "2027-01-28T12:00:00Z");
    history.push(withdrawn(6_00, "2026-11-29T10:00:00Z"));
    refused(
        history,
        Period::Daily,
        "2026-11-29T11:00:00Z",
        "2026-11-30T00:00:00+00:00[UTC]",
    );
}

#[test]
fn the_last_second_of_a_minute_before_1970_is_in_that_minute() {
    // before the epoch a whole second is rounded towards zero, into the
    // next minute, unless the minute is cut on the timeline's floor
    let at_end: Timestamp = at("1969-12-31T23:58:59.5Z");
    let minute = Period::Minutely
        .window(at_end, &jiff::tz::TimeZone::UTC)
        .expect("a window");
    assert!(minute.holds(at_end), "{minute:?}");
    refused(
        spent_6_of_10(Period::Minutely, "UTC", "1969-12-31T23:58:30Z"),
        Period::Minutely,
        "1969-12-31T23:58:59.5Z",
        "1969-12-31T23:59:00+00:00[UTC]",
    );
}

#[test]
fn every_deposit_the_account_takes_the_ledger_shows_as_it_was() {
    let now = at("2026-11-29T10:00:00Z");
    let large = Amount(u64::try_from(i64::MAX).expect("positive") + 1);
    for history in [vec![], vec![deposited(1, "2026-11-01T00:00:00Z")]] {
        let state = given::<KidAccount>(history)
            .when(|_| Ok::<_, KmmError>(vec![]))
            .then([]);
        for amount in [large, Amount(u64::MAX), Amount(u64::MAX - 1)] {
            match state.deposit(amount, "", now) {
                Ok(events) => {
                    let entry = super::ledger::entry_of("ada", 1, &events[0]).expect("an entry");
                    assert_eq!(
                        entry.change.unsigned_abs(),
                        amount.0,
                        "the ledger shows {} for a deposit of {} cents",
                        entry.change,
                        amount.0
                    );
                }
                Err(error) => assert_eq!(error, KmmError::TooLarge),
            }
        }
    }
}
