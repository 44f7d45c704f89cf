//! A job's expected peak memory, from what is known after the fetch and before the decode: the
//! source's bytes, its header (size, format, frames, a JPEG's coefficient buffer) and the plan
//! (resize and output size, output format). The worker pool admits a job only when this fits the
//! `--max-memory` budget (`workers`), so the estimate errs high.
//!
//! Calibrated against the release binary (VmHWM of a fresh process, minus its idle ~51 MiB; see
//! docs/SECURITY.md, "Memory budget and queueing"): a 49 MP progressive JPEG to 100 px measured
//! 162 MiB (estimated 168), a 49 MP baseline JPEG to 100 px 19 (27), a 49 MP RGBA PNG zlib bomb
//! to 100 px 59 (63), to a 24 MP JPEG 118 (139), to a 24 MP WebP 182 (208), a 49 MP progressive
//! JPEG to a 24 MP AVIF 690 (714).

use crate::types::{OutputFormat, SourceFormat};

/// Working memory every job has besides its pixels: libvips' buffers, thread stacks, the encoder's
/// small state, the output bytes of a thumbnail.
const FIXED: u64 = 16 << 20;

/// The JPEG decoder materialises an intermediate only when the derivative cache may keep it (up
/// to 16 MP); larger decodes stream through in strips.
const MATERIALISED_DECODE_PIXELS: u64 = 16_000_000;

/// The facts the estimate is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryFacts {
    /// Bytes of the fetched source (held for the whole job).
    pub source_bytes: u64,
    pub format: SourceFormat,
    /// Pixels of one source frame, from the header.
    pub source_pixels: u64,
    /// Frames or pages the output keeps (1 unless animated).
    pub frames: u32,
    /// A progressive JPEG's coefficient buffer (`JpegLayout::coefficient_bytes`), else 0.
    pub coefficient_bytes: u64,
    /// Pixels of the resized image (before a crop or pad) and of the output, per frame.
    pub resize_pixels: u64,
    pub output_pixels: u64,
    pub output: OutputFormat,
}

/// The expected peak, in bytes, of one job with these facts.
pub fn peak_bytes(facts: &MemoryFacts) -> u64 {
    let frames = u64::from(facts.frames.max(1));
    let output = facts.output_pixels.max(facts.resize_pixels);
    FIXED
        .saturating_add(facts.source_bytes)
        .saturating_add(facts.coefficient_bytes)
        .saturating_add(decode_bytes(facts).saturating_mul(frames))
        .saturating_add(
            output
                .saturating_mul(encode_bytes_per_pixel(facts.output))
                .saturating_mul(frames),
        )
}

/// What the decode holds beyond the source and the coefficients.
fn decode_bytes(facts: &MemoryFacts) -> u64 {
    let pixels = facts.source_pixels;
    match facts.format {
        // Shrink-on-load: decoded at the coarsest 1/2^k (k <= 3) scale still as large as the resize.
        SourceFormat::Jpeg => {
            let decoded = jpeg_decoded_pixels(pixels, facts.resize_pixels);
            if decoded <= MATERIALISED_DECODE_PIXELS {
                decoded.saturating_mul(3)
            } else {
                0
            }
        }
        // Read in strips; libpng's and libvips' line buffers measured about 1 byte per pixel.
        SourceFormat::Png => pixels,
        // WebP, GIF, HEIF/AVIF, TIFF and the rest decode a whole frame (RGBA) at once.
        _ => pixels.saturating_mul(4),
    }
}

/// Pixels of a JPEG decoded with shrink-on-load for a resize to `resize_pixels`.
fn jpeg_decoded_pixels(source_pixels: u64, resize_pixels: u64) -> u64 {
    let mut decoded = source_pixels;
    for _ in 0..3 {
        let smaller = decoded / 4;
        if smaller < resize_pixels {
            break;
        }
        decoded = smaller;
    }
    decoded
}

/// Bytes per output pixel: the materialised result and the encoder's buffers (measured at 25 MP).
fn encode_bytes_per_pixel(format: OutputFormat) -> u64 {
    match format {
        OutputFormat::Jpeg => 5,
        OutputFormat::Png | OutputFormat::Webp | OutputFormat::Gif => 8,
        OutputFormat::Avif => 24,
        // libjxl holds ~42 bytes per pixel at effort 4 (1.04 GB for 25 MP, measured).
        OutputFormat::Jxl => 44,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn jpeg_49mp(progressive: bool, output_pixels: u64, output: OutputFormat) -> MemoryFacts {
        MemoryFacts {
            source_bytes: 9 * MIB,
            format: SourceFormat::Jpeg,
            source_pixels: 8576 * 5720,
            frames: 1,
            coefficient_bytes: if progressive { 147_206_144 } else { 0 },
            resize_pixels: output_pixels,
            output_pixels,
            output,
        }
    }

    /// Each calibration case: the estimate is at least the measured peak, and not wildly above it.
    fn assert_covers(facts: &MemoryFacts, measured_mib: u64) {
        let estimate = peak_bytes(facts) / MIB;
        assert!(
            estimate >= measured_mib && estimate <= measured_mib * 2 + 16,
            "{facts:?}: estimated {estimate} MiB, measured {measured_mib} MiB"
        );
    }

    #[test]
    fn estimates_cover_the_measured_peaks() {
        let thumb = 100 * 67;
        let large = 6000 * 4002;
        assert_covers(&jpeg_49mp(true, thumb, OutputFormat::Jpeg), 162);
        assert_covers(&jpeg_49mp(false, thumb, OutputFormat::Jpeg), 19);
        assert_covers(&jpeg_49mp(false, large, OutputFormat::Jpeg), 118);
        assert_covers(&jpeg_49mp(false, large, OutputFormat::Webp), 182);
        assert_covers(&jpeg_49mp(true, large, OutputFormat::Avif), 690);
        let bomb = MemoryFacts {
            source_bytes: 190_584,
            format: SourceFormat::Png,
            source_pixels: 7000 * 7000,
            coefficient_bytes: 0,
            ..jpeg_49mp(false, 100 * 100, OutputFormat::Png)
        };
        assert_covers(&bomb, 59);
    }

    #[test]
    fn shrink_on_load_stops_at_an_eighth_and_at_the_resize() {
        assert_eq!(jpeg_decoded_pixels(64_000_000, 1), 1_000_000);
        assert_eq!(jpeg_decoded_pixels(64_000_000, 10_000_000), 16_000_000);
        assert_eq!(jpeg_decoded_pixels(64_000_000, 40_000_000), 64_000_000);
    }

    #[test]
    fn frames_multiply_and_nothing_overflows() {
        let one = MemoryFacts {
            format: SourceFormat::Gif,
            ..jpeg_49mp(false, 1_000_000, OutputFormat::Gif)
        };
        let many = MemoryFacts { frames: 10, ..one };
        assert!(peak_bytes(&many) > 9 * peak_bytes(&one) / 2);
        let huge = MemoryFacts {
            source_pixels: u64::MAX,
            output_pixels: u64::MAX,
            frames: u32::MAX,
            ..one
        };
        assert_eq!(peak_bytes(&huge), u64::MAX);
    }
}
