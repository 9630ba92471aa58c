//! What a scenario measured: one JSON line per system, and the checks against the
//! targets that the closing table shows.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// Which implementation a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// Plain sqlx, no framework: the baseline.
    Raw,
    /// ACCI, every command loading its aggregate from the database.
    Acci,
    /// ACCI with the aggregate cache on.
    AcciCached,
    /// The least any durable one-event command can cost: one INSERT in its own
    /// transaction, nothing read, nothing checked. Not a competitor; a floor.
    Floor,
}

impl System {
    /// The label in the JSON lines and the table.
    pub fn label(self) -> &'static str {
        match self {
            System::Raw => "raw",
            System::Acci => "acci",
            System::AcciCached => "acci+cache",
            System::Floor => "floor",
        }
    }
}

/// Operation latencies, collected as they happen.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// Records one operation.
    pub fn push(&mut self, took: Duration) {
        self.0.push(took);
    }

    /// Takes in another collection's operations.
    pub fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// The `p`-th percentile (0–100), by nearest rank; zero without operations.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// How many operations were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One system's figures in one scenario.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The scenario's name, such as `command_seq`.
    pub scenario: String,
    /// Which system ran.
    pub system: System,
    /// How many units of work (commands, events, loads) it did.
    pub n: u64,
    /// The wall-clock time they took.
    pub elapsed: Duration,
    /// Each operation's latency.
    pub latencies: Latencies,
    /// The process's peak resident memory during the run, where it matters.
    pub peak_rss_bytes: Option<u64>,
    /// Whatever else the scenario reports (conflicts, hit ratio, …).
    pub extra: Map<String, Value>,
}

impl Measurement {
    /// A measurement with no latencies, memory figure or extras yet.
    pub fn new(scenario: &str, system: System, n: u64, elapsed: Duration) -> Self {
        Self {
            scenario: scenario.to_owned(),
            system,
            n,
            elapsed,
            latencies: Latencies::default(),
            peak_rss_bytes: None,
            extra: Map::new(),
        }
    }

    /// Units of work per second.
    pub fn per_second(&self) -> f64 {
        self.n as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The JSON line the program prints.
    pub fn json(&self) -> Value {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        let mut line = json!({
            "system": self.system.label(),
            "scenario": self.scenario,
            "n": self.n,
            "seconds": (self.elapsed.as_secs_f64() * 1e4).round() / 1e4,
            "per_second": self.per_second().round(),
            "p50_ms": (!self.latencies.is_empty()).then(|| ms(self.latencies.percentile(50.0))),
            "p99_ms": (!self.latencies.is_empty()).then(|| ms(self.latencies.percentile(99.0))),
            "peak_rss_mb": self.peak_rss_bytes.map(|b| (b as f64 / 1048576.0 * 10.0).round() / 10.0),
        });
        if let Value::Object(fields) = &mut line {
            fields.extend(self.extra.clone());
        }
        line
    }
}

/// A target: the figure must reach at least, or stay at most, the bound.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// The figure must be at least this.
    AtLeast(f64),
    /// The figure must be at most this.
    AtMost(f64),
    /// No target: the figure is shown for comparison.
    Reported,
}

/// One figure held against its target.
#[derive(Debug, Clone)]
pub struct Check {
    /// The scenario.
    pub scenario: String,
    /// What the figure is, such as `acci/raw throughput`.
    pub figure: String,
    /// Its value.
    pub value: f64,
    /// The target.
    pub bound: Bound,
}

impl Check {
    /// A check of `figure` in `scenario`.
    pub fn new(scenario: &str, figure: impl Into<String>, value: f64, bound: Bound) -> Self {
        Self {
            scenario: scenario.to_owned(),
            figure: figure.into(),
            value,
            bound,
        }
    }

    /// Whether the figure meets its target.
    pub fn met(&self) -> bool {
        match self.bound {
            Bound::AtLeast(bound) => self.value >= bound,
            Bound::AtMost(bound) => self.value <= bound,
            Bound::Reported => true,
        }
    }

    fn target(&self) -> String {
        match self.bound {
            Bound::AtLeast(bound) => format!(">= {}", figure(bound)),
            Bound::AtMost(bound) => format!("<= {}", figure(bound)),
            Bound::Reported => "-".to_owned(),
        }
    }
}

fn figure(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// Each system's figures, in the order measured.
    pub measurements: Vec<Measurement>,
    /// The targets and how each came out.
    pub checks: Vec<Check>,
}

impl Report {
    /// Records a measurement and prints its JSON line at once.
    pub fn measured(&mut self, measurement: Measurement) {
        println!("{}", measurement.json());
        self.measurements.push(measurement);
    }

    /// Records a check.
    pub fn check(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// The human-readable table: every measurement, then every target.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "\n{:<14} {:<11} {:>9} {:>9} {:>12} {:>9} {:>9} {:>8}\n",
            "scenario", "system", "n", "seconds", "per second", "p50 ms", "p99 ms", "RSS MB"
        ));
        for m in &self.measurements {
            let ms = |p| {
                if m.latencies.is_empty() {
                    "-".to_owned()
                } else {
                    format!("{:.3}", m.latencies.percentile(p).as_secs_f64() * 1e3)
                }
            };
            let rss = m.peak_rss_bytes.map_or_else(
                || "-".to_owned(),
                |b| format!("{:.1}", b as f64 / 1048576.0),
            );
            out.push_str(&format!(
                "{:<14} {:<11} {:>9} {:>9.3} {:>12.0} {:>9} {:>9} {:>8}\n",
                m.scenario,
                m.system.label(),
                m.n,
                m.elapsed.as_secs_f64(),
                m.per_second(),
                ms(50.0),
                ms(99.0),
                rss
            ));
        }
        out.push_str(&format!(
            "\n{:<14} {:<44} {:>10} {:>10}  {}\n",
            "scenario", "figure", "value", "target", "met"
        ));
        for check in &self.checks {
            out.push_str(&format!(
                "{:<14} {:<44} {:>10} {:>10}  {}\n",
                check.scenario,
                check.figure,
                figure(check.value),
                check.target(),
                match (check.bound, check.met()) {
                    (Bound::Reported, _) => "-",
                    (_, true) => "yes",
                    (_, false) => "NO",
                }
            ));
        }
        out
    }
}

/// The process's peak resident memory, from `/proc/self/status`; `None` where that does
/// not exist.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut latencies = Latencies::default();
        for ms in 1..=100 {
            latencies.push(Duration::from_millis(ms));
        }
        assert_eq!(latencies.percentile(50.0), Duration::from_millis(50));
        assert_eq!(latencies.percentile(99.0), Duration::from_millis(99));
        assert_eq!(latencies.percentile(100.0), Duration::from_millis(100));
        assert_eq!(Latencies::default().percentile(50.0), Duration::ZERO);
    }

    #[test]
    fn checks_hold_figures_against_their_bounds() {
        assert!(Check::new("s", "f", 0.95, Bound::AtLeast(0.9)).met());
        assert!(!Check::new("s", "f", 0.85, Bound::AtLeast(0.9)).met());
        assert!(Check::new("s", "f", 1.2, Bound::AtMost(1.25)).met());
        assert!(!Check::new("s", "f", 1.3, Bound::AtMost(1.25)).met());
    }

    #[test]
    fn the_peak_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        }
    }
}
