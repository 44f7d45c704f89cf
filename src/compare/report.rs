//! What a comparison reports: per-case outcomes, the summary over all cases, the pass/fail
//! verdict that gates a rollout, and the readable table.

use serde::Serialize;

use crate::config::CompareArgs;

/// One image under one parameter set.
#[derive(Debug, Serialize)]
pub struct CaseReport {
    pub image: String,
    pub params: String,
    pub outcome: Outcome,
}

#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Compared(Measures),
    /// The Rust engine cannot do this yet (production falls back to libvips).
    Skipped {
        reason: String,
    },
    /// libvips itself refused the source or the plan.
    Error {
        reason: String,
    },
}

#[derive(Debug, Serialize)]
pub struct Measures {
    pub width: u32,
    pub height: u32,
    pub vips_ms: f64,
    pub rust_ms: f64,
    pub time_ratio: f64,
    pub vips_bytes: usize,
    pub rust_bytes: usize,
    pub size_ratio: f64,
    pub ssim: f64,
    pub histogram_distance: f64,
    pub passed: bool,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub compared: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    /// Geometric mean of the per-case time ratios (rust/vips).
    pub time_ratio_geomean: Option<f64>,
    /// All Rust output bytes over all libvips output bytes.
    pub size_ratio_total: Option<f64>,
    pub ssim_min: Option<f64>,
    pub histogram_distance_max: Option<f64>,
    pub min_ssim: f64,
    pub max_histogram_distance: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub cases: Vec<CaseReport>,
    pub summary: Summary,
}

pub(super) fn summarise(cases: &[CaseReport], args: &CompareArgs) -> Summary {
    let measures: Vec<&Measures> = cases
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Compared(m) => Some(m),
            _ => None,
        })
        .collect();
    let count = |f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let some = |v: f64| (!measures.is_empty()).then_some(v);
    let vips_bytes: usize = measures.iter().map(|m| m.vips_bytes).sum();
    let rust_bytes: usize = measures.iter().map(|m| m.rust_bytes).sum();
    Summary {
        compared: measures.len(),
        passed: measures.iter().filter(|m| m.passed).count(),
        failed: measures.iter().filter(|m| !m.passed).count(),
        skipped: count(|o| matches!(o, Outcome::Skipped { .. })),
        errors: count(|o| matches!(o, Outcome::Error { .. })),
        time_ratio_geomean: some(
            (measures.iter().map(|m| m.time_ratio.ln()).sum::<f64>() / measures.len() as f64).exp(),
        ),
        size_ratio_total: some(rust_bytes as f64 / vips_bytes.max(1) as f64),
        ssim_min: measures.iter().map(|m| m.ssim).reduce(f64::min),
        histogram_distance_max: measures
            .iter()
            .map(|m| m.histogram_distance)
            .reduce(f64::max),
        min_ssim: args.min_ssim,
        max_histogram_distance: args.max_histogram_distance,
    }
}

impl Report {
    /// Whether a rollout may go on: every compared case within the thresholds, no libvips errors.
    pub fn passed(&self) -> bool {
        self.summary.failed == 0 && self.summary.errors == 0
    }

    /// A readable table, one row per case, then the totals.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| image | params | size | vips ms | rust ms | time rust/vips | vips bytes | rust bytes | size rust/vips | SSIM | hist. dist. | verdict |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for case in &self.cases {
            let row = match &case.outcome {
                Outcome::Compared(m) => format!(
                    "{}x{} | {:.1} | {:.1} | {:.2} | {} | {} | {:.2} | {:.4} | {:.4} | {}",
                    m.width,
                    m.height,
                    m.vips_ms,
                    m.rust_ms,
                    m.time_ratio,
                    m.vips_bytes,
                    m.rust_bytes,
                    m.size_ratio,
                    m.ssim,
                    m.histogram_distance,
                    if m.passed { "pass" } else { "FAIL" }
                ),
                Outcome::Skipped { reason } => {
                    format!("| | | | | | | | | skipped: {reason}")
                }
                Outcome::Error { reason } => format!("| | | | | | | | | ERROR: {reason}"),
            };
            out.push_str(&format!("| {} | {} | {row} |\n", case.image, case.params));
        }
        let s = &self.summary;
        let opt =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        out.push_str(&format!(
            "\ncompared {}, passed {}, failed {}, skipped {}, errors {}; time rust/vips (geometric mean) {}, \
             bytes rust/vips {}, SSIM min {} (threshold {}), histogram distance max {} (threshold {})\n",
            s.compared,
            s.passed,
            s.failed,
            s.skipped,
            s.errors,
            opt(s.time_ratio_geomean, 2),
            opt(s.size_ratio_total, 2),
            opt(s.ssim_min, 4),
            s.min_ssim,
            opt(s.histogram_distance_max, 4),
            s.max_histogram_distance,
        ));
        out
    }
}
