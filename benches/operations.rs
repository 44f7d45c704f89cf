//! What each `/resize` parameter costs: `cargo bench --bench operations` (about 3 minutes).
//!
//! One 12-MP photo-like JPEG (4000x3000, quality 90, `samples::photo_jpeg`), resized to 800 px wide by
//! the server's own render path (`Renderer::render`: probe, limits, format, trim, plan, transform
//! with libvips), with the server's default limits, once plain
//! (`baseline`) and once per operation added to the same request. Read the results as ratios to
//! `baseline` from the same run: this machine is shared and absolute times drift. libvips runs
//! single-threaded per operation, as in the server.

use std::hint::black_box;
use std::time::Duration;

mod common;

use common::produce;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};

use imgshield::config::Config;
use imgshield::params::{ParamLimits, Params};
use imgshield::render::Renderer;
use imgshield::samples;

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

fn operations(c: &mut Criterion) {
    let config = Config::from_env().expect("the default configuration");
    let renderer = Renderer::from_config(&config).expect("libvips initialises");
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
        produce(&renderer, &params, &source);
        group.bench_function(*name, |b| {
            b.iter(|| black_box(produce(&renderer, &params, black_box(&source))))
        });
    }
    group.finish();
}

criterion_group!(benches, operations);
criterion_main!(benches);
