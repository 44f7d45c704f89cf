//! Fuzzes the pure-Rust engine on arbitrary bytes through the server's render path with
//! `engine=rust`: libvips probes and plans as in production, then the Rust engine's own decoders,
//! EXIF and GIF canvas code transform. Any input must succeed or fail with an error, never panic;
//! an image made stays within the limits.
#![no_main]

mod common;

use std::sync::{Arc, OnceLock};

use common::LIMITS;
use imgshield::engine::rust::RustEngine;
use imgshield::engine::select::Engines;
use imgshield::engine::vips::VipsEngine;
use imgshield::params::{ParamLimits, Params};
use imgshield::render::{Job, Rendered, Renderer};
use imgshield::types::{AcceptClass, EngineChoice};
use libfuzzer_sys::fuzz_target;

const QUERIES: [&str; 4] = [
    "src=f&w=64",
    "src=f&w=48&h=48&fit=cover",
    "src=f&w=48&h=32&fit=contain&fm=png",
    "src=f&w=16&h=64&fit=outside&fm=jpeg&q=30",
];

static RENDERER: OnceLock<Renderer> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    // The server's render path with the Rust engine named: libvips probes and plans (as in
    // production), the Rust engine's own decoders do the transform.
    let renderer = RENDERER.get_or_init(|| {
        let vips = VipsEngine::new().expect("libvips initialises");
        let engines = Engines::new(Arc::new(vips), Arc::new(RustEngine::new()), 0);
        Renderer::new(Arc::new(engines), LIMITS)
    });
    let query = QUERIES[data.len() % QUERIES.len()];
    let params =
        Params::parse(query, &ParamLimits::default()).expect("the fixed queries are valid");
    let selection = renderer.select(Some(EngineChoice::Rust), || 0);
    let Ok(Rendered::Image(made)) = renderer.render(Job::Resize {
        source: data,
        params: &params,
        accept: AcceptClass::Legacy,
        selection: &selection,
        watermark: None,
        private: false,
    }) else {
        return;
    };
    assert_eq!(made.engine, "rust", "a named engine never falls back");
    let out = made.encoded;
    assert!(u64::from(out.width) * u64::from(out.height) <= LIMITS.max_output_pixels);
});
