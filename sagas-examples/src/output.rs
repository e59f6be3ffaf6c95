//! Tables for people, in the one style that the demo and the CLI share:
//! a header underlined with dashes, columns two spaces apart, no borders.

use std::time::SystemTime;

use comfy_table::{Table, TableComponent, presets};

/// A table with these column headers; add rows with
/// [`add_row`](Table::add_row) and print its
/// [`trim_fmt`](Table::trim_fmt), which has no trailing spaces.
pub(crate) fn table<const N: usize>(headers: [&str; N]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_style(TableComponent::HeaderLines, '-')
        .set_header(headers);
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    if let Some(last) = table.column_mut(N.saturating_sub(1)) {
        last.set_padding((0, 0));
    }
    table
}

/// `time` in UTC to the second, as people read it:
/// `2026-01-01 00:10:00 UTC` (1970 for a time before it).
pub(crate) fn utc(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // civil from days (Howard Hinnant's algorithm), in whole numbers
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc() {
        use std::time::Duration;
        let at = |s| utc(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(at(1_767_225_600 + 600), "2026-01-01 00:10:00 UTC");
        assert_eq!(at(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(at(4_107_542_399), "2100-02-28 23:59:59 UTC");
    }

    #[test]
    fn columns_are_aligned_under_an_underlined_header() {
        let mut accounts = table(["account", "owner", "balance"]);
        accounts.add_row(["alice", "Alice Liddell", "70.00"]);
        accounts.add_row(["bob", "", "180.00"]);
        assert_eq!(
            accounts.trim_fmt(),
            "account  owner          balance\n\
             -------------------------------\n\
             alice    Alice Liddell  70.00\n\
             bob                     180.00"
        );
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        let empty = table(["pos", "kind"]);
        assert_eq!(empty.trim_fmt(), "pos  kind\n---------");
    }
}
