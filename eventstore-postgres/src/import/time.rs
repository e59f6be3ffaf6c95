//! The `time` of an imported line: an RFC 3339 time, read without a date
//! library, to microseconds (what PostgreSQL's `timestamptz` holds).

/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const POSTGRES_EPOCH_SECONDS: i64 = 946_684_800;

/// An RFC 3339 time, as microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// Reads `2024-01-01T00:00:00Z`, with `t` or a space for `T`, an
    /// optional fraction (cut to microseconds) and `Z` or an offset
    /// (`+02:00`). Between 1970 and 2105, the years an event id can hold.
    ///
    /// # Errors
    /// What is wrong, in a few words, when it is not such a time.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let refused = |why: &str| format!("time {text:?} is not an RFC 3339 time: {why}");
        let bytes = text.as_bytes();
        let number = |from: usize, digits: usize| -> Result<i64, String> {
            let slice = bytes
                .get(from..from + digits)
                .filter(|s| s.iter().all(u8::is_ascii_digit))
                .ok_or_else(|| refused("expected like 2024-01-31T23:59:59Z"))?;
            Ok(slice
                .iter()
                .fold(0, |n, digit| n * 10 + i64::from(digit - b'0')))
        };
        let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if separators.iter().any(|&(at, c)| bytes.get(at) != Some(&c))
            || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        {
            return Err(refused("expected like 2024-01-31T23:59:59Z"));
        }
        let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
        let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(refused("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(refused("no such time of day"));
        }
        let mut at = 19;
        let mut micros = 0;
        if bytes.get(at) == Some(&b'.') {
            let digits = bytes[at + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 {
                return Err(refused("a fraction needs digits"));
            }
            micros = (0..6).fold(0, |n, i| {
                let digit = bytes.get(at + 1 + i).filter(|_| i < digits);
                n * 10 + digit.map_or(0, |d| i64::from(d - b'0'))
            });
            at += 1 + digits;
        }
        let offset_seconds = match bytes.get(at) {
            Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
            Some(&sign @ (b'+' | b'-')) if at + 6 == bytes.len() && bytes[at + 3] == b':' => {
                let (hours, minutes) = (number(at + 1, 2)?, number(at + 4, 2)?);
                if hours > 23 || minutes > 59 {
                    return Err(refused("no such offset"));
                }
                let offset = hours * 3_600 + minutes * 60;
                if sign == b'+' { offset } else { -offset }
            }
            _ => return Err(refused("expected Z or an offset like +02:00 at the end")),
        };
        let seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
                - offset_seconds;
        if !(0..i64::from(u32::MAX)).contains(&seconds) {
            return Err(refused("event ids hold times from 1970 to 2105 only"));
        }
        Ok(Self {
            micros: seconds * 1_000_000 + micros,
        })
    }

    /// The time, as the standard library holds it.
    pub(crate) fn system_time(self) -> std::time::SystemTime {
        // parse() keeps it at or after the epoch
        std::time::UNIX_EPOCH + std::time::Duration::from_micros(self.micros.unsigned_abs())
    }

    /// Microseconds since PostgreSQL's epoch: a `timestamptz` in COPY's
    /// binary format.
    pub(crate) fn postgres_micros(self) -> i64 {
        self.micros - POSTGRES_EPOCH_SECONDS * 1_000_000
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        Timestamp::parse(text).expect(text).micros
    }

    #[test]
    fn reads_utc_offsets_and_fractions() {
        assert_eq!(micros("1970-01-01T00:00:00Z"), 0);
        assert_eq!(micros("2024-01-01T00:00:00Z"), 1_704_067_200_000_000);
        assert_eq!(micros("2024-02-29t12:30:15z"), 1_709_209_815_000_000);
        assert_eq!(micros("2024-01-01 02:00:00+02:00"), 1_704_067_200_000_000);
        assert_eq!(micros("2023-12-31T23:00:00-01:00"), 1_704_067_200_000_000);
        assert_eq!(micros("2024-01-01T00:00:00.5Z"), 1_704_067_200_500_000);
        assert_eq!(
            micros("2024-01-01T00:00:00.123456789Z"),
            1_704_067_200_123_456
        );
        assert_eq!(
            Timestamp::parse("2000-01-01T00:00:00Z")
                .unwrap()
                .postgres_micros(),
            0
        );
    }

    #[test]
    fn refuses_what_is_not_an_rfc_3339_time_and_says_why() {
        for (text, why) in [
            ("2024-01-01", "expected like"),
            ("2024-01-01T00:00:00", "expected Z or an offset"),
            ("2024-13-01T00:00:00Z", "no such date"),
            ("2023-02-29T00:00:00Z", "no such date"),
            ("2024-01-01T24:00:00Z", "no such time of day"),
            ("2024-01-01T00:00:00.Z", "a fraction needs digits"),
            ("2024-01-01T00:00:00+2:00", "expected Z or an offset"),
            ("1969-12-31T23:59:59Z", "from 1970 to 2105"),
            ("2106-02-08T00:00:00Z", "from 1970 to 2105"),
            ("２０２4-01-01T00:00:00Z", "expected like"),
        ] {
            let error = Timestamp::parse(text).expect_err(text);
            assert!(error.contains(why), "{text}: {error}");
            assert!(error.contains(&format!("{text:?}")), "{error}");
        }
    }
}
