//! Engine and hit-path micro-benchmarks: `cargo bench --bench engine` (about 2 minutes).
//!
//! * `miss/*`: the libvips engine through the [`Engine`] trait on generated photo-like JPEGs
//!   (`samples::photo_jpeg`, quality 90), resized to 300 px wide. `transform` alone, and the full
//!   path a miss takes (`Renderer::render`: probe, limits, format, plan, transform). libvips runs single-threaded here, as in the server (`vips_concurrency_set(1)`), so
//!   one iteration is one core's work for one image.
//! * `hit/*`: the CPU a cache hit spends before the lookup: `Params::parse` of a query string,
//!   `AcceptClass::negotiate` and `CacheKey::new` (blake3 of the canonical form).
//!
//! Set `IMGSHIELD_BENCH_DUMP=DIR` to also write the exact source JPEGs used here (`12mp.jpg`,
//! `2mp.jpg`) into DIR, so that `vipsthumbnail` can be timed on the same bytes
//! (see docs/BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

mod common;

use common::produce;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

use imgshield::cache::CacheKey;
use imgshield::config::Config;
use imgshield::engine::vips::{Derivatives, VipsEngine};
use imgshield::engine::{Engine, Plan, SourceInfo};
use imgshield::params::{FormatChoice, ParamLimits, Params};
use imgshield::render::{choose_format, resolve, Renderer};
use imgshield::samples;
use imgshield::types::AcceptClass;

/// 12 MP (4000x3000, 4:3) and 2 MP (1728x1152, 3:2) landscape photos.
const LARGE: (u32, u32) = (4000, 3000);
const SMALL: (u32, u32) = (1728, 1152);
/// The default server limits: `--max-dimension 8192`, so 8192^2 output pixels.
const MAX_OUTPUT_PIXELS: u64 = 8192 * 8192;

/// A typical hit-path query, and what a current Chrome sends as `Accept` for images.
const QUERY_SIMPLE: &str = "src=photos/2024/beach.jpg&w=300";
const QUERY_FULL: &str = "src=photos/2024/beach.jpg&w=400&h=400&fit=cover&fm=auto&q=75";
const CHROME_ACCEPT: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

struct Source {
    bytes: Vec<u8>,
    info: SourceInfo,
}

fn source(engine: &VipsEngine, (width, height): (u32, u32), seed: u64) -> Source {
    let bytes = samples::photo_jpeg(width, height, seed, 90).expect("generate a photo-like JPEG");
    let info = engine.probe(&bytes).expect("probe the generated JPEG");
    assert_eq!((info.width, info.height), (width, height));
    Source { bytes, info }
}

/// Writes the sources for an external `vipsthumbnail` comparison when asked to.
fn dump(sources: &[(&str, &Source)]) {
    let Some(dir) = std::env::var_os("IMGSHIELD_BENCH_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create IMGSHIELD_BENCH_DUMP");
    for (name, source) in sources {
        std::fs::write(dir.join(name), &source.bytes).expect("write a benchmark source");
    }
    eprintln!("wrote the benchmark sources to {}", dir.display());
}

fn params_300w() -> Params {
    Params::parse("src=bench.jpg&w=300", &ParamLimits::default()).expect("valid params")
}

fn plan_for(engine: &VipsEngine, params: &Params, source: &Source) -> Plan {
    let format = choose_format(params.format, AcceptClass::Legacy, &source.info, |f| {
        engine.can_encode(f)
    })
    .expect("choose a format");
    resolve(params, &source.info, format, MAX_OUTPUT_PIXELS).expect("plan")
}

fn miss(c: &mut Criterion) {
    let engine = VipsEngine::new().expect("libvips initialises");
    let large = source(&engine, LARGE, 7);
    let small = source(&engine, SMALL, 11);
    dump(&[("12mp.jpg", &large), ("2mp.jpg", &small)]);
    let params = params_300w();
    let large_plan = plan_for(&engine, &params, &large);
    let small_plan = plan_for(&engine, &params, &small);
    // The full path with the server's default limits (and `IMGSHIELD_*` settings).
    let renderer = Renderer::from_config(&Config::from_env().expect("the default configuration"))
        .expect("libvips initialises");
    assert_eq!(
        (large_plan.resize.width, large_plan.resize.height),
        (300, 225)
    );
    eprintln!(
        "sources: 12 MP {} bytes, 2 MP {} bytes; libvips {}",
        large.bytes.len(),
        small.bytes.len(),
        engine.version()
    );

    let mut group = c.benchmark_group("miss");
    // One iteration is tens of milliseconds: few flat samples keep the whole run short.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(1));

    group.bench_function("transform_12mp_jpeg_to_300w", |b| {
        b.iter(|| {
            engine
                .transform(black_box(&large.bytes), black_box(&large_plan))
                .expect("transform")
        })
    });
    group.bench_function("full_12mp_jpeg_to_300w", |b| {
        b.iter(|| produce(&renderer, black_box(&params), black_box(&large.bytes)))
    });
    group.bench_function("transform_2mp_jpeg_to_300w", |b| {
        b.iter(|| {
            engine
                .transform(black_box(&small.bytes), black_box(&small_plan))
                .expect("transform")
        })
    });
    group.bench_function("full_2mp_jpeg_to_300w", |b| {
        b.iter(|| produce(&renderer, black_box(&params), black_box(&small.bytes)))
    });
    group.finish();

    let mut group = c.benchmark_group("probe");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    group.bench_function("probe_12mp_jpeg", |b| {
        b.iter(|| engine.probe(black_box(&large.bytes)).expect("probe"))
    });
    group.finish();
}

/// The widths of a `srcset`, in a fixed shuffled order, as a page after a CDN purge asks for them.
const SRCSET: [u32; 5] = [960, 320, 1920, 640, 1280];

/// All widths of one 12-MP photo: cold (every width decodes) against the derivative cache (emptied
/// before each iteration, so each iteration pays its own first decodes).
fn srcset(c: &mut Criterion) {
    let cold = VipsEngine::new().expect("libvips initialises");
    let large = source(&cold, LARGE, 7);
    let plans: Vec<Plan> = SRCSET
        .iter()
        .map(|w| {
            let params = Params::parse(&format!("src=bench.jpg&w={w}"), &ParamLimits::default())
                .expect("valid params");
            plan_for(&cold, &params, &large)
        })
        .collect();
    let mut group = c.benchmark_group("srcset");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(SRCSET.len() as u64));
    group.bench_function("5_widths_12mp_cold", |b| {
        b.iter(|| {
            for plan in &plans {
                black_box(cold.transform(&large.bytes, plan).expect("transform"));
            }
        })
    });
    let derivatives = Derivatives::new(1 << 30, 16_000_000, Default::default());
    let warm = VipsEngine::new()
        .expect("libvips initialises")
        .with_derivatives(derivatives.clone());
    group.bench_function("5_widths_12mp_derivatives", |b| {
        b.iter(|| {
            derivatives.clear();
            for plan in &plans {
                black_box(warm.transform(&large.bytes, plan).expect("transform"));
            }
        })
    });
    group.finish();
}

fn hit(c: &mut Criterion) {
    let engine = VipsEngine::new().expect("libvips initialises");
    let limits = ParamLimits::default();
    let full = Params::parse(QUERY_FULL, &limits).expect("valid params");
    assert_eq!(full.format, FormatChoice::Auto);
    let negotiated = AcceptClass::negotiate(Some(CHROME_ACCEPT), |f| engine.can_encode(f));

    let mut group = c.benchmark_group("hit");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    group.bench_function("params_parse_simple", |b| {
        b.iter(|| Params::parse(black_box(QUERY_SIMPLE), &limits).expect("parse"))
    });
    group.bench_function("params_parse_full", |b| {
        b.iter(|| Params::parse(black_box(QUERY_FULL), &limits).expect("parse"))
    });
    group.bench_function("cache_key_new", |b| {
        b.iter(|| CacheKey::new(black_box(&full), Some(negotiated), &engine))
    });
    // Everything `App::resize` computes before the cache lookup, for the fm=auto query.
    group.bench_function("parse_negotiate_key_full", |b| {
        b.iter(|| {
            let params = Params::parse(black_box(QUERY_FULL), &limits).expect("parse");
            let accept = (params.format == FormatChoice::Auto).then(|| {
                AcceptClass::negotiate(Some(black_box(CHROME_ACCEPT)), |f| engine.can_encode(f))
            });
            CacheKey::new(&params, accept, &engine)
        })
    });
    group.finish();
}

criterion_group!(benches, miss, srcset, hit);
criterion_main!(benches);
