//! The three cases of the comparison.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// What each command runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Case {
    /// (a) A new aggregate for each command.
    New,
    /// (b) An aggregate of exactly 100 events, no snapshot: each command
    /// takes a prepared aggregate that no command used since the last reset.
    Hundred,
    /// (c) One aggregate per writer, growing from 100 events; snapshots
    /// every 100 events where the system has them.
    Growing,
}

impl Case {
    /// Every case, in order.
    pub(crate) const ALL: [Case; 3] = [Case::New, Case::Hundred, Case::Growing];

    /// The label of the case's table.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Case::New => "(a) command on a new aggregate",
            Case::Hundred => "(b) command on an aggregate of exactly 100 events, no snapshot",
            Case::Growing => {
                "(c) one aggregate per writer, growing from 100 events, snapshots every 100"
            }
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Case::New => "new",
            Case::Hundred => "hundred",
            Case::Growing => "growing",
        })
    }
}

impl FromStr for Case {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "a" | "new" => Ok(Case::New),
            "b" | "hundred" => Ok(Case::Hundred),
            "c" | "growing" => Ok(Case::Growing),
            other => Err(format!(
                "unknown case {other:?}: expected a (new), b (hundred), c (growing) or all"
            )),
        }
    }
}
