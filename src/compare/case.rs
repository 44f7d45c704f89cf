//! One case of the comparison: the same render by each engine, timed (fastest of `runs`), then
//! both outputs decoded by the pure-Rust decoders and measured against each other.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::CompareArgs;
use crate::engine::rust::decode_rgba;
use crate::engine::select::Made;
use crate::engine::EngineError;
use crate::params::{Params, Source};
use crate::quality::{ssim, Luma};
use crate::render::{Job, RenderError, Rendered, Renderer};
use crate::types::{AcceptClass, EngineChoice};

use super::histogram::histogram_distance;
use super::report::{Measures, Outcome};

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
            private: false,
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

/// One image under one parameter set: each engine's render, then [`measure`].
pub(super) fn compare_one(
    renderer: &Renderer,
    params: &Params,
    source: &[u8],
    args: &CompareArgs,
) -> Outcome {
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
    measure((vips, vips_time), (rust, rust_time), args)
}

/// The two outputs read back and compared: SSIM, histogram distance, time and size ratios.
fn measure(
    (vips, vips_time): (Made, Duration),
    (rust, rust_time): (Made, Duration),
    args: &CompareArgs,
) -> Outcome {
    let error = |reason: String| Outcome::Error { reason };
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
