//! Helpers shared by the JPEG load step's tests: running the libjpeg-turbo tools that write the
//! encoder scripts' files, and our own decode of a file at a scale (the exact scan plan).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use imgshield::engine::{scan_plan, ScanPlan};
use imgshield::vips::{FailOn, Image, JpegDecode, JpegDecodeError};

/// Runs `program` in `dir` and returns what it wrote to standard output; panics if it fails.
pub(crate) fn run(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (apt-get install libjpeg-turbo-progs): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Our decode of `source` at 1/`shrink`, under the exact scan plan, refusing any libjpeg warning.
pub(crate) fn ours(source: &[u8], shrink: u32) -> Result<Image<'static>, JpegDecodeError> {
    let plan = scan_plan(source, shrink).expect("a plan");
    let stream = match &plan {
        ScanPlan::Whole => source,
        ScanPlan::Filtered { bytes, .. } => bytes.as_slice(),
    };
    let header = Image::jpeg_header(source, shrink).expect("a header");
    let decode = JpegDecode {
        shrink,
        fail_on: FailOn::Warning,
        max_scans: 100,
        time_limit: None,
    };
    Image::decode_jpeg(stream, &header, decode)
}
