//! Fuzzes decoding: the libvips engine's header probe on arbitrary bytes and, when the probe
//! accepts them as a small image, a full transform to a small plan by both engines (the pure-Rust
//! one has its own decoders). Any input must succeed or fail with an error, never crash; a
//! transform that succeeds must have the planned size and decode again.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use imgshield::engine::rust::RustEngine;
use imgshield::engine::vips::VipsEngine;
use imgshield::engine::{Engine, Plan};
use imgshield::render::{choose_format, resolve};
use imgshield::types::AcceptClass;
use imgshield::params::{ParamLimits, Params};
use libfuzzer_sys::fuzz_target;

/// Sources above this are skipped: the server refuses big images by their header anyway, and
/// decoding them would spend the fuzzer's time on pixels instead of on parsing.
const MAX_SOURCE_PIXELS: u64 = 1 << 20;
/// Likewise for animations: only the first page is decoded, but scanning frames costs time.
const MAX_PAGES: u32 = 64;
/// Small outputs: the encoders are not what this target is after.
const MAX_OUTPUT_PIXELS: u64 = 256 * 256;
/// Generous next to what a 1 MP decode needs; a hang shows up as a libFuzzer timeout instead.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// Plans exercising each fit mode and output format (AVIF is left out: slow to encode).
const QUERIES: [&str; 8] = [
    "src=f&w=64",
    "src=f&w=48&h=48&fit=cover",
    "src=f&w=48&h=32&fit=contain&fm=png",
    "src=f&h=40&w=40&fit=fill&fm=webp",
    "src=f&w=16&h=64&fit=outside&fm=jpeg&q=30",
    "src=f&w=200&enlarge=1",
    "src=f&w=40&rot=90&flip=h&gray=1&fm=png",
    "src=f&crop=1,1,20,20&w=16&fm=webp&lossless=1",
];

static ENGINE: OnceLock<VipsEngine> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| VipsEngine::new().expect("libvips initialises"));
    let Ok(info) = engine.probe(data) else {
        return;
    };
    if info.pixels() > MAX_SOURCE_PIXELS || info.pages > MAX_PAGES {
        return;
    }
    // The plan is chosen by the input's length, so seed files (real images) work unchanged.
    let query = QUERIES[data.len() % QUERIES.len()];
    let params =
        Params::parse(query, &ParamLimits::default()).expect("the fixed queries are valid");
    let Ok(format) = choose_format(params.format, AcceptClass::Legacy, &info, |f| {
        engine.can_encode(f)
    }) else {
        return;
    };
    let Ok(plan) = resolve(&params, &info, format, MAX_OUTPUT_PIXELS) else {
        return;
    };
    let plan = plan.with_time_limit(TIME_LIMIT);
    let planned = plan.output_size();
    let rust = RustEngine::new().with_draft(true);
    for made in [engine.transform(data, &plan), rust.transform(data, &plan)] {
        let Ok(out) = made else {
            continue;
        };
        assert_eq!(
            (out.width, out.height),
            (planned.width, planned.height),
            "the engine must honour the plan"
        );
        let back = engine.probe(&out.bytes).expect("our own output decodes");
        assert_eq!((back.width, back.height), (planned.width, planned.height));
    }
});
