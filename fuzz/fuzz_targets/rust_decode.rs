//! Fuzzes the pure-Rust engine on arbitrary bytes: its header probe, and, when the probe accepts a
//! small image, a transform to a small plan. Any input must succeed or fail with an error, never
//! panic (the pure-Rust decoders and our EXIF and GIF canvas code are the target); a transform
//! that succeeds must have the planned size.
#![no_main]

use imgshield::engine::rust::RustEngine;
use imgshield::engine::{Engine, Plan};
use imgshield::render::{choose_format, resolve};
use imgshield::types::AcceptClass;
use imgshield::params::{ParamLimits, Params};
use libfuzzer_sys::fuzz_target;

/// As in `decode`: big images are refused by their header in the server anyway.
const MAX_SOURCE_PIXELS: u64 = 1 << 20;
const MAX_OUTPUT_PIXELS: u64 = 256 * 256;

const QUERIES: [&str; 4] = [
    "src=f&w=64",
    "src=f&w=48&h=48&fit=cover",
    "src=f&w=48&h=32&fit=contain&fm=png",
    "src=f&w=16&h=64&fit=outside&fm=jpeg&q=30",
];

fuzz_target!(|data: &[u8]| {
    let engine = RustEngine::new();
    let Ok(info) = engine.probe(data) else {
        return;
    };
    if info.pixels() > MAX_SOURCE_PIXELS {
        return;
    }
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
    let Ok(out) = engine.transform(data, &plan) else {
        return;
    };
    let planned = plan.output_size();
    assert_eq!(
        (out.width, out.height),
        (planned.width, planned.height),
        "the engine must honour the plan"
    );
});
