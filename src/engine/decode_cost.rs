//! The cost of a decode that cannot be interrupted, judged from a file's markers before any decoder
//! runs. libjpeg absorbs every scan of a progressive JPEG in one call (`jpeg_start_decompress`)
//! when the first tile is asked for, and libvips' kill flag is only checked between tiles, so
//! whatever that call costs is spent in full, past any deadline. Each scan walks the whole
//! coefficient buffer of its component, so the call costs about `scans × coefficient bytes`, plus
//! the entropy-coded data itself.
//!
//! Measured with libjpeg-turbo 2.1.5 on the 2-core build machine (docs/SECURITY.md, "Processing
//! deadline"): empty scans of a 7000×7000 4:2:0 frame walk ~27 GB of coefficient buffer per second
//! (1891 scans, 147 MB of coefficients: 10.3 s of CPU); a 25-MP photo's data decodes at ~26 MB/s
//! (6.9 MB, 10 scans: 0.29 s). The rates below are those divided by ~2.7, for slower or busier
//! machines: an estimate errs towards refusing.

use std::time::Duration;

use super::jpeg_layout::jpeg_layout;

/// More scans than any mainstream encoder writes (libjpeg and mozjpeg ≤ ~12) and than libjpeg's own
/// tools can script (`cjpeg -scans` stops at 100). T.81 allows ~2,700 for a 3-component frame.
pub const MAX_JPEG_SCANS: u32 = 100;

/// Coefficient-buffer bytes walked per second, summed over scans (measured ~27 GB/s).
const SCAN_BYTES_PER_SECOND: u64 = 10_000_000_000;

/// Entropy-coded bytes decoded per second (measured ~26 MB/s).
const DATA_BYTES_PER_SECOND: u64 = 10_000_000;

/// A decode that runs in one uninterruptible call, and what it is expected to cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UninterruptibleDecode {
    /// Scans of the progressive JPEG.
    pub scans: u32,
    /// Scans × coefficient buffer, bytes.
    pub scan_bytes: u64,
    /// The expected CPU time of the call, by the conservative rates above.
    pub estimate: Duration,
}

/// The one uninterruptible call decoding `source` will make, when there is one: today, a
/// progressive JPEG's. `None` for everything else (baseline JPEGs are decoded strip by strip).
pub fn uninterruptible_decode(source: &[u8]) -> Option<UninterruptibleDecode> {
    let layout = jpeg_layout(source)?;
    if !layout.progressive {
        return None;
    }
    let scan_bytes = u64::from(layout.scans).saturating_mul(layout.coefficient_bytes());
    let micros = scan_bytes / (SCAN_BYTES_PER_SECOND / 1_000_000)
        + source.len() as u64 / (DATA_BYTES_PER_SECOND / 1_000_000);
    Some(UninterruptibleDecode {
        scans: layout.scans,
        scan_bytes,
        estimate: Duration::from_micros(micros),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::scan_heavy_jpeg;

    #[test]
    fn only_progressive_jpegs_are_judged() {
        let baseline = crate::samples::photo_jpeg(64, 48, 1, 80).expect("jpeg");
        assert_eq!(uninterruptible_decode(&baseline), None);
        assert_eq!(uninterruptible_decode(b"not an image"), None);
    }

    #[test]
    fn the_estimate_grows_with_scans_and_size() {
        let few = uninterruptible_decode(&scan_heavy_jpeg(1000, 1000, 0)).expect("progressive");
        let many = uninterruptible_decode(&scan_heavy_jpeg(1000, 1000, 9)).expect("progressive");
        let large = uninterruptible_decode(&scan_heavy_jpeg(7000, 7000, 9)).expect("progressive");
        assert_eq!((few.scans, many.scans), (190, 1891));
        assert!(few.estimate < many.estimate && many.estimate < large.estimate);
        // The attack's file: ~10 s of CPU measured, so at least that estimated.
        assert!(large.estimate >= Duration::from_secs(10), "{large:?}");
    }
}
