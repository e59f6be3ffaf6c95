//! Tables for people, in the one style that the demo and the CLI share:
//! a header underlined with dashes, columns two spaces apart, no borders.

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

#[cfg(test)]
mod tests {
    use super::*;

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
