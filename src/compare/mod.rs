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

mod case;
mod histogram;
mod report;

use std::path::{Path, PathBuf};

use crate::config::{CompareArgs, Config};
use crate::params::{ParamLimits, Params};
use crate::render::Renderer;

pub use histogram::histogram_distance;
pub use report::{CaseReport, Measures, Outcome, Report, Summary};

use case::compare_one;
use report::summarise;

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
