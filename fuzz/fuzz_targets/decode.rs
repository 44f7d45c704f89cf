//! Fuzzes decoding through the server's own render path (`Renderer::render`, as a `/resize` miss
//! runs it: probe, source limits, format choice, trim, plan, watermark, transform, fallback) on
//! arbitrary bytes, with each engine named in turn. Small limits keep the fuzzer on parsing rather
//! than on pixels: the server refuses larger sources by their header the same way. Any input must
//! succeed or fail with an error, never crash; an image made must have a size within the plan's
//! box and decode again.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use common::LIMITS;
use imgshield::engine::rust::RustEngine;
use imgshield::engine::select::Engines;
use imgshield::engine::vips::VipsEngine;
use imgshield::params::{ParamLimits, Params};
use imgshield::render::{Job, Rendered, Renderer};
use imgshield::samples;
use imgshield::types::{AcceptClass, EngineChoice};
use libfuzzer_sys::fuzz_target;

/// Requests exercising each fit mode and output format (AVIF is left out: slow to encode), trim,
/// rotation, effects, a watermark and animation.
const QUERIES: [&str; 10] = [
    "src=f&w=64",
    "src=f&w=48&h=48&fit=cover",
    "src=f&w=48&h=32&fit=contain&fm=png",
    "src=f&h=40&w=40&fit=fill&fm=webp",
    "src=f&w=16&h=64&fit=outside&fm=jpeg&q=30",
    "src=f&w=200&enlarge=1",
    "src=f&w=40&rot=90&flip=h&gray=1&fm=png",
    "src=f&crop=1,1,20,20&w=16&fm=webp&lossless=1",
    "src=f&w=64&trim=true&blur=1&fm=gif",
    "src=f&w=64&wm=wm.png&wmopacity=0.5&wmpos=top-left",
];

struct Fixture {
    renderer: Renderer,
    watermark: Bytes,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let vips = VipsEngine::new()
            .expect("libvips initialises")
            .with_draft(true);
        let rust = RustEngine::new().with_draft(true);
        let engines = Engines::new(Arc::new(vips), Arc::new(rust), 0);
        Fixture {
            renderer: Renderer::new(Arc::new(engines), LIMITS),
            watermark: Bytes::from(samples::logo_png(32).expect("a watermark")),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let renderer = &fixture.renderer;
    // The request is chosen by the input's length, so seed files (real images) work unchanged.
    let query = QUERIES[data.len() % QUERIES.len()];
    let params =
        Params::parse(query, &ParamLimits::default()).expect("the fixed queries are valid");
    let watermark = params.watermark.as_ref().map(|_| fixture.watermark.clone());
    for named in [EngineChoice::Vips, EngineChoice::Rust] {
        let selection = renderer.select(Some(named), || 0);
        let Ok(Rendered::Image(made)) = renderer.render(Job::Resize {
            source: data,
            params: &params,
            accept: AcceptClass::Legacy,
            selection: &selection,
            watermark: watermark.clone(),
            private: false,
        }) else {
            continue;
        };
        let out = made.encoded;
        assert!(
            u64::from(out.width) * u64::from(out.height) <= LIMITS.max_output_pixels,
            "the output respects the limits"
        );
        let back = renderer
            .primary()
            .probe(&out.bytes)
            .expect("our own output decodes");
        assert_eq!((back.width, back.height), (out.width, out.height));
    }
});
