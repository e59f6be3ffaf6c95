//! Budget periods: a minute, a day, a week or a month, aligned on the
//! calendar of a time zone.
//!
//! A period starts at the start of its minute, at midnight, on Monday at
//! midnight (so a Sunday belongs to the week that began the Monday before)
//! or on the first of the month at midnight, in the budget's time zone. A
//! day is as long as the calendar says: 23 or 25 hours on the days the
//! clocks change, and a midnight that does not exist starts its day at the
//! first instant after the gap.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};
use serde::{Deserialize, Serialize};

/// How long a budget's period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// From the start of a minute to the start of the next.
    Minutely,
    /// From midnight to midnight.
    Daily,
    /// From Monday 00:00 to the next Monday 00:00.
    Weekly,
    /// From the first of a month at 00:00 to the first of the next.
    Monthly,
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Self; 4] = [Self::Minutely, Self::Daily, Self::Weekly, Self::Monthly];

    /// The period of this kind that holds `at`, on the calendar of `zone`.
    ///
    /// ```
    /// use jiff::tz::TimeZone;
    /// use sagas_examples::kmm::Period;
    /// // a Sunday evening belongs to the week that began the Monday before
    /// let at = "2026-11-29T21:30:00Z".parse()?;
    /// let week = Period::Weekly.window(at, &TimeZone::UTC)?;
    /// assert_eq!(week.start.to_string(), "2026-11-23T00:00:00+00:00[UTC]");
    /// assert_eq!(week.end.to_string(), "2026-11-30T00:00:00+00:00[UTC]");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// When the period would start or end outside the years -9999 to 9999.
    pub fn window(self, at: Timestamp, zone: &TimeZone) -> Result<Window, jiff::Error> {
        let here = at.to_zoned_datetime(zone.clone());
        let midnight = |day: Date| day.to_zoned_datetime(zone.clone());
        let (start, end) = match self {
            Self::Minutely => {
                // on the timeline, so that a minute of an hour the clocks
                // repeat is its own minute
                // the second that holds `at`: before 1970, `as_second`
                // rounds a fraction towards zero, into the next second
                let second = at.as_second() - i64::from(at.subsec_nanosecond() < 0);
                let local = second + i64::from(here.offset().seconds());
                let start = Timestamp::from_second(second - local.rem_euclid(60))?
                    .to_zoned_datetime(zone.clone());
                let end = start.checked_add(1.minute())?;
                (start, end)
            }
            Self::Daily => (here.start_of_day()?, midnight(here.date().tomorrow()?)?),
            Self::Weekly => {
                let back = here.date().weekday().to_monday_zero_offset();
                let monday = here.date().checked_sub(i64::from(back).days())?;
                (midnight(monday)?, midnight(monday.checked_add(7.days())?)?)
            }
            Self::Monthly => {
                let first = here.date().first_of_month();
                (midnight(first)?, midnight(first.checked_add(1.month())?)?)
            }
        };
        Ok(Window { start, end })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Minutely => "minutely",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        })
    }
}

/// A text that names no period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a period: expected minutely, daily, weekly or monthly")]
pub struct ParsePeriodError(pub String);

impl FromStr for Period {
    type Err = ParsePeriodError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|period| period.to_string() == text)
            .ok_or_else(|| ParsePeriodError(text.to_owned()))
    }
}

/// One period on the timeline: from `start` (in it) to `end` (not in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Its first instant.
    pub start: ZonedDateTime,
    /// The first instant after it: the next period's start.
    pub end: ZonedDateTime,
}

impl Window {
    /// Whether `at` falls in it.
    #[must_use]
    pub fn holds(&self, at: Timestamp) -> bool {
        self.start.timestamp() <= at && at < self.end.timestamp()
    }
}

/// Finds the time zone of an IANA name (`Europe/Berlin`) or `UTC`.
///
/// ```
/// use sagas_examples::kmm::period::zone;
/// assert!(zone("Europe/Berlin").is_ok());
/// assert_eq!(
///     zone("Mars/Olympus").unwrap_err().to_string(),
///     r#""Mars/Olympus" is not a time zone: expected a name like UTC or Europe/Berlin"#
/// );
/// ```
///
/// # Errors
/// [`UnknownZone`] naming the text.
pub fn zone(name: &str) -> Result<TimeZone, UnknownZone> {
    TimeZone::get(name).map_err(|_| UnknownZone(name.to_owned()))
}

/// A text that names no time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time zone: expected a name like UTC or Europe/Berlin")]
pub struct UnknownZone(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn window(period: Period, at: &str, zone_name: &str) -> (String, String) {
        let at: Timestamp = at.parse().expect("a timestamp");
        let window = period
            .window(at, &zone(zone_name).expect("a zone"))
            .expect("a window");
        assert!(window.holds(at), "{period} {at} {window:?}");
        (window.start.to_string(), window.end.to_string())
    }

    fn pair(start: &str, end: &str) -> (String, String) {
        (start.to_owned(), end.to_owned())
    }

    #[test]
    fn a_minute_runs_from_its_first_second_to_the_next_minute() {
        assert_eq!(
            window(Period::Minutely, "2026-11-29T10:15:59.999Z", "UTC"),
            pair(
                "2026-11-29T10:15:00+00:00[UTC]",
                "2026-11-29T10:16:00+00:00[UTC]"
            )
        );
        assert_eq!(
            window(Period::Minutely, "2026-11-29T10:16:00Z", "UTC"),
            pair(
                "2026-11-29T10:16:00+00:00[UTC]",
                "2026-11-29T10:17:00+00:00[UTC]"
            )
        );
    }

    #[test]
    fn a_day_is_the_zones_calendar_day() {
        // 23:30 UTC is already the next day in Berlin (UTC+1 in winter)
        assert_eq!(
            window(Period::Daily, "2026-11-29T23:30:00Z", "Europe/Berlin"),
            pair(
                "2026-11-30T00:00:00+01:00[Europe/Berlin]",
                "2026-12-01T00:00:00+01:00[Europe/Berlin]"
            )
        );
        assert_eq!(
            window(Period::Daily, "2026-11-29T23:30:00Z", "UTC"),
            pair(
                "2026-11-29T00:00:00+00:00[UTC]",
                "2026-11-30T00:00:00+00:00[UTC]"
            )
        );
    }

    #[test]
    fn days_when_the_clocks_change_last_23_and_25_hours() {
        // Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00
        let (start, end) = window(Period::Daily, "2026-03-29T12:00:00Z", "Europe/Berlin");
        assert_eq!(
            (start.as_str(), end.as_str()),
            (
                "2026-03-29T00:00:00+01:00[Europe/Berlin]",
                "2026-03-30T00:00:00+02:00[Europe/Berlin]"
            )
        );
        let at: Timestamp = "2026-03-29T12:00:00Z".parse().unwrap();
        let day = Period::Daily
            .window(at, &zone("Europe/Berlin").unwrap())
            .unwrap();
        assert_eq!(
            day.end.timestamp().as_second() - day.start.timestamp().as_second(),
            23 * 3600
        );
        let at: Timestamp = "2026-10-25T12:00:00Z".parse().unwrap();
        let day = Period::Daily
            .window(at, &zone("Europe/Berlin").unwrap())
            .unwrap();
        assert_eq!(
            day.end.timestamp().as_second() - day.start.timestamp().as_second(),
            25 * 3600
        );
    }

    #[test]
    fn a_midnight_the_clocks_skip_starts_the_day_after_the_gap() {
        // Santiago: 2026-09-06 00:00 -> 01:00 (the day starts at 01:00)
        assert_eq!(
            window(Period::Daily, "2026-09-06T15:00:00Z", "America/Santiago"),
            pair(
                "2026-09-06T01:00:00-03:00[America/Santiago]",
                "2026-09-07T00:00:00-03:00[America/Santiago]"
            )
        );
    }

    #[test]
    fn a_minute_in_the_repeated_hour_is_its_own_minute() {
        // Berlin 2026-10-25: 02:30 happens twice, an hour apart
        let first = window(Period::Minutely, "2026-10-25T00:30:10Z", "Europe/Berlin");
        let second = window(Period::Minutely, "2026-10-25T01:30:10Z", "Europe/Berlin");
        assert_eq!(
            first,
            pair(
                "2026-10-25T02:30:00+02:00[Europe/Berlin]",
                "2026-10-25T02:31:00+02:00[Europe/Berlin]"
            )
        );
        assert_eq!(
            second,
            pair(
                "2026-10-25T02:30:00+01:00[Europe/Berlin]",
                "2026-10-25T02:31:00+01:00[Europe/Berlin]"
            )
        );
    }

    #[test]
    fn a_sunday_belongs_to_the_week_that_began_the_monday_before() {
        let week = pair(
            "2026-11-23T00:00:00+00:00[UTC]",
            "2026-11-30T00:00:00+00:00[UTC]",
        );
        for at in [
            "2026-11-23T00:00:00Z",
            "2026-11-26T12:00:00Z",
            "2026-11-29T23:59:59Z",
        ] {
            assert_eq!(window(Period::Weekly, at, "UTC"), week, "{at}");
        }
        assert_eq!(
            window(Period::Weekly, "2026-11-30T00:00:00Z", "UTC").0,
            "2026-11-30T00:00:00+00:00[UTC]"
        );
    }

    #[test]
    fn a_week_that_holds_a_clock_change_is_from_monday_to_monday() {
        let (start, end) = window(Period::Weekly, "2026-10-25T12:00:00Z", "Europe/Berlin");
        assert_eq!(
            (start.as_str(), end.as_str()),
            (
                "2026-10-19T00:00:00+02:00[Europe/Berlin]",
                "2026-10-26T00:00:00+01:00[Europe/Berlin]"
            )
        );
    }

    #[test]
    fn a_month_is_from_the_first_to_the_first() {
        assert_eq!(
            window(Period::Monthly, "2026-12-31T23:59:59Z", "UTC"),
            pair(
                "2026-12-01T00:00:00+00:00[UTC]",
                "2027-01-01T00:00:00+00:00[UTC]"
            )
        );
        assert_eq!(
            window(Period::Monthly, "2028-02-29T12:00:00Z", "UTC"),
            pair(
                "2028-02-01T00:00:00+00:00[UTC]",
                "2028-03-01T00:00:00+00:00[UTC]"
            )
        );
        // New York is five hours behind UTC: 03:00 UTC on the first is
        // still the month before there
        assert_eq!(
            window(Period::Monthly, "2026-12-01T03:00:00Z", "America/New_York").0,
            "2026-11-01T00:00:00-04:00[America/New_York]"
        );
    }

    #[test]
    fn periods_parse_from_their_names_and_refuse_others_naming_them() {
        for period in Period::ALL {
            assert_eq!(period.to_string().parse(), Ok(period));
        }
        assert_eq!(
            "hourly".parse::<Period>().unwrap_err().to_string(),
            r#""hourly" is not a period: expected minutely, daily, weekly or monthly"#
        );
    }
}
