//! The JPEG load step: a JPEG decoded at a DCT scale, by our own decode (the scan plan of
//! [`scan_plan_under`] drops the scans the scale does not read, then `vips::Image::decode_jpeg`
//! on the system libjpeg with block smoothing off) or by libvips' `jpegload` (`--jpeg-decoder
//! libvips`; files with no scan to skip: sequential ones, or a scale that reads every scan; and
//! every file the plan does not take: 12-bit, lossless, junk between segments, cut short, a scan
//! header libjpeg would refuse or warn about). Both give the same pixels and metadata: the decode
//! is exact (but for [`JpegDecoder::OwnBounded`] at 1/4 and 1/8: see `jpeg_scans`), and the
//! metadata is libvips' own header read. Ours decodes at once, within the time limit (checked
//! between MCU rows) and the scan cap; libvips' decodes lazily, inside the save. Every JPEG load
//! of the engine (the draft load, the derivative cache's decodes, the thumbnail's shrink-on-load)
//! goes through [`load_jpeg`].

use std::cell::Cell;

use super::{jpeg_shrink, undecodable, Image};
use crate::engine::{
    jpeg_layout, scan_plan_under, Clock, EngineError, ScanPlan, ScanRule, Strictness,
    MAX_JPEG_SCANS,
};
use crate::vips::{JpegDecode, JpegDecodeError};

thread_local! {
    /// Decodes of our own made on this thread (a transform runs on one thread).
    static OWN_DECODES: Cell<u64> = const { Cell::new(0) };
}

/// How many JPEGs our own decode has decoded on the calling thread: lets a test or a benchmark see
/// which decoder a transform used (both give the same output).
pub fn own_decodes_on_this_thread() -> u64 {
    OWN_DECODES.with(Cell::get)
}

/// Who decodes JPEG sources (`--jpeg-decoder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JpegDecoder {
    /// libvips' own loader, every scan decoded.
    Libvips,
    /// Our load step: only the scans the scale reads (exact).
    #[default]
    Own,
    /// Our load step under the bounded-loss scan rule ([`ScanRule::Bounded`]): at 1/4 and 1/8 the
    /// AC refinement scans are not read either. Not exact: see `jpeg_scans`.
    OwnBounded,
}

impl JpegDecoder {
    /// The scan rule of our load step, or `None` for libvips' loader.
    pub fn scan_rule(self) -> Option<ScanRule> {
        match self {
            JpegDecoder::Libvips => None,
            JpegDecoder::Own => Some(ScanRule::Exact),
            JpegDecoder::OwnBounded => Some(ScanRule::Bounded),
        }
    }
}

/// `source` (a JPEG) decoded at 1/`shrink` (1, 2, 4 or 8) and turned upright, with libvips'
/// metadata for it, within the time limit of `clock`, refusing damage as `strictness` says.
pub(super) fn load_jpeg<'s>(
    source: &'s [u8],
    shrink: u32,
    decoder: JpegDecoder,
    strictness: Strictness,
    clock: &Clock,
) -> Result<Image<'s>, EngineError> {
    if let Some(rule) = decoder.scan_rule() {
        if let Some(image) = own(source, shrink, rule, strictness, clock)? {
            return image.autorotated().map_err(undecodable);
        }
    }
    Image::jpeg_shrunk(source, shrink, true, strictness.into()).map_err(undecodable)
}

/// Our decode, or `None` when the file is left to libvips' loader.
fn own(
    source: &[u8],
    shrink: u32,
    rule: ScanRule,
    strictness: Strictness,
    clock: &Clock,
) -> Result<Option<Image<'static>>, EngineError> {
    // NOTE(perf): a file decoded whole gains nothing from our decode, and libvips' loader is lazy
    // and streams a sequential file strip by strip: it keeps those (same pixels either way).
    let Some(ScanPlan::Filtered { bytes: stream, .. }) = scan_plan_under(source, shrink, rule)
    else {
        return Ok(None);
    };
    let header = Image::jpeg_header(source, shrink).map_err(undecodable)?;
    clock.check()?;
    let decode = JpegDecode {
        shrink,
        fail_on: strictness.into(),
        max_scans: MAX_JPEG_SCANS,
        time_limit: clock.remaining(),
    };
    match Image::decode_jpeg(&stream, &header, decode) {
        Ok(image) => {
            OWN_DECODES.with(|count| count.set(count.get() + 1));
            Ok(Some(image))
        }
        Err(JpegDecodeError::Refused(message)) => Err(EngineError::Undecodable(message)),
        Err(JpegDecodeError::Stopped(message)) => {
            Err(clock.explain(EngineError::Undecodable(message)))
        }
        Err(JpegDecodeError::Unsupported(_)) => Ok(None),
    }
}

/// Libvips' buffer thumbnail of a JPEG `source` to exactly `width`×`height`, with our decode as its
/// shrink-on-load (at thumbnail's own scale rule, [`jpeg_shrink`]); `None` when `source` is not a
/// JPEG our decode takes, or libvips decodes JPEGs here.
pub(super) fn thumbnail<'s>(
    source: &'s [u8],
    (width, height): (u32, u32),
    decoder: JpegDecoder,
    strictness: Strictness,
    clock: &Clock,
) -> Result<Option<Image<'s>>, EngineError> {
    let Some(rule) = decoder.scan_rule() else {
        return Ok(None);
    };
    if jpeg_layout(source).is_none() {
        return Ok(None);
    }
    let header = Image::header_from_buffer(source).map_err(undecodable)?;
    if !header
        .loader()
        .is_some_and(|loader| loader.starts_with("jpegload"))
    {
        return Ok(None);
    }
    let stored = (header.width(), header.height());
    let upright = if (5..=8).contains(&header.orientation()) {
        (stored.1, stored.0)
    } else {
        stored
    };
    let shrink = jpeg_shrink(upright, (width, height));
    let Some(image) = own(source, shrink, rule, strictness, clock)? else {
        return Ok(None);
    };
    image
        .thumbnail_of_decoded(width, height, header.has_icc_profile())
        .map(Some)
        .map_err(undecodable)
}
