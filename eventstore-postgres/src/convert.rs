//! Numbers crossing between Rust and PostgreSQL, under one overflow
//! policy: a number that does not fit the type it must become is refused
//! with [`Error::OutOfRange`], naming it, its value and the range allowed.
//! It is never clamped to the nearest value that fits, since the store
//! would then write, or compare against, a number nobody gave it.
//!
//! Two exceptions clamp, and say why: [`elapsed`], a statistic shown to
//! people and never stored or compared, and [`row_limit`], a most-rows
//! bound, where any number above the largest bigint means what the largest
//! bigint means.

use std::fmt::Display;
use std::time::{Duration, SystemTime};

use eventstore_core::{Checkpoint, Error, Result};

/// The range of an integer type, as an [`Error::OutOfRange`] states it.
pub(crate) trait Range {
    /// The values allowed.
    const ALLOWED: &'static str;
}

impl Range for i64 {
    const ALLOWED: &'static str = "0 to 9223372036854775807 (a bigint)";
}

impl Range for i32 {
    const ALLOWED: &'static str = "0 to 2147483647 (an integer)";
}

impl Range for u64 {
    const ALLOWED: &'static str = "0 to 18446744073709551615";
}

impl Range for u32 {
    const ALLOWED: &'static str = "0 to 4294967295";
}

impl Range for usize {
    const ALLOWED: &'static str = "0 to usize::MAX";
}

/// `value`, the number called `what`, as a `T`.
///
/// # Errors
/// [`Error::OutOfRange`] when it does not fit.
pub(crate) fn fit<T, U>(what: &'static str, value: U) -> Result<T>
where
    T: TryFrom<U> + Range,
    U: Copy + Display,
{
    T::try_from(value).map_err(|_| out_of_range(what, value, T::ALLOWED))
}

/// `value`, the number called `what`, as the bigint a statement takes.
///
/// # Errors
/// [`Error::OutOfRange`] above `i64::MAX`.
pub(crate) fn bigint<U>(what: &'static str, value: U) -> Result<i64>
where
    i64: TryFrom<U>,
    U: Copy + Display,
{
    fit(what, value)
}

/// `value`, the number called `what`, as the integer a statement takes
/// (partitions, partition counts, attempts, schema versions).
///
/// # Errors
/// [`Error::OutOfRange`] above `i32::MAX`.
pub(crate) fn integer<U>(what: &'static str, value: U) -> Result<i32>
where
    i32: TryFrom<U>,
    U: Copy + Display,
{
    fit(what, value)
}

/// A most-rows bound (a read's or a listing's limit) as the bigint a
/// `LIMIT` takes.
///
/// Clamped at `i64::MAX`, never refused: no table holds that many rows, so
/// a larger limit returns exactly what `i64::MAX` returns. `usize::MAX`
/// keeps meaning "all", as it does for the memory store.
pub(crate) fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// An append's expected version as the bigint append.sql takes, after
/// checking that the versions the append writes, up to `expected + count`,
/// fit a bigint too.
///
/// # Errors
/// [`Error::OutOfRange`] naming the expected version, or the last version
/// written, when it does not fit.
pub(crate) fn expected_version(expected: u64, count: usize) -> Result<i64> {
    let signed = bigint("expected version", expected)?;
    let last = expected
        .checked_add(fit("event count", count)?)
        .ok_or_else(|| {
            out_of_range(
                "last version written",
                format_args!("{expected} + {count}"),
                i64::ALLOWED,
            )
        })?;
    bigint("last version written", last)?;
    Ok(signed)
}

/// A checkpoint as the two bigints (transaction id, position) that
/// statements take.
///
/// # Errors
/// [`Error::OutOfRange`] for a component above `i64::MAX`.
pub(crate) fn checkpoint_bigints(checkpoint: Checkpoint) -> Result<(i64, i64)> {
    Ok((
        bigint("checkpoint transaction id", checkpoint.tx)?,
        bigint("checkpoint position", checkpoint.position)?,
    ))
}

/// A duration as the bigint of microseconds a statement takes (a lease's
/// ttl, a safety margin), `what` naming it with its unit.
///
/// # Errors
/// [`Error::OutOfRange`] above `i64::MAX` microseconds (292,000 years).
pub(crate) fn micros(what: &'static str, duration: Duration) -> Result<i64> {
    bigint(what, duration.as_micros())
}

/// The bits of a stream hash as the bigint column holds them: not its
/// value, which may exceed a bigint; reads undo the sign (read_page.sql).
pub(crate) fn hash_bits(hash: u64) -> i64 {
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// A time PostgreSQL gave as microseconds since the Unix epoch, the
/// number called `what`; before the epoch too.
///
/// # Errors
/// [`Error::OutOfRange`] when the system clock cannot represent it.
pub(crate) fn time_from_micros(what: &'static str, micros: i64) -> Result<SystemTime> {
    since(SystemTime::UNIX_EPOCH, what, micros)
}

/// A time in PostgreSQL's binary form: microseconds since 2000-01-01 UTC.
///
/// # Errors
/// [`Error::OutOfRange`] when the system clock cannot represent it.
pub(crate) fn time_from_postgres_micros(what: &'static str, micros: i64) -> Result<SystemTime> {
    since(SystemTime::UNIX_EPOCH + POSTGRES_EPOCH, what, micros)
}

/// From the Unix epoch to PostgreSQL's, 2000-01-01 UTC.
const POSTGRES_EPOCH: Duration = Duration::from_secs(946_684_800);

/// `micros` after `epoch` (before it when negative).
fn since(epoch: SystemTime, what: &'static str, micros: i64) -> Result<SystemTime> {
    let offset = Duration::from_micros(micros.unsigned_abs());
    let time = if micros >= 0 {
        epoch.checked_add(offset)
    } else {
        epoch.checked_sub(offset)
    };
    time.ok_or_else(|| out_of_range(what, micros, "a time the system clock represents"))
}

/// How long ago something started, from PostgreSQL's microseconds.
///
/// Clamped at zero: a display-only statistic (how long a transaction has
/// held trackers back), and one that may come out a few microseconds
/// negative, since the server reads `now()` at its own transaction's start
/// and the other transaction may have started after that.
pub(crate) fn elapsed(micros: i64) -> Duration {
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// The refusal of `value`, the number called `what`, which must be one of
/// `allowed`.
pub(crate) fn out_of_range(
    what: &'static str,
    value: impl Display,
    allowed: &'static str,
) -> Error {
    Error::OutOfRange {
        what,
        value: value.to_string(),
        allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_out_of_range<T: std::fmt::Debug>(
        result: Result<T>,
        what: &str,
        value: &str,
        allowed: &str,
    ) {
        match result {
            Err(Error::OutOfRange {
                what: w,
                value: v,
                allowed: a,
            }) => assert_eq!((w, v.as_str(), a), (what, value, allowed)),
            other => panic!("expected {what} = {value} out of range, got {other:?}"),
        }
    }

    #[test]
    fn a_bigint_takes_up_to_i64_max_and_refuses_more() {
        assert_eq!(bigint("version", 0_u64).ok(), Some(0));
        assert_eq!(
            bigint("version", i64::MAX.unsigned_abs()).ok(),
            Some(i64::MAX)
        );
        assert_out_of_range(
            bigint("version", i64::MAX.unsigned_abs() + 1),
            "version",
            "9223372036854775808",
            i64::ALLOWED,
        );
        assert_out_of_range(
            bigint("count", usize::MAX),
            "count",
            &usize::MAX.to_string(),
            i64::ALLOWED,
        );
    }

    #[test]
    fn a_row_limit_above_any_table_means_all_rows() {
        assert_eq!(row_limit(100), 100);
        assert_eq!(row_limit(usize::MAX), i64::MAX);
    }

    #[test]
    fn an_append_must_write_versions_that_fit() {
        let largest = i64::MAX.unsigned_abs();
        assert_eq!(expected_version(largest - 2, 2).ok(), Some(i64::MAX - 2));
        assert_out_of_range(
            expected_version(largest - 2, 3),
            "last version written",
            "9223372036854775808",
            i64::ALLOWED,
        );
        assert_out_of_range(
            expected_version(u64::MAX, 1),
            "expected version",
            "18446744073709551615",
            i64::ALLOWED,
        );
    }

    #[test]
    fn an_integer_takes_up_to_i32_max_and_refuses_more() {
        assert_eq!(integer("partition", 7_u32).ok(), Some(7));
        assert_eq!(
            integer("partition", i32::MAX.unsigned_abs()).ok(),
            Some(i32::MAX)
        );
        assert_out_of_range(
            integer("partition", u32::MAX),
            "partition",
            "4294967295",
            "0 to 2147483647 (an integer)",
        );
    }

    #[test]
    fn a_negative_number_read_back_is_refused_not_zeroed() {
        assert_eq!(fit::<u64, i64>("position", 42).ok(), Some(42));
        assert_out_of_range(
            fit::<u64, i64>("position", -1),
            "position",
            "-1",
            u64::ALLOWED,
        );
        assert_out_of_range(
            fit::<u32, i32>("attempts", -3),
            "attempts",
            "-3",
            u32::ALLOWED,
        );
        assert_out_of_range(
            fit::<u32, i64>("live runners", i64::from(u32::MAX) + 1),
            "live runners",
            "4294967296",
            u32::ALLOWED,
        );
        assert_out_of_range(fit::<usize, i64>("rank", -2), "rank", "-2", usize::ALLOWED);
    }

    #[test]
    fn a_duration_becomes_microseconds_or_is_refused() {
        assert_eq!(
            micros("ttl", Duration::from_millis(1_500)).ok(),
            Some(1_500_000)
        );
        assert_out_of_range(
            micros("ttl in microseconds", Duration::MAX),
            "ttl in microseconds",
            &Duration::MAX.as_micros().to_string(),
            i64::ALLOWED,
        );
    }

    #[test]
    fn a_hash_keeps_its_bits() {
        assert_eq!(hash_bits(u64::MAX), -1);
        assert_eq!(hash_bits(1 << 63), i64::MIN);
        assert_eq!(hash_bits(5), 5);
    }

    #[test]
    fn times_before_and_after_the_epoch_are_exact() {
        let epoch = SystemTime::UNIX_EPOCH;
        let after = time_from_micros("at", 1_500_000).expect("after");
        assert_eq!(
            after.duration_since(epoch).ok(),
            Some(Duration::from_millis(1_500))
        );
        let before = time_from_micros("at", -2_000_000).expect("before");
        assert_eq!(
            epoch.duration_since(before).ok(),
            Some(Duration::from_secs(2))
        );
        let y2k = time_from_postgres_micros("at", 0).expect("2000");
        assert_eq!(y2k.duration_since(epoch).ok(), Some(POSTGRES_EPOCH));
    }

    #[test]
    fn the_display_statistic_clamps() {
        assert_eq!(elapsed(-5), Duration::ZERO);
        assert_eq!(elapsed(3), Duration::from_micros(3));
    }
}
