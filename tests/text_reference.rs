//! `/text` banners look as they did: every case of `tests/data/text/cases.txt` (CJK, Arabic and
//! Hebrew right-to-left, paragraphs of mixed directions, Devanagari and Thai, emoji, wrapping and
//! alignment, translucent canvases and boxes, JPEG and PNG) is rendered through
//! `render::Renderer` as a request is, and compared with the image an older build served for the
//! same query (`scripts/text-references.sh`): SSIM of luma at least 0.98 and, so that colour and
//! alpha count too, every channel of every pixel within a few levels (PNG) or a small mean
//! difference (JPEG, whose encoder rounds).
//!
//! The references were rendered by libvips' `vips_text` and a libvips compositing pipeline; the
//! fonts are Debian's (`scripts/install-deps.sh`), so another font set fails these tests.

use std::path::Path;

use clap::Parser;
use image::RgbaImage;
use imgshield::config::Config;
use imgshield::params::banner::{BannerFormat, TextRequest};
use imgshield::params::ParamLimits;
use imgshield::quality::{ssim, Luma};
use imgshield::render::{Job, Rendered, Renderer};

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/text"))
}

/// (name, query) of every case.
fn cases() -> Vec<(String, String)> {
    let list = std::fs::read_to_string(data().join("cases.txt")).expect("cases.txt");
    list.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, query) = line.split_once(' ').expect("name query");
            (name.to_string(), query.to_string())
        })
        .collect()
}

fn render(renderer: &Renderer, query: &str) -> Vec<u8> {
    let request = TextRequest::parse(query, &ParamLimits::default()).expect("valid query");
    let BannerFormat::Fixed(format) = request.format else {
        panic!("{query}: the cases name their format");
    };
    match renderer.render(Job::Banner {
        request: &request,
        format,
    }) {
        Ok(Rendered::Image(made)) => made.encoded.bytes.to_vec(),
        other => panic!("{query}: {other:?}"),
    }
}

fn luma(image: &RgbaImage) -> Luma {
    Luma::from_rgba_over_white(image.width(), image.height(), image.as_raw())
}

/// The largest and the mean difference of any channel.
fn differences(a: &RgbaImage, b: &RgbaImage) -> (u8, f64) {
    let diffs: Vec<u8> = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .collect();
    let mean = diffs.iter().map(|d| f64::from(*d)).sum::<f64>() / diffs.len().max(1) as f64;
    (diffs.iter().copied().max().unwrap_or(0), mean)
}

#[test]
fn banners_match_their_references() {
    let config = Config::try_parse_from(["imgshield"]).expect("defaults");
    let renderer = Renderer::from_config(&config).expect("renderer");
    let cases = cases();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let mut failed = Vec::new();
    for (name, query) in cases {
        let jpeg = query.contains("fm=jpeg");
        let file = data().join(format!("{name}.{}", if jpeg { "jpg" } else { "png" }));
        let reference = image::open(&file).expect("reference").to_rgba8();
        let ours = image::load_from_memory(&render(&renderer, &query))
            .expect("decodable")
            .to_rgba8();
        assert_eq!(ours.dimensions(), reference.dimensions(), "{name}");
        let score = ssim(&luma(&ours), &luma(&reference)).expect("comparable");
        let (worst, mean) = differences(&ours, &reference);
        eprintln!("{name}: SSIM {score:.5}, largest difference {worst}, mean {mean:.4}");
        let close = if jpeg { mean < 1.0 } else { worst <= 2 };
        if score < 0.98 || !close {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "unlike their references: {failed:?}");
}
