//! The results: one line per figure on standard output as it is measured
//! (`SCENARIO BACKEND figure=VALUE unit baseline=VALUE ratio=VALUE`), the targets of BENCHMARKS.md
//! judged at the end, and everything again as one JSON file.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

/// How a figure is judged against its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The value must be at least this.
    ValueAtLeast(f64),
    /// The value must be at most this.
    ValueAtMost(f64),
    /// The ratio (value / baseline) must be at least this.
    RatioAtLeast(f64),
    /// The ratio (value / baseline) must be at most this.
    RatioAtMost(f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::ValueAtLeast(v) => format!(">= {} {unit}", num(v)),
            Target::ValueAtMost(v) => format!("<= {} {unit}", num(v)),
            Target::RatioAtLeast(r) => format!("ratio >= {}", num(r)),
            Target::RatioAtMost(r) => format!("ratio <= {}", num(r)),
        }
    }

    fn met(self, value: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Target::ValueAtLeast(v) => Some(value >= v),
            Target::ValueAtMost(v) => Some(value <= v),
            Target::RatioAtLeast(r) => ratio.map(|x| x >= r),
            Target::RatioAtMost(r) => ratio.map(|x| x <= r),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// `ingest`, `regen`, …
    pub scenario: String,
    /// `file` or `postgres`.
    pub backend: String,
    /// The figure's name (`objects_per_s`, `median`, …).
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The baseline measured in the same run, if the figure has one.
    pub baseline: Option<f64>,
    /// What the baseline is.
    pub baseline_what: String,
    /// The targets of BENCHMARKS.md for this figure.
    pub targets: Vec<Target>,
}

impl Figure {
    /// A figure without baseline or target.
    pub fn new(scenario: &str, backend: &str, name: &str, value: f64, unit: &str) -> Self {
        Figure {
            scenario: scenario.into(),
            backend: backend.into(),
            name: name.into(),
            value,
            unit: unit.into(),
            baseline: None,
            baseline_what: String::new(),
            targets: Vec::new(),
        }
    }

    /// With a baseline and what it is.
    #[must_use]
    pub fn baseline(mut self, value: f64, what: &str) -> Self {
        self.baseline = Some(value);
        self.baseline_what = what.into();
        self
    }

    /// With a target.
    #[must_use]
    pub fn target(mut self, target: Target) -> Self {
        self.targets.push(target);
        self
    }

    /// value / baseline.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.filter(|b| *b != 0.0).map(|b| self.value / b)
    }

    /// Whether every target is met; `None` without targets.
    pub fn met(&self) -> Option<bool> {
        let verdicts: Vec<Option<bool>> = self
            .targets
            .iter()
            .map(|t| t.met(self.value, self.ratio()))
            .collect();
        if verdicts.is_empty() {
            None
        } else {
            Some(verdicts.iter().all(|v| *v == Some(true)))
        }
    }

    fn line(&self) -> String {
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), num);
        format!(
            "{} {} {}={} {} baseline={} ratio={}",
            self.scenario,
            self.backend,
            self.name,
            num(self.value),
            self.unit,
            opt(self.baseline),
            opt(self.ratio())
        )
    }
}

/// A number with about four significant digits, no exponent.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    let decimals = if a == 0.0 || a >= 1000.0 {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a >= 0.01 {
        4
    } else {
        6
    };
    format!("{v:.decimals$}")
}

/// Everything of one run.
#[derive(Debug, Default)]
pub struct Report {
    figures: Vec<Figure>,
    skipped: Vec<(String, String, String)>,
    notes: Vec<Value>,
    /// The machine, the options and the baselines' descriptions.
    pub header: serde_json::Map<String, Value>,
}

impl Report {
    /// Records and prints a figure.
    pub fn add(&mut self, figure: Figure) {
        println!("{}", figure.line());
        self.figures.push(figure);
    }

    /// Records and prints a scenario skipped for a backend.
    pub fn skip(&mut self, scenario: &str, backend: &str, reason: &str) {
        println!("{scenario} {backend} skipped reason={reason:?}");
        self.skipped
            .push((scenario.into(), backend.into(), reason.into()));
    }

    /// Prints an explanatory line (`# …`) and keeps it with structured detail in the JSON.
    pub fn note(&mut self, scenario: &str, backend: &str, text: &str, detail: Value) {
        println!("# {scenario} {backend}: {text}");
        self.notes.push(
            json!({"scenario": scenario, "backend": backend, "text": text, "detail": detail}),
        );
    }

    /// Prints the targets of BENCHMARKS.md with their verdicts.
    pub fn print_targets(&self) {
        println!("# targets (ratio = figure / baseline)");
        for f in self.figures.iter().filter(|f| !f.targets.is_empty()) {
            let targets: Vec<String> = f.targets.iter().map(|t| t.describe(&f.unit)).collect();
            let verdict = match f.met() {
                Some(true) => "met",
                Some(false) => "NOT MET",
                None => "n/a",
            };
            println!(
                "#   {:<12} {:<8} {:<22} {:<26} {verdict}",
                f.scenario,
                f.backend,
                f.name,
                targets.join(" and ")
            );
        }
        for (s, b, why) in &self.skipped {
            println!("#   {s:<12} {b:<8} skipped: {why}");
        }
    }

    /// Writes the whole report as JSON.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let figures: Vec<Value> = self
            .figures
            .iter()
            .map(|f| {
                json!({
                    "scenario": f.scenario, "backend": f.backend, "figure": f.name,
                    "value": f.value, "unit": f.unit, "baseline": f.baseline,
                    "baseline_is": f.baseline_what, "ratio": f.ratio(),
                    "targets": f.targets.iter().map(|t| t.describe(&f.unit)).collect::<Vec<_>>(),
                    "met": f.met(),
                })
            })
            .collect();
        let skipped: Vec<Value> = self
            .skipped
            .iter()
            .map(|(s, b, r)| json!({"scenario": s, "backend": b, "reason": r}))
            .collect();
        let doc = json!({
            "header": Value::Object(self.header.clone()),
            "figures": figures,
            "skipped": skipped,
            "notes": self.notes,
        });
        let text = serde_json::to_string_pretty(&doc).context("serialising the report")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Latencies collected during a scenario.
#[derive(Debug, Default, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// Adds one.
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// The `q` quantile (0 … 1) in milliseconds, nearest rank; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let mut v = self.0.clone();
        v.sort_unstable();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1].as_secs_f64() * 1e3
    }

    /// The median in milliseconds.
    pub fn median_ms(&self) -> f64 {
        self.quantile_ms(0.5)
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// The machine: processors, memory, kernel, load, for the header and the first output line.
pub fn machine() -> serde_json::Map<String, Value> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let meminfo = read("/proc/meminfo");
    let kb = |key: &str| {
        meminfo
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let mut m = serde_json::Map::new();
    m.insert(
        "nproc".into(),
        json!(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)),
    );
    m.insert("mem_total_mb".into(), json!(kb("MemTotal:") / 1024));
    m.insert("mem_available_mb".into(), json!(kb("MemAvailable:") / 1024));
    m.insert("cpu".into(), json!(cpu));
    m.insert(
        "kernel".into(),
        json!(read("/proc/sys/kernel/osrelease").trim()),
    );
    m.insert(
        "loadavg".into(),
        json!(read("/proc/loadavg")
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_verdicts() {
        let mut s = Samples::default();
        for ms in 1..=100 {
            s.push(Duration::from_millis(ms));
        }
        assert!((s.median_ms() - 50.0).abs() < 1e-9);
        assert!((s.quantile_ms(0.99) - 99.0).abs() < 1e-9);
        let f = Figure::new("q", "file", "median", 1.0, "ms")
            .baseline(40.0, "scan")
            .target(Target::RatioAtMost(0.05));
        assert_eq!(f.met(), Some(true));
        assert_eq!(num(1234.56), "1235");
        assert_eq!(num(0.123456), "0.1235");
    }
}
