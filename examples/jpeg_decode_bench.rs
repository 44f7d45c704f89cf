//! Decode CPU of JPEG files at a DCT scale, by libvips' `jpegload` or by our own load step (scan
//! plan + libjpeg, block smoothing off), for docs/BENCHMARKS.md. Run it under `perf stat` (or
//! callgrind) once per decoder and compare:
//!
//!     cargo run --release --example jpeg_decode_bench -- own 8 3 photo-*.jpg
//!
//! Arguments: `own` (the exact scan plan), `bounded` (the bounded-loss rule), `lastbit` (its
//! measured alternative, decodes only) or `libvips`; the shrink (1, 2, 4 or 8), or `draft:W` / `thumb:W` for a whole
//! transform to a JPEG W pixels wide (q80) by the libvips engine's draft load or its thumbnail
//! path; the rounds over the files; the files. Prints the CPU time (user + system) and the minor
//! page faults per decode, from /proc/self/stat.

use std::time::Duration;

use imgshield::engine::vips::{JpegDecoder, VipsEngine};
use imgshield::engine::{scan_plan_under, Engine, OutputFormat, Plan, ScanPlan, ScanRule, Size};
use imgshield::vips::{FailOn, Image, JpegDecode};

/// The server's allocator (src/main.rs), for libjpeg's and libvips' allocations too: page faults
/// on fresh buffers depend on it.
#[cfg(all(feature = "jemalloc", target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn usage() -> ! {
    eprintln!("usage: jpeg_decode_bench own|bounded|lastbit|libvips SHRINK ROUNDS FILE...");
    std::process::exit(2)
}

/// A whole transform to `width` (height by the source's aspect), as a cold miss makes it.
fn transform(engine: &VipsEngine, source: &[u8], width: u32) -> usize {
    let info = engine
        .probe(source)
        .unwrap_or_else(|e| panic!("probe: {e}"));
    let height = (u64::from(width) * u64::from(info.height) / u64::from(info.width)).max(1);
    let mut plan = Plan::scale_to(
        Size {
            width,
            height: u32::try_from(height).unwrap_or(1),
        },
        OutputFormat::Jpeg,
    );
    plan.quality = 80;
    engine
        .transform(source, &plan)
        .map(|encoded| encoded.bytes.len())
        .unwrap_or_else(|e| panic!("transform: {e}"))
}

fn decode(rule: Option<ScanRule>, source: &[u8], shrink: u32) -> usize {
    let Some(rule) = rule else {
        return Image::jpeg_shrunk(source, shrink, false, FailOn::Warning)
            .and_then(|image| image.decode_to_memory())
            .map(|pixels| pixels.len())
            .unwrap_or_else(|e| panic!("libvips: {e}"));
    };
    let plan = scan_plan_under(source, shrink, rule).unwrap_or_else(|| panic!("no scan plan"));
    let stream = match &plan {
        ScanPlan::Whole => source,
        ScanPlan::Filtered { bytes, .. } => bytes.as_slice(),
    };
    let header = Image::jpeg_header(source, shrink).unwrap_or_else(|e| panic!("header: {e}"));
    let decode = JpegDecode {
        shrink,
        fail_on: FailOn::Warning,
        max_scans: 100,
        time_limit: None,
    };
    Image::decode_jpeg(stream, &header, decode)
        .map_err(|e| e.to_string())
        .and_then(|image| image.decode_to_memory().map_err(|e| e.0))
        .map(|pixels| pixels.len())
        .unwrap_or_else(|e| panic!("own: {e}"))
}

/// (CPU time, minor faults) of this process so far.
fn usage_now() -> (Duration, i64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: minflt is the 10th, utime the 14th, stime the 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let ticks = field(11) + field(12);
    // USER_HZ is 100 on Linux.
    (
        Duration::from_millis(u64::try_from(ticks * 10).unwrap_or(0)),
        field(7),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [decoder, shrink, rounds, files @ ..] = args.as_slice() else {
        usage()
    };
    let (rule, engine_decoder) = match decoder.as_str() {
        "own" => (Some(ScanRule::Exact), JpegDecoder::Own),
        "bounded" => (Some(ScanRule::Bounded), JpegDecoder::OwnBounded),
        "lastbit" => (Some(ScanRule::BoundedLastBit), JpegDecoder::Own),
        "libvips" => (None, JpegDecoder::Libvips),
        _ => usage(),
    };
    let (engine, width) = match shrink.split_once(':') {
        Some((path, width)) => {
            if rule == Some(ScanRule::BoundedLastBit) {
                usage();
            }
            let decoder = engine_decoder;
            let engine = VipsEngine::new()
                .unwrap_or_else(|e| panic!("libvips: {e}"))
                .with_draft(path == "draft")
                .with_jpeg_decoder(decoder);
            (Some(engine), width.parse().unwrap_or_else(|_| usage()))
        }
        None => (None, 0),
    };
    let shrink: u32 = if engine.is_some() {
        1
    } else {
        shrink.parse().unwrap_or_else(|_| usage())
    };
    let rounds: u32 = rounds.parse().unwrap_or_else(|_| usage());
    let sources: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    imgshield::vips::init().unwrap_or_else(|e| panic!("libvips: {e}"));
    let (cpu0, faults0) = usage_now();
    let mut bytes = 0;
    for _ in 0..rounds {
        for source in &sources {
            bytes += match &engine {
                Some(engine) => transform(engine, source, width),
                None => decode(rule, source, shrink),
            };
        }
    }
    let (cpu1, faults1) = usage_now();
    let decodes = u64::from(rounds) * sources.len() as u64;
    println!(
        "{decoder} {}: {decodes} decodes, {:.1} ms CPU and {} minor faults per decode ({bytes} bytes out)",
        args[1],
        (cpu1 - cpu0).as_secs_f64() * 1000.0 / decodes as f64,
        (faults1 - faults0) / i64::try_from(decodes).unwrap_or(1)
    );
}
