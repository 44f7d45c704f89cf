//! Fuzzes our own JPEG load step on arbitrary bytes: the scan plan (`scan_plan`), then the decode
//! on libjpeg (`Image::decode_jpeg`) of the bytes it keeps, at a DCT scale chosen by the input's
//! length. Any input must give a plan or none, a decode or an error, never a crash or a hang; where
//! both decode it, the same pixels as libvips' own loader (the plan is exact); and where the plan
//! skips scans (what the server decodes itself), a decode wherever libvips' loader makes one. The
//! bounded-loss rule's stream too: a decode, without a libjpeg warning, wherever libvips makes one.
#![no_main]

use std::time::Duration;

use imgshield::engine::{scan_plan, scan_plan_under, ScanPlan, ScanRule};
use imgshield::vips::{FailOn, Image, JpegDecode};
use libfuzzer_sys::fuzz_target;

/// Sources past this many pixels are left alone, as the server refuses them by their header.
const MAX_PIXELS: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let shrink = [1, 2, 4, 8][data.len() % 4];
    let Some(plan) = scan_plan(data, shrink) else {
        return;
    };
    let Ok(header) = Image::jpeg_header(data, shrink) else {
        return;
    };
    if u64::from(header.width()) * u64::from(header.height()) * u64::from(shrink).pow(2)
        > MAX_PIXELS
    {
        return;
    }
    let stream = match &plan {
        ScanPlan::Whole => data,
        ScanPlan::Filtered { bytes, .. } => bytes.as_slice(),
    };
    let decode = JpegDecode {
        shrink,
        fail_on: FailOn::Warning,
        max_scans: 100,
        time_limit: Some(Duration::from_secs(5)),
    };
    let ours = Image::decode_jpeg(stream, &header, decode)
        .map_err(|e| e.to_string())
        .and_then(|image| image.decode_to_memory().map_err(|e| e.0));
    let theirs = Image::jpeg_shrunk(data, shrink, false, FailOn::Warning)
        .and_then(|image| image.decode_to_memory());
    let filtered = matches!(plan, ScanPlan::Filtered { .. });
    if let (Some(ScanPlan::Filtered { bytes, .. }), true) = (
        scan_plan_under(data, shrink, ScanRule::Bounded),
        theirs.is_ok(),
    ) {
        if let Err(e) = Image::decode_jpeg(&bytes, &header, decode) {
            panic!("libvips decodes it at 1/{shrink}, the bounded stream is refused: {e}")
        }
    }
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            assert!(ours == theirs, "the pixels differ from libvips' at 1/{shrink}")
        }
        // The server decodes only filtered plans itself (libvips the rest), so only there must
        // ours accept what libvips accepts. (libvips 8.14 lets some warnings of a sequential file
        // pass at a reduced scale: "read gave 1 warnings".)
        (Err(e), Ok(_)) if filtered => {
            panic!("libvips decodes it at 1/{shrink}, ours refused: {e}")
        }
        _ => {}
    }
});
