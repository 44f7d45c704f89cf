//! The JPEG fast paths: which sources are plain JPEGs, and the decode a plan resizes from when
//! the derivative cache is on (cached, derived from a finer kept level by a box shrink, or
//! decoded now at a DCT scale and kept). The cache itself, and why its reach rules are what they
//! are, live in `derivatives`.

use std::sync::Arc;

use super::derivatives::{self, Intermediate, Lookup};
use super::jpeg_load::load_jpeg;
use super::{draft_shrink, jpeg_shrink, undecodable, Image, VipsEngine};
use crate::engine::shrink::box_shrink;
use crate::engine::{Clock, EngineError, Plan};

impl VipsEngine {
    /// The DCT shrink a plain JPEG is decoded at for a target: [`draft_shrink`] or libvips'
    /// [`jpeg_shrink`]. The derivative cache decides with the same rule as the cold path, so a kept
    /// level never has fewer pixels than the cold path would decode.
    fn shrink_rule(&self) -> fn((u32, u32), (u32, u32)) -> u32 {
        if self.draft {
            draft_shrink
        } else {
            jpeg_shrink
        }
    }

    /// How much finer than the cold path's decode a kept level may be under the rule in use.
    fn reach(&self) -> u32 {
        if self.draft {
            derivatives::DRAFT_REACH
        } else {
            derivatives::HEADROOM_REACH
        }
    }

    /// The upright size of `source` when it is a plain JPEG: 8-bit sRGB or greyscale, no ICC
    /// profile, one page. Only those take the derivative cache and the draft load (anything else
    /// goes through thumbnail's own colour handling).
    pub(super) fn plain_jpeg(source: &[u8]) -> Result<Option<(u32, u32)>, EngineError> {
        let header = Image::header_from_buffer(source).map_err(undecodable)?;
        let plain = header
            .loader()
            .is_some_and(|loader| loader.starts_with("jpegload"))
            && !header.needs_srgb_conversion()
            && !header.has_icc_profile()
            && matches!(header.bands(), 1 | 3)
            && header.pages() <= 1;
        Ok(plain.then(|| {
            if (5..=8).contains(&header.orientation()) {
                (header.height(), header.width())
            } else {
                (header.width(), header.height())
            }
        }))
    }

    /// A decode of `source` that the plan may resize from, when the derivative cache is on and the
    /// source is a plain JPEG of upright size `jpeg` (see `derivatives`): cached, or decoded now and
    /// kept.
    pub(super) fn intermediate(
        &self,
        source: &[u8],
        jpeg: Option<(u32, u32)>,
        plan: &Plan,
        clock: &Clock,
    ) -> Result<Option<Arc<Intermediate>>, EngineError> {
        let Some(derivatives) = &self.derivatives else {
            return Ok(None);
        };
        let Some((width, height)) = jpeg.filter(|_| plan.keep_decode) else {
            derivatives.bypass();
            return Ok(None);
        };
        let rule = self.shrink_rule();
        let needed = rule((width, height), (plan.resize.width, plan.resize.height));
        derivatives.note_width(plan.resize.width);
        // Under the draft rule, while sources are asked for at several sizes: the level the widest
        // recent target needs, which a first decode is made at so that later widths derive from it.
        let widest = self
            .draft
            .then(|| derivatives.widest_level((width, height), rule))
            .flatten();
        if needed == 1 {
            return self.full_size(derivatives, source, (width, height), clock);
        }
        let key = *blake3::hash(source).as_bytes();
        if let Some((_, cached)) = derivatives.find(&key, needed, self.reach()) {
            derivatives.record(Lookup::Hit);
            return Ok(Some(cached));
        }
        if let Some((finer, from)) = derivatives.finer(&key, needed) {
            let derived = Arc::new(derive(&from, needed / finer)?);
            derivatives.store(key, needed, derived.clone());
            derivatives.record(Lookup::Derived);
            return Ok(Some(derived));
        }
        // Under the draft rule a kept level is 1-2x the target per side (below shrink 8), cheap
        // enough to keep from the first request (measured: no slower on distinct sources,
        // docs/BENCHMARKS.md).
        let Some(decode_at) = derivatives.admit(&key, needed, self.draft, widest) else {
            derivatives.record(Lookup::First);
            return Ok(None);
        };
        let decoded = Arc::new(self.decode_jpeg(source, decode_at, clock)?);
        derivatives.record(Lookup::Miss);
        self.keep(derivatives, key, (decode_at, decoded), needed)
            .map(Some)
    }

    /// A target that needs a full-size decode. A full decode held in memory costs more to make
    /// (+40% on a 12-MP JPEG) than resizing from it saves, so it is never kept. But while sources
    /// are asked for at several sizes (under the draft rule), a source with no level 2 kept yet is
    /// decoded here and its 2x box shrink kept: the source's smaller widths, which follow in any
    /// order, then need no decode of their own (one decode per source instead of two, on `srcset`
    /// traffic whose largest width needs the full size).
    fn full_size(
        &self,
        derivatives: &derivatives::Derivatives,
        source: &[u8],
        size: (u32, u32),
        clock: &Clock,
    ) -> Result<Option<Arc<Intermediate>>, EngineError> {
        if !(self.draft && derivatives.several_sizes() && derivatives.keeps(size)) {
            derivatives.bypass();
            return Ok(None);
        }
        let key = *blake3::hash(source).as_bytes();
        // Noted like every other request (the mix learns from it), decoded only if level 2 is
        // missing: otherwise the ordinary streaming path is cheaper than a decode into memory.
        derivatives.admit(&key, 1, true, None);
        if derivatives.has(&key, 2) {
            derivatives.bypass();
            return Ok(None);
        }
        let decoded = Arc::new(self.decode_jpeg(source, 1, clock)?);
        derivatives.record(Lookup::Miss);
        derivatives.store(key, 2, Arc::new(derive(&decoded, 2)?));
        Ok(Some(decoded))
    }

    /// Keeps a decode made at `decode_at` and says what a target needing shrink `needed` resizes
    /// from: the decode itself when within reach, else a level derived from it (and kept too).
    fn keep(
        &self,
        derivatives: &derivatives::Derivatives,
        key: [u8; 32],
        (decode_at, decoded): (u32, Arc<Intermediate>),
        needed: u32,
    ) -> Result<Arc<Intermediate>, EngineError> {
        derivatives.store(key, decode_at, decoded.clone());
        // This decode itself must be within reach: another level a concurrent request kept does
        // not make it usable.
        if decode_at * self.reach() >= needed {
            return Ok(decoded);
        }
        // Decoded finer than this target may be served from (for a later, larger one): derive.
        let derived = Arc::new(derive(&decoded, needed / decode_at)?);
        derivatives.store(key, needed, derived.clone());
        Ok(derived)
    }

    /// `source` (a plain JPEG) decoded at 1/`shrink` into pixels, within the time limit.
    fn decode_jpeg(
        &self,
        source: &[u8],
        shrink: u32,
        clock: &Clock,
    ) -> Result<Intermediate, EngineError> {
        let shrunk = load_jpeg(source, shrink, self.jpeg_decoder, self.strictness, clock)?;
        if let Some(remaining) = clock.remaining() {
            shrunk.set_time_limit(remaining);
        }
        let pixels = shrunk
            .with_pixels(<[u8]>::to_vec)
            .map_err(|e| clock.explain(undecodable(e)))?;
        Ok(Intermediate {
            width: shrunk.width(),
            height: shrunk.height(),
            bands: shrunk.bands(),
            pixels,
        })
    }
}

/// A coarser level made from a finer kept one by a box shrink of `factor` (a power of two): the
/// block means libvips' `vips_shrink` makes, computed straight into the new level's buffer.
fn derive(from: &Intermediate, factor: u32) -> Result<Intermediate, EngineError> {
    let (pixels, width, height) =
        box_shrink(&from.pixels, (from.width, from.height, from.bands), factor).ok_or_else(
            || EngineError::Internal(format!("no {factor}x box shrink of a kept level")),
        )?;
    Ok(Intermediate {
        width,
        height,
        bands: from.bands,
        pixels,
    })
}
