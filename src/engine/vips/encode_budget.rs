//! Encoders the deadline cannot stop. libvips 8.14 hands WebP (libwebp), AVIF (libheif/aom), GIF
//! (cgif + libimagequant) and palette PNG (libimagequant) the whole frame and encodes it in one call
//! that never looks at the kill flag: a 25-MP lossless WebP ran 23 s of CPU under a 2 s deadline.
//! So their work is bounded before it starts, from the output's pixels:
//!
//! 1. the setting: the format's default effort when its estimate fits half the time limit, else the
//!    cheapest effort that does, else 422 `processing_timeout` before any pixel is decoded. This
//!    depends only on the output size and `--max-processing-time`, so one URL always gets the same
//!    bytes (a cached rendition never depends on the machine's load);
//! 2. the pipeline (decode, resize, effects) is computed into memory under the kill flag, where the
//!    deadline stops it;
//! 3. the encoder starts only if twice its estimate fits the time that is left (the estimates are
//!    CPU time, the deadline wall time), else 422 `processing_timeout` at once.
//!
//! JPEG and PNG write strip by strip as the pipeline produces them, so the kill flag stops them.

use std::time::Duration;

use super::{Image, SaveFormat};
use crate::engine::{Clock, EngineError};

/// CPU time of one encoder setting per million output pixels, measured with `vips copy` on a
/// 5000×5000 photo-like image (noise and edges: near the worst case for these encoders) on the
/// 2-core build machine, libvips 8.14.1 (docs/SECURITY.md, "Processing deadline"), rounded up.
#[derive(Clone, Copy, Debug)]
struct Cost {
    effort: u8,
    ms_per_megapixel: u64,
}

const fn cost(effort: u8, ms_per_megapixel: u64) -> Cost {
    Cost {
        effort,
        ms_per_megapixel,
    }
}

/// Lossless WebP: 31.7 s (effort 4) and 24.8 s (effort 0) for 25 MP.
const WEBP_LOSSLESS: [Cost; 2] = [cost(4, 1_300), cost(0, 1_000)];
/// Lossy WebP at q=90: 2.67 s (effort 4) and 1.30 s (effort 2) for 25 MP. Efforts 0 and 1 fail on
/// such a frame ("unable to encode": libwebp's first partition overflows), so 2 is the floor.
const WEBP_LOSSY: [Cost; 2] = [cost(4, 110), cost(2, 55)];
/// AVIF at q=95: 8.79 s (effort 2) and 2.30 s (effort 0) for 25 MP; ~0.95 s at effort 0 for 9 MP
/// downscaled from it (denser detail per pixel), so 110.
const AVIF: [Cost; 2] = [cost(2, 360), cost(0, 110)];
/// GIF and palette PNG (libimagequant): 4.54 s for 25 MP, ~1.0 s for 4 MP downscaled from it; a
/// lower quantisation effort saves ~10%.
const QUANTISED: [Cost; 1] = [cost(0, 250)];
/// JPEG XL at q=75: 0.61 s (effort 4) and 0.48 s (effort 3) of CPU for 25 MP (4.8 s at libvips'
/// default effort 7, which we do not use); libjxl encodes the whole frame in one call.
const JXL: [Cost; 1] = [cost(4, 60)];
/// The encoder starts only if twice its estimate fits the time left: the estimates are CPU time
/// and the deadline is wall time, which a busy machine stretches (measured ~2× on the 2-core
/// build machine with other jobs running).
const WALL_PER_CPU: u32 = 2;

/// The settings of an encoder that runs in one uninterruptible call, default first; `None` for
/// the encoders the kill flag stops.
fn ladder(format: &SaveFormat) -> Option<&'static [Cost]> {
    match format {
        SaveFormat::Webp { lossless: true, .. } => Some(&WEBP_LOSSLESS),
        SaveFormat::Webp { .. } => Some(&WEBP_LOSSY),
        SaveFormat::Avif { .. } => Some(&AVIF),
        SaveFormat::Jxl { .. } => Some(&JXL),
        SaveFormat::Gif { .. } | SaveFormat::Png { palette: true, .. } => Some(&QUANTISED),
        SaveFormat::Jpeg { .. } | SaveFormat::Png { .. } => None,
    }
}

fn with_effort(format: SaveFormat, effort: u8) -> SaveFormat {
    match format {
        SaveFormat::Webp {
            quality,
            lossless,
            strip,
            ..
        } => SaveFormat::Webp {
            quality,
            lossless,
            effort,
            strip,
        },
        SaveFormat::Avif { quality, strip, .. } => SaveFormat::Avif {
            quality,
            effort,
            strip,
        },
        SaveFormat::Jxl { quality, strip, .. } => SaveFormat::Jxl {
            quality,
            effort,
            strip,
        },
        other => other,
    }
}

fn estimate(cost: &Cost, pixels: u64) -> Duration {
    Duration::from_micros(pixels.saturating_mul(cost.ms_per_megapixel) / 1_000)
}

/// A name for messages: `lossless WebP`, `AVIF`, ...
fn describe(format: &SaveFormat) -> &'static str {
    match format {
        SaveFormat::Webp { lossless: true, .. } => "lossless WebP",
        SaveFormat::Webp { .. } => "WebP",
        SaveFormat::Avif { .. } => "AVIF",
        SaveFormat::Jxl { .. } => "JPEG XL",
        SaveFormat::Gif { .. } => "GIF",
        SaveFormat::Png { .. } => "palette PNG",
        SaveFormat::Jpeg { .. } => "JPEG",
    }
}

/// How `pixels` will be encoded as `format` under `limit`: the setting, and the estimate of its
/// uninterruptible call (`None` when the kill flag can stop the encoder).
pub(super) fn choose(
    format: SaveFormat,
    pixels: u64,
    limit: Option<Duration>,
) -> Result<(SaveFormat, Option<Duration>), EngineError> {
    let (Some(ladder), Some(limit)) = (ladder(&format), limit) else {
        return Ok((format, None));
    };
    let share = limit / 2;
    let fits = ladder.iter().find(|c| estimate(c, pixels) <= share);
    match fits {
        Some(cost) => Ok((
            with_effort(format, cost.effort),
            Some(estimate(cost, pixels)),
        )),
        None => {
            let cheapest = ladder.last().map_or(Duration::MAX, |c| estimate(c, pixels));
            Err(EngineError::WouldTimeOut(format!(
                "encoding {pixels} pixels as {} takes about {} ms and cannot be interrupted; \
                 the {} ms processing limit allows half of it: ask for a smaller size or \
                 another format",
                describe(&format),
                cheapest.as_millis(),
                limit.as_millis()
            )))
        }
    }
}

/// Encodes `image` as `format` within `clock`: see the module's three steps. `save` is the
/// caller's encoder call (it may post-process the bytes).
pub(super) fn encode_within<'s>(
    image: Image<'s>,
    format: SaveFormat,
    clock: &Clock,
    save: impl FnOnce(&Image<'s>, SaveFormat) -> Result<Vec<u8>, EngineError>,
) -> Result<Vec<u8>, EngineError> {
    let pixels = u64::from(image.width()) * u64::from(image.height());
    let (format, uninterruptible) = choose(format, pixels, clock.limit())?;
    let Some(needed) = uninterruptible else {
        if let Some(remaining) = clock.remaining() {
            image.set_time_limit(remaining);
        }
        return save(&image, format).map_err(|e| clock.explain(e));
    };
    if let Some(remaining) = clock.remaining() {
        image.set_time_limit(remaining);
    }
    let computed = image
        .in_memory()
        .map_err(|e| clock.explain(EngineError::Undecodable(e.0)))?;
    // `image` stays alive until the save: libvips points the copy's progress signal at it without
    // a reference, and the encoder's progress hook fires that signal.
    clock.check()?;
    let left = clock.remaining().unwrap_or(Duration::MAX);
    if needed.saturating_mul(WALL_PER_CPU) > left {
        return Err(EngineError::WouldTimeOut(format!(
            "encoding {pixels} pixels as {} takes about {} ms and cannot be interrupted; \
             {} ms of the processing limit are left",
            describe(&format),
            needed.as_millis(),
            left.as_millis()
        )));
    }
    // What the encoder itself checks of the kill flag (libwebp's progress hook) still applies.
    computed.set_time_limit(left);
    let bytes = save(&computed, format).map_err(|e| clock.explain(e));
    drop(image);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webp(lossless: bool) -> SaveFormat {
        SaveFormat::Webp {
            quality: 80,
            lossless,
            effort: 4,
            strip: true,
        }
    }

    fn effort(format: SaveFormat) -> u8 {
        match format {
            SaveFormat::Webp { effort, .. } | SaveFormat::Avif { effort, .. } => effort,
            _ => 0,
        }
    }

    #[test]
    fn the_default_effort_when_it_fits_a_cheaper_one_else_a_refusal() {
        let ten = Some(Duration::from_secs(10));
        let (small, estimate) = choose(webp(false), 1_000_000, ten).expect("fits");
        assert_eq!(
            (effort(small), estimate),
            (4, Some(Duration::from_millis(110)))
        );
        // 25 MP of lossy WebP: 2.75 s at effort 4 fits 5 s; 1.4 s at effort 2 fits 1.5 s only.
        let three = Some(Duration::from_secs(3));
        assert_eq!(
            effort(choose(webp(false), 25_000_000, ten).expect("fits").0),
            4
        );
        assert_eq!(
            effort(choose(webp(false), 25_000_000, three).expect("fits").0),
            2
        );
        // 25 MP of lossless WebP takes ~25 s at best: refused under either limit.
        assert!(matches!(
            choose(webp(true), 25_000_000, ten),
            Err(EngineError::WouldTimeOut(_))
        ));
    }

    #[test]
    fn interruptible_encoders_and_no_limit_are_left_alone() {
        let jpeg = SaveFormat::Jpeg {
            quality: 80,
            progressive: false,
            strip: true,
        };
        let huge = 1_000_000_000;
        assert!(matches!(
            choose(jpeg, huge, Some(Duration::from_millis(1))),
            Ok((_, None))
        ));
        assert!(matches!(choose(webp(true), huge, None), Ok((_, None))));
    }
}
