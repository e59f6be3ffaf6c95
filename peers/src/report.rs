//! The tables (and the JSON) of a run: per case, commands per second of
//! each system at each writer count (the median of the rounds), its ratio
//! to the baseline of the same round, and this project's ratio to the best
//! peer of the same round.

use serde::Serialize;

use crate::case::Case;
use crate::measure::Tally;
use crate::systems::Kind;

/// The target: this project at least this many times the best peer.
const TARGET: f64 = 2.0;

/// One measured cell.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measured {
    /// Which round (from 1).
    pub(crate) round: u32,
    /// The case.
    pub(crate) case: Case,
    /// Concurrent writers.
    pub(crate) writers: usize,
    /// The system.
    pub(crate) system: Kind,
    /// What the writers did.
    pub(crate) tally: Tally,
}

/// The figures of one case and writer count, over the rounds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    case: Case,
    writers: usize,
    /// Per system: the median commands per second.
    per_second: Vec<(Kind, f64)>,
    /// Per system: the median of the rounds' ratios to the baseline.
    to_baseline: Vec<(Kind, f64)>,
    /// The median of the rounds' ratios of this project to the best peer.
    to_best_peer: f64,
    /// Per system: attempts retried and commands given up, all rounds.
    retried: Vec<(Kind, u64, u64)>,
}

/// Summarizes the cells of `case` at `writers`.
fn row(cells: &[Measured], case: Case, writers: usize) -> Option<Row> {
    let of = |kind: Kind| -> Vec<&Measured> {
        cells
            .iter()
            .filter(|m| m.case == case && m.writers == writers && m.system == kind)
            .collect()
    };
    let rate_in = |kind: Kind, round: u32| {
        of(kind)
            .into_iter()
            .find(|m| m.round == round)
            .map(|m| m.tally.per_second())
    };
    let rounds: Vec<u32> = of(Kind::Baseline).iter().map(|m| m.round).collect();
    if rounds.is_empty() {
        return None;
    }
    let per_second = Kind::ALL
        .iter()
        .map(|&k| {
            (
                k,
                median(of(k).iter().map(|m| m.tally.per_second()).collect()),
            )
        })
        .collect();
    let to_baseline = Kind::ALL
        .iter()
        .map(|&k| {
            let ratios = rounds
                .iter()
                .filter_map(|&r| Some(rate_in(k, r)? / rate_in(Kind::Baseline, r)?))
                .collect();
            (k, median(ratios))
        })
        .collect();
    let to_best_peer = median(
        rounds
            .iter()
            .filter_map(|&r| {
                let best = Kind::PEERS
                    .iter()
                    .filter_map(|&p| rate_in(p, r))
                    .fold(0.0, f64::max);
                Some(rate_in(Kind::ThisProject, r)? / best)
            })
            .collect(),
    );
    let retried = Kind::ALL
        .iter()
        .map(|&k| {
            let cells = of(k);
            (
                k,
                cells.iter().map(|m| m.tally.retried).sum(),
                cells.iter().map(|m| m.tally.gave_up).sum(),
            )
        })
        .collect();
    Some(Row {
        case,
        writers,
        per_second,
        to_baseline,
        to_best_peer,
        retried,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}

/// Every row of the run, case by case.
pub(crate) fn rows(cells: &[Measured], cases: &[Case], writers: &[usize]) -> Vec<Row> {
    cases
        .iter()
        .flat_map(|&c| writers.iter().filter_map(move |&w| row(cells, c, w)))
        .collect()
}

/// Prints one table per case.
pub(crate) fn print_tables(rows: &[Row], rounds: u32, secs: f64) {
    let mut case = None;
    for row in rows {
        if case != Some(row.case) {
            case = Some(row.case);
            println!();
            println!("{}", row.case.title());
            println!(
                "commands/s, median of {rounds} round(s) of {secs} s; in brackets the median ratio \
                 to the baseline of the same round"
            );
            print!("{:>7}  ", "writers");
            for kind in Kind::ALL {
                print!("{:<18}", kind.to_string());
            }
            println!("this project / best peer");
        }
        print!("{:>7}  ", row.writers);
        for (&(_, rate), &(_, ratio)) in row.per_second.iter().zip(&row.to_baseline) {
            print!("{:<18}", format!("{} ({ratio:.2}x)", thousands(rate)));
        }
        let mark = if row.to_best_peer >= TARGET {
            String::new()
        } else {
            format!("  (below the {TARGET}x target)")
        };
        println!("{:.2}x{mark}", row.to_best_peer);
        let races: Vec<String> = row
            .retried
            .iter()
            .filter(|(_, retried, gave_up)| retried + gave_up > 0)
            .map(|(kind, retried, gave_up)| {
                format!("{kind}: {retried} attempts retried, {gave_up} commands given up")
            })
            .collect();
        if !races.is_empty() {
            println!("{:>7}  (lost races, all rounds: {})", "", races.join("; "));
        }
    }
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(round: u32, system: Kind, done: u64) -> Measured {
        Measured {
            round,
            case: Case::New,
            writers: 4,
            system,
            tally: Tally {
                done,
                secs: 1.0,
                ..Tally::default()
            },
        }
    }

    #[test]
    fn ratios_are_taken_within_each_round_then_the_median() {
        let cells = vec![
            cell(1, Kind::Baseline, 1000),
            cell(1, Kind::ThisProject, 800),
            cell(1, Kind::CqrsEs, 400),
            cell(1, Kind::Disintegrate, 200),
            cell(2, Kind::Baseline, 2000),
            cell(2, Kind::ThisProject, 1000),
            cell(2, Kind::CqrsEs, 100),
            cell(2, Kind::Disintegrate, 500),
            cell(3, Kind::Baseline, 500),
            cell(3, Kind::ThisProject, 500),
            cell(3, Kind::CqrsEs, 250),
            cell(3, Kind::Disintegrate, 50),
        ];
        let row = row(&cells, Case::New, 4).expect("a row");
        assert_eq!(row.per_second[1], (Kind::ThisProject, 800.0));
        // rounds: 0.8, 0.5, 1.0
        assert_eq!(row.to_baseline[1], (Kind::ThisProject, 0.8));
        // rounds: 800/400 = 2, 1000/500 = 2, 500/250 = 2
        assert_eq!(row.to_best_peer, 2.0);
        assert!(super::row(&cells, Case::Growing, 4).is_none());
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(12.0), "12");
        assert_eq!(thousands(f64::NAN), "-");
    }
}
