//! `imgshield compare`: both engines over a directory of images and a list of parameter sets, with
//! the numbers a rollout decision needs per case and in total: time ratio (rust/vips), output size
//! ratio, SSIM between the two outputs (luma) and a colour-histogram distance. Thresholds make it
//! exit non-zero, so it can gate a rollout in CI.
//!
//! Each case goes through the server's own render path (`render::Renderer`: probe, the configured
//! source and output limits from the `IMGSHIELD_*` environment, format choice, trim, plan,
//! watermark, text, animation), once with each engine named, `runs` times; the fastest run counts
//! (the least disturbed by other work on the machine). A watermark's `wm=` names a file in the
//! same directory. Both outputs are decoded by the pure-Rust decoders, so libvips does not judge
//! its own output. A case the Rust engine cannot do (it names why) is reported as skipped, not
//! failed: in production such a request falls back to libvips.
//!
//! Histogram distance: per channel (R, G, B, composited over white), a 32-bin histogram normalised
//! to sum 1; the distance is the total-variation distance `0.5 * sum |a - b|`, averaged over the
//! channels. 0 means identical colour distributions, 1 disjoint ones.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use bytes::Bytes;

use crate::config::{CompareArgs, Config};
use crate::engine::rust::decode_rgba;
use crate::engine::select::Made;
use crate::engine::EngineError;
use crate::params::{ParamLimits, Params, Source};
use crate::quality::{ssim, Luma};
use crate::render::{Job, RenderError, Rendered, Renderer};
use crate::types::{AcceptClass, EngineChoice};

const BINS: usize = 32;

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

/// Runs the comparison; `Ok(report)` whether or not the thresholds held (see `Summary::failed`).
pub fn run(args: &CompareArgs) -> Result<Report, String> {
    let renderer = renderer()?;
    let images = images_in(&args.dir)?;
    if images.is_empty() {
        return Err(format!(
            "no JPEG, PNG, WebP or GIF files in {}",
            args.dir.display()
        ));
    }
    let param_sets = if args.params.is_empty() {
        vec!["w=300".to_string()]
    } else {
        args.params.clone()
    };
    let limits = ParamLimits::default();
    let mut cases = Vec::new();
    for path in &images {
        let name = path
            .strip_prefix(&args.dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let source = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for set in &param_sets {
            let query = format!("src=compare&{set}");
            let params = Params::parse(&query, &limits).map_err(|e| format!("'{set}': {e}"))?;
            let outcome = compare_one(&renderer, &params, &source, args);
            cases.push(CaseReport {
                image: name.clone(),
                params: set.clone(),
                outcome,
            });
        }
    }
    let summary = summarise(&cases, args);
    Ok(Report { cases, summary })
}

/// Both engines and the limits as the server would have them with this environment's
/// `IMGSHIELD_*` settings (and otherwise its defaults).
fn renderer() -> Result<Renderer, String> {
    Renderer::from_config(&Config::from_env()?)
}

fn images_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut images: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(
                        e.to_ascii_lowercase().as_str(),
                        "jpg" | "jpeg" | "png" | "webp" | "gif"
                    )
                })
        })
        .collect();
    images.sort();
    Ok(images)
}

/// The fastest of `runs` renders of `params` on `source` by the engine `named`.
fn timed(
    renderer: &Renderer,
    named: EngineChoice,
    params: &Params,
    source: &[u8],
    watermark: Option<&Bytes>,
    runs: u32,
) -> Result<(Made, Duration), RenderError> {
    let selection = renderer.select(Some(named), || 0);
    let mut best: Option<(Made, Duration)> = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let rendered = renderer.render(Job::Resize {
            source,
            params,
            accept: AcceptClass::Legacy,
            selection: &selection,
            watermark: watermark.cloned(),
        })?;
        let took = started.elapsed();
        let Rendered::Image(made) = rendered else {
            return Err(EngineError::Internal("a resize made no image".into()).into());
        };
        if best.as_ref().is_none_or(|(_, b)| took < *b) {
            best = Some((made, took));
        }
    }
    best.ok_or_else(|| EngineError::Internal("no run".into()).into())
}

/// The watermark file `wm=` names, in the compared directory.
fn watermark(params: &Params, dir: &Path) -> Result<Option<Bytes>, String> {
    match params.watermark.as_ref().map(|wm| &wm.src) {
        None => Ok(None),
        Some(Source::Local(path)) => std::fs::read(dir.join(path.as_str()))
            .map(|bytes| Some(Bytes::from(bytes)))
            .map_err(|e| format!("watermark {}: {e}", path.as_str())),
        Some(Source::Remote(url)) => {
            Err(format!("watermark {url}: compare reads local files only"))
        }
    }
}

fn compare_one(renderer: &Renderer, params: &Params, source: &[u8], args: &CompareArgs) -> Outcome {
    let error = |reason: String| Outcome::Error { reason };
    let watermark = match watermark(params, &args.dir) {
        Ok(watermark) => watermark,
        Err(e) => return error(e),
    };
    let runs = args.runs;
    let (vips, vips_time) = match timed(
        renderer,
        EngineChoice::Vips,
        params,
        source,
        watermark.as_ref(),
        runs,
    ) {
        Ok(made) => made,
        Err(e) => return error(e.to_string()),
    };
    let (rust, rust_time) = match timed(
        renderer,
        EngineChoice::Rust,
        params,
        source,
        watermark.as_ref(),
        runs,
    ) {
        Ok(made) => made,
        Err(e) => {
            return Outcome::Skipped {
                reason: format!("the Rust engine: {e}"),
            }
        }
    };
    let (a, b) = (vips.encoded, rust.encoded);
    let decoded = decode_rgba(&a.bytes).and_then(|x| Ok((x, decode_rgba(&b.bytes)?)));
    let ((aw, ah, a_px), (bw, bh, b_px)) = match decoded {
        Ok(both) => both,
        Err(e) => return error(format!("reading the outputs back: {e}")),
    };
    let score = ssim(
        &Luma::from_rgba_over_white(aw, ah, &a_px),
        &Luma::from_rgba_over_white(bw, bh, &b_px),
    );
    let Some(score) = score else {
        return error(format!(
            "outputs differ in size: vips {aw}x{ah}, rust {bw}x{bh}"
        ));
    };
    let distance = histogram_distance(&a_px, &b_px);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Outcome::Compared(Measures {
        width: aw,
        height: ah,
        vips_ms: ms(vips_time),
        rust_ms: ms(rust_time),
        time_ratio: rust_time.as_secs_f64() / vips_time.as_secs_f64().max(1e-9),
        vips_bytes: a.bytes.len(),
        rust_bytes: b.bytes.len(),
        size_ratio: b.bytes.len() as f64 / a.bytes.len().max(1) as f64,
        ssim: score,
        histogram_distance: distance,
        passed: score >= args.min_ssim && distance <= args.max_histogram_distance,
    })
}

/// Mean over R, G, B of the total-variation distance between 32-bin histograms, colours
/// composited over white.
pub fn histogram_distance(a_rgba: &[u8], b_rgba: &[u8]) -> f64 {
    fn histograms(rgba: &[u8]) -> [[f64; BINS]; 3] {
        let mut h = [[0.0; BINS]; 3];
        let mut n = 0.0;
        for p in rgba.chunks_exact(4) {
            let a = u32::from(p[3]);
            for (c, hist) in h.iter_mut().enumerate() {
                let v = (u32::from(p[c]) * a + 255 * (255 - a) + 127) / 255;
                hist[(v as usize * BINS) / 256] += 1.0;
            }
            n += 1.0;
        }
        if n > 0.0 {
            for hist in &mut h {
                hist.iter_mut().for_each(|v| *v /= n);
            }
        }
        h
    }
    let (ha, hb) = (histograms(a_rgba), histograms(b_rgba));
    ha.iter()
        .zip(&hb)
        .map(|(x, y)| 0.5 * x.iter().zip(y).map(|(p, q)| (p - q).abs()).sum::<f64>())
        .sum::<f64>()
        / 3.0
}

fn summarise(cases: &[CaseReport], args: &CompareArgs) -> Summary {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(pixels: &[[u8; 4]]) -> Vec<u8> {
        pixels.iter().flatten().copied().collect()
    }

    #[test]
    fn histogram_distance_is_zero_for_equal_and_one_for_disjoint_colours() {
        let red = rgba(&[[255, 0, 0, 255]; 16]);
        assert_eq!(histogram_distance(&red, &red), 0.0);
        let black = rgba(&[[0, 0, 0, 255]; 16]);
        // R differs completely; G and B are 0 in both.
        assert!((histogram_distance(&red, &black) - 1.0 / 3.0).abs() < 1e-12);
        let white = rgba(&[[255, 255, 255, 255]; 16]);
        assert!((histogram_distance(&black, &white) - 1.0).abs() < 1e-12);
        // Transparent black is white once composited.
        let clear = rgba(&[[0, 0, 0, 0]; 16]);
        assert_eq!(histogram_distance(&clear, &white), 0.0);
    }

    #[test]
    fn half_the_pixels_moved_is_half_the_distance() {
        let grey = rgba(&[[128, 128, 128, 255]; 8]);
        let mut mixed = rgba(&[[128, 128, 128, 255]; 4]);
        mixed.extend(rgba(&[[0, 0, 0, 255]; 4]));
        assert!((histogram_distance(&grey, &mixed) - 0.5).abs() < 1e-12);
    }
}
