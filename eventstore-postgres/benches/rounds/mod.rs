//! The figures of the schema bench: each variant's time per event over
//! rounds, its median and spread, and the ratio of two variants measured
//! in the same rounds.

use std::time::Duration;

/// The rounds of each comparison, unless `ROUNDS` says otherwise.
const DEFAULT_ROUNDS: usize = 51;

/// How many rounds each comparison runs: `ROUNDS` from the environment,
/// or [`DEFAULT_ROUNDS`].
pub(crate) fn rounds() -> usize {
    std::env::var("ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .filter(|&rounds| rounds > 0)
        .unwrap_or(DEFAULT_ROUNDS)
}

/// One figure per round: nanoseconds per event, or a ratio.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series(Vec<f64>);

impl Series {
    /// Adds a round's time for `events` events.
    pub(crate) fn push_time(&mut self, time: Duration, events: u64) {
        self.0.push(time.as_secs_f64() * 1e9 / events as f64);
    }

    /// The per-round ratios `self / base`, of series measured in the same
    /// rounds.
    pub(crate) fn ratio_to(&self, base: &Self) -> Self {
        Self(self.0.iter().zip(&base.0).map(|(a, b)| a / b).collect())
    }

    /// The per-round differences `self - base`, of series measured in the
    /// same rounds.
    fn minus(&self, base: &Self) -> Self {
        Self(self.0.iter().zip(&base.0).map(|(a, b)| a - b).collect())
    }

    /// The `q` quantile (0 to 1) of the rounds, nearest rank.
    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let at = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[at]
    }

    /// The median of the rounds.
    pub(crate) fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// `median [first quartile-third quartile]`, with `decimals` decimals.
    fn spread(&self, decimals: usize) -> String {
        format!(
            "{:.*} [{:.*}-{:.*}]",
            decimals,
            self.median(),
            decimals,
            self.quantile(0.25),
            decimals,
            self.quantile(0.75)
        )
    }
}

/// Prints the header of the comparison table.
pub(crate) fn header(rounds: usize) {
    println!(
        "ns/event, median [quartiles] of {rounds} rounds that alternate which variant runs first; \
         ratio = other / baseline, per round\n"
    );
    println!(
        "{:<36} {:>26} {:>26} {:>20}",
        "comparison", "baseline", "other", "ratio"
    );
}

/// Prints one comparison: `base` and `other` measured in the same rounds.
pub(crate) fn comparison(label: &str, base: (&str, &Series), other: (&str, &Series)) {
    let ratio = other.1.ratio_to(base.1);
    println!(
        "{label:<36} {:>26} {:>26} {:>19}x",
        format!("{} {}", base.0, base.1.spread(0)),
        format!("{} {}", other.0, other.1.spread(0)),
        ratio.spread(2)
    );
}

/// Prints the cost that `other` adds to `base` per event (the median of
/// the per-round differences), and that in JSON passes of `pass`
/// nanoseconds each.
pub(crate) fn json_passes(base: &Series, other: &Series, pass: f64) {
    let extra = other.minus(base);
    println!(
        "{:<36} extra {} ns/event = {:.2} JSON passes of {pass:.0} ns",
        "",
        extra.spread(0),
        extra.median() / pass
    );
}

/// Prints one variant measured alone.
pub(crate) fn alone(label: &str, name: &str, series: &Series) {
    println!("{label:<36} {:>26}", format!("{name} {}", series.spread(0)));
}
