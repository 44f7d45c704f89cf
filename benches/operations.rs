//! What each `/resize` parameter costs: `cargo bench --bench operations` (about 3 minutes).
//!
//! One 12-MP photo-like JPEG (4000x3000, quality 90, `samples::photo_jpeg`), resized to 800 px wide by
//! the libvips engine the way `App::produce` does it (probe -> trim -> plan -> transform), once plain
//! (`baseline`) and once per operation added to the same request. Read the results as ratios to
//! `baseline` from the same run: this machine is shared and absolute times drift. libvips runs
//! single-threaded per operation, as in the server.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

use imgshield::engine::vips::VipsEngine;
use imgshield::engine::Engine;
use imgshield::params::{ParamLimits, Params};
use imgshield::render::{choose_format_animated, resolve_trimmed};
use imgshield::samples;
use imgshield::types::AcceptClass;

const MAX_OUTPUT_PIXELS: u64 = 8192 * 8192;

/// The operations measured, each added to `src=bench.jpg&w=800`.
const OPERATIONS: &[(&str, &str)] = &[
    ("baseline", ""),
    ("dpr=2", "&dpr=2"),
    ("cover", "&h=400&fit=cover"),
    ("cover pos=top-left", "&h=400&fit=cover&pos=top-left"),
    ("cover fx/fy", "&h=400&fit=cover&fx=0.3&fy=0.6"),
    ("cover pos=entropy", "&h=400&fit=cover&pos=entropy"),
    ("cover pos=attention", "&h=400&fit=cover&pos=attention"),
    ("contain+bg", "&h=400&fit=contain&bg=ff0000"),
    ("crop", "&crop=1000,500,2000,1500"),
    ("trim", "&trim=true"),
    ("pad", "&pad=20&bg=00ff00"),
    ("rot=90", "&rot=90"),
    ("rot=180", "&rot=180"),
    ("flip=h", "&flip=h"),
    ("flip=v", "&flip=v"),
    ("blur=2", "&blur=2"),
    ("sharpen", "&sharpen=true"),
    ("gray", "&gray=1"),
    ("prog=1", "&prog=1"),
    ("meta=keep", "&meta=keep"),
    ("fm=png", "&fm=png"),
    ("fm=png palette", "&fm=png&palette=1"),
    ("fm=webp", "&fm=webp"),
    ("fm=webp lossless", "&fm=webp&lossless=1"),
    ("fm=avif", "&fm=avif"),
    ("fm=gif", "&fm=gif"),
];

/// What `App::produce` does on a worker thread for one miss, minus fetching and metrics.
fn produce(engine: &VipsEngine, params: &Params, source: &[u8]) -> usize {
    let info = engine.probe(source).expect("probe");
    let format = choose_format_animated(
        params.format,
        AcceptClass::Legacy,
        &info,
        params.animated,
        |f| engine.can_encode(f),
    )
    .expect("choose a format");
    let trimmed = params
        .trim
        .and_then(|t| engine.trim_box(source, t).expect("trim"));
    let plan = resolve_trimmed(params, &info, trimmed, format, MAX_OUTPUT_PIXELS).expect("plan");
    engine
        .transform(source, &plan)
        .expect("transform")
        .bytes
        .len()
}

fn operations(c: &mut Criterion) {
    let engine = VipsEngine::new().expect("libvips initialises");
    let source = samples::photo_jpeg(4000, 3000, 12, 90).expect("generate a 12-MP JPEG");
    let mut group = c.benchmark_group("operation");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    for (name, extra) in OPERATIONS {
        let query = format!("src=bench.jpg&w=800{extra}");
        let params = Params::parse(&query, &ParamLimits::default()).expect("valid params");
        // Fail loudly before timing anything if an operation cannot run here.
        produce(&engine, &params, &source);
        group.bench_function(*name, |b| {
            b.iter(|| black_box(produce(&engine, &params, black_box(&source))))
        });
    }
    group.finish();
}

criterion_group!(benches, operations);
criterion_main!(benches);
