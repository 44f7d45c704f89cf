//! Both engines on the same fixtures and plans: `cargo bench --bench engines` (about 3 minutes).
//!
//! The common thumbnail operation (`w=300`, default fit) on a 12-MP baseline and a 12-MP progressive
//! JPEG, a 2-MP JPEG, a 1024x1024 PNG with alpha and a 2-MP WebP (written as JPEG: the Rust engine
//! cannot write lossy WebP). Before timing, each case prints both engines' output sizes and the SSIM
//! between their outputs (luma, decoded by the `image` crate), so one run gives the three columns
//! of the table in docs/BENCHMARKS.md. Pin it to one core (`taskset -c 0`): libvips runs
//! single-threaded as in the server, and the Rust engine's JPEG decoder would otherwise spread its
//! colour components over threads.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

use imgshield::engine::rust::RustEngine;
use imgshield::engine::vips::{Image, SaveFormat, VipsEngine};
use imgshield::engine::{Engine, Plan};
use imgshield::params::{ParamLimits, Params};
use imgshield::quality::{ssim, Luma};
use imgshield::render::{choose_format, resolve};
use imgshield::samples;
use imgshield::types::AcceptClass;

struct Case {
    name: &'static str,
    query: &'static str,
    source: Vec<u8>,
}

fn photo(width: u32, height: u32, save: SaveFormat) -> Vec<u8> {
    Image::from_pixels(&samples::photo_pixels(width, height, 7), width, height, 3)
        .and_then(|image| image.save(save))
        .expect("a generated photo")
}

fn cases() -> Vec<Case> {
    let jpeg = |progressive| SaveFormat::Jpeg {
        quality: 90,
        progressive,
        strip: true,
    };
    vec![
        Case {
            name: "jpeg_12mp",
            query: "src=a.jpg&w=300",
            source: photo(4000, 3000, jpeg(false)),
        },
        Case {
            name: "jpeg_12mp_progressive",
            query: "src=a.jpg&w=300",
            source: photo(4000, 3000, jpeg(true)),
        },
        Case {
            name: "jpeg_2mp",
            query: "src=a.jpg&w=300",
            source: photo(1728, 1152, jpeg(false)),
        },
        Case {
            name: "png_alpha_1mp",
            query: "src=a.png&w=300",
            source: samples::logo_png(1024).expect("a logo"),
        },
        Case {
            name: "webp_2mp_to_jpeg",
            query: "src=a.webp&w=300&fm=jpeg",
            source: photo(
                1728,
                1152,
                SaveFormat::Webp {
                    quality: 85,
                    lossless: false,
                    effort: 4,
                    strip: true,
                },
            ),
        },
    ]
}

fn plan(engine: &dyn Engine, case: &Case) -> Plan {
    let params = Params::parse(case.query, &ParamLimits::default()).expect("valid params");
    let info = engine.probe(&case.source).expect("probe");
    let format = choose_format(params.format, AcceptClass::Legacy, &info, |f| {
        engine.can_encode(f)
    })
    .expect("a format");
    resolve(&params, &info, format, 8192 * 8192).expect("plan")
}

/// Decodes an output with the independent `image` crate; the luma a viewer sees.
fn luma(encoded: &[u8]) -> Luma {
    let rgba = image::load_from_memory(encoded)
        .expect("decodable output")
        .to_rgba8();
    Luma::from_rgba_over_white(rgba.width(), rgba.height(), rgba.as_raw())
}

fn engines(c: &mut Criterion) {
    // Both as the server runs them by default (`--jpeg-shrink draft`); IMGSHIELD_BENCH_HEADROOM=1
    // measures libvips' twice-the-target rule instead.
    let draft = std::env::var_os("IMGSHIELD_BENCH_HEADROOM").is_none();
    let vips = VipsEngine::new()
        .expect("libvips initialises")
        .with_draft(draft);
    let rust = RustEngine::new().with_draft(draft);
    eprintln!(
        "JPEG shrink rule: {}",
        if draft { "draft" } else { "headroom" }
    );
    let cases = cases();
    eprintln!("| case | source bytes | vips output bytes | rust output bytes | size rust/vips | SSIM rust vs vips |");
    eprintln!("|---|---:|---:|---:|---:|---:|");
    for case in &cases {
        let plan = plan(&vips, case);
        assert_eq!(plan, self::plan(&rust, case), "{}: same plan", case.name);
        let a = vips.transform(&case.source, &plan).expect("vips");
        let b = rust.transform(&case.source, &plan).expect("rust");
        let score = ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("same size");
        eprintln!(
            "| {} | {} | {} | {} | {:.2} | {score:.4} |",
            case.name,
            case.source.len(),
            a.bytes.len(),
            b.bytes.len(),
            b.bytes.len() as f64 / a.bytes.len() as f64
        );
    }

    let mut group = c.benchmark_group("engines");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    for case in &cases {
        let plan = plan(&vips, case);
        for engine in [&vips as &dyn Engine, &rust] {
            group.bench_function(format!("{}/{}", case.name, engine.name()), |b| {
                b.iter(|| {
                    engine
                        .transform(black_box(&case.source), black_box(&plan))
                        .expect("transform")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, engines);
criterion_main!(benches);
