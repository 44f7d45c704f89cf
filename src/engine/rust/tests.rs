//! The pure-Rust engine against libvips on the same plans: same geometry, close pixels (SSIM on
//! luma, decoded by the independent `image` crate), and the same refusals.

use super::*;
use crate::engine::vips::VipsEngine;
use crate::engine::{Rgba, SourceFormat};
use crate::params::{ParamLimits, Params};
use crate::quality::{ssim, Luma};
use crate::render::{choose_format, resolve};
use crate::types::AcceptClass;

fn vips() -> VipsEngine {
    VipsEngine::new().expect("libvips initialises")
}

fn plan_for(engine: &dyn Engine, query: &str, source: &[u8]) -> Plan {
    let params = Params::parse(query, &ParamLimits::default()).expect("valid params");
    let info = engine.probe(source).expect("probe");
    let format = choose_format(params.format, AcceptClass::Legacy, &info, |f| {
        engine.can_encode(f)
    })
    .expect("format");
    resolve(&params, &info, format, 50_000_000).expect("plan")
}

/// Decodes an output with the independent `image` crate; the luma a viewer sees.
fn luma(encoded: &[u8]) -> Luma {
    let rgba = image::load_from_memory(encoded)
        .expect("decodable output")
        .to_rgba8();
    Luma::from_rgba_over_white(rgba.width(), rgba.height(), rgba.as_raw())
}

/// Runs `query` on `source` through both engines; returns (rust, vips) outputs.
fn both(query: &str, source: &[u8]) -> (Encoded, Encoded) {
    let (rust, vips) = (RustEngine::new(), vips());
    let plan = plan_for(&rust, query, source);
    assert_eq!(
        plan,
        plan_for(&vips, query, source),
        "both engines plan alike"
    );
    let a = rust.transform(source, &plan).expect("rust transform");
    let b = vips.transform(source, &plan).expect("vips transform");
    (a, b)
}

fn assert_similar(query: &str, source: &[u8], min_ssim: f64) -> (Encoded, Encoded) {
    let (a, b) = both(query, source);
    assert_eq!((a.width, a.height), (b.width, b.height), "{query}");
    assert_eq!(a.format, b.format, "{query}");
    let score = ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("same size");
    assert!(score >= min_ssim, "{query}: SSIM {score:.4} < {min_ssim}");
    (a, b)
}

fn photo(width: u32, height: u32) -> Vec<u8> {
    crate::samples::photo_jpeg(width, height, 11, 90).expect("photo")
}

#[test]
fn a_large_jpeg_thumbnail_matches_libvips() {
    let source = photo(4000, 3000);
    let (a, _) = assert_similar("src=p.jpg&w=300", &source, 0.95);
    assert_eq!(
        (a.width, a.height, a.format),
        (300, 225, OutputFormat::Jpeg)
    );
}

#[test]
fn every_fit_mode_matches_libvips() {
    let source = photo(1600, 1000);
    for query in [
        "src=p.jpg&w=400&h=400&fit=inside",
        "src=p.jpg&w=400&h=400&fit=cover",
        "src=p.jpg&w=400&h=400&fit=contain",
        "src=p.jpg&w=400&h=400&fit=fill",
        "src=p.jpg&w=400&h=400&fit=outside",
        "src=p.jpg&w=900",
        "src=p.jpg&h=120&fm=png",
    ] {
        assert_similar(query, &source, 0.95);
    }
}

#[test]
fn exif_orientation_is_applied() {
    // Stored landscape with "rotate 90° clockwise": both engines must output a portrait.
    let stored = photo(400, 200);
    let source = with_exif_orientation(&stored, 6);
    let rust = RustEngine::new();
    let info = rust.probe(&source).expect("probe");
    assert_eq!((info.width, info.height), (200, 400));
    let (a, _) = assert_similar("src=p.jpg&w=100", &source, 0.95);
    assert_eq!((a.width, a.height), (100, 200));
}

#[test]
fn rot_flip_progressive_and_lossless_webp_match_libvips() {
    let source = photo(800, 500);
    for query in [
        "src=p.jpg&w=200&rot=90",
        "src=p.jpg&w=200&rot=180",
        "src=p.jpg&w=200&rot=270&flip=h",
        "src=p.jpg&w=200&flip=v",
        "src=p.jpg&w=200&h=200&fit=cover&rot=90&flip=hv",
    ] {
        assert_similar(query, &source, 0.95);
    }
    let (a, b) = assert_similar("src=p.jpg&w=300&prog=1", &source, 0.95);
    let progressive = |bytes: &[u8]| bytes.windows(2).any(|m| m == [0xFF, 0xC2]);
    assert!(
        progressive(&a.bytes) && progressive(&b.bytes),
        "SOF2 in both"
    );
    let logo = crate::samples::logo_png(256).expect("logo");
    let (a, _) = assert_similar("src=l.png&w=100&fm=webp&lossless=1", &logo, 0.98);
    assert_eq!(a.bytes.get(12..16), Some(b"VP8L".as_slice()));
    assert!(image::load_from_memory(&a.bytes)
        .expect("webp")
        .color()
        .has_alpha());
}

#[test]
fn crop_and_gray_match_libvips() {
    let source = photo(800, 500);
    for query in [
        "src=p.jpg&crop=100,50,400,300&w=200",
        "src=p.jpg&crop=100,50,400,300&w=200&rot=90",
        "src=p.jpg&w=200&gray=1",
        "src=p.jpg&w=200&h=200&fit=contain&gray=1&bg=ff0000",
    ] {
        assert_similar(query, &source, 0.95);
    }
    // Grey as libvips makes it: a luminance of the linear light, one channel. Pure blue is 89
    // that way (Rec. 709 weights on the gamma values would give 18, on linear light 76).
    let blue = crate::engine::vips::Image::from_pixels(&[0, 0, 255].repeat(64 * 64), 64, 64, 3)
        .and_then(|image| {
            image.save(crate::engine::vips::SaveFormat::Png {
                compression: 6,
                palette: false,
                strip: true,
            })
        })
        .expect("a blue PNG");
    let (a, b) = both("src=b.png&w=32&gray=1", &blue);
    for out in [&a, &b] {
        let decoded = image::load_from_memory(&out.bytes).expect("png");
        assert_eq!(decoded.color(), image::ColorType::L8);
        let grey = decoded.to_luma8().get_pixel(16, 16).0[0];
        assert!((i32::from(grey) - 89).abs() <= 2, "grey {grey}");
    }
    // With alpha: grey and alpha, both engines.
    let logo = crate::samples::logo_png(128).expect("logo");
    let (a, b) = assert_similar("src=l.png&w=64&gray=1", &logo, 0.95);
    for out in [&a, &b] {
        assert_eq!(
            image::load_from_memory(&out.bytes).expect("png").color(),
            image::ColorType::La8
        );
    }
}

#[test]
fn png_alpha_survives_and_is_flattened_for_jpeg() {
    let logo = crate::samples::logo_png(256).expect("logo");
    let (a, _) = assert_similar("src=l.png&w=100", &logo, 0.95);
    let decoded = image::load_from_memory(&a.bytes).expect("png");
    assert!(decoded.color().has_alpha());
    let (a, _) = assert_similar("src=l.png&w=100&fm=jpeg", &logo, 0.95);
    assert_eq!(a.format, OutputFormat::Jpeg);
}

#[test]
fn webp_and_gif_sources_decode() {
    let vips = vips();
    let photo = photo(320, 240);
    let plan = plan_for(&vips, "src=p.jpg&w=320&fm=webp", &photo);
    let webp = vips.transform(&photo, &plan).expect("webp").bytes;
    // WebP in, JPEG out: same pixels as libvips'.
    assert_similar("src=p.webp&w=160&fm=jpeg", &webp, 0.95);

    let gif = crate::samples::logo_png(64)
        .ok()
        .and_then(|png| image::load_from_memory(&png).ok())
        .map(|img| {
            let mut out = std::io::Cursor::new(Vec::new());
            img.write_to(&mut out, image::ImageFormat::Gif)
                .expect("gif");
            out.into_inner()
        })
        .expect("a GIF");
    let info = RustEngine::new().probe(&gif).expect("probe");
    assert_eq!((info.format, info.pages), (SourceFormat::Gif, 1));
    assert_similar("src=l.gif&w=32&fm=png", &gif, 0.9);
}

#[test]
fn broken_sources_are_undecodable() {
    let rust = RustEngine::new();
    let source = photo(512, 512);
    let plan = plan_for(&rust, "src=p.jpg&w=100", &source);
    // Not listed: a scan that ends early at an end marker. jpeg-decoder fills the rest, as
    // libjpeg does with only a warning (see the module doc).
    for broken in [&source[..source.len() / 2], &source[..source.len() - 2]] {
        let result = rust.transform(broken, &plan);
        assert!(
            matches!(result, Err(EngineError::Undecodable(_))),
            "{} bytes: {result:?}",
            broken.len()
        );
    }
}

#[test]
fn unknown_bytes_are_undecodable_to_probe_and_unsupported_to_transform() {
    let rust = RustEngine::new();
    let plan = plan_for(&rust, "src=p.jpg&w=10", &photo(32, 32));
    for bytes in [
        b"not an image at all".as_slice(),
        &[],
        b"II*\0 (a TIFF header)",
    ] {
        assert!(matches!(
            rust.probe(bytes),
            Err(EngineError::Undecodable(_))
        ));
        assert!(matches!(
            rust.transform(bytes, &plan),
            Err(EngineError::NotImplemented(_))
        ));
    }
}

#[test]
fn what_it_cannot_do_is_named_not_guessed() {
    let rust = RustEngine::new();
    assert!(!rust.can_encode(OutputFormat::Avif));
    let source = photo(64, 64);
    let mut plan = plan_for(&rust, "src=p.jpg&w=32", &source);
    plan.format = OutputFormat::Avif;
    assert_eq!(
        rust.transform(&source, &plan).map(|e| e.width),
        Err(EngineError::UnsupportedFormat("avif"))
    );
    // WebP only lossless: a lossy one asked for is refused, not silently made lossless.
    plan.format = OutputFormat::Webp;
    assert!(matches!(
        rust.transform(&source, &plan),
        Err(EngineError::NotImplemented(what)) if what.contains("lossy WebP")
    ));
    // A Display P3 profile would need colour management.
    let mut p3 = vec![0u8; 128];
    p3[16..20].copy_from_slice(b"RGB ");
    p3.extend_from_slice(b"descDisplay P3");
    assert!(matches!(
        steps::require_srgb(Some(&p3)),
        Err(EngineError::NotImplemented(_))
    ));
    let mut srgb = p3[..128].to_vec();
    srgb.extend_from_slice(b"descsRGB IEC61966-2.1");
    assert_eq!(steps::require_srgb(Some(&srgb)), Ok(()));
    assert_eq!(steps::require_srgb(None), Ok(()));
}

#[test]
fn pad_uses_the_plan_background() {
    let rust = RustEngine::new();
    let source = photo(200, 100);
    let mut plan = plan_for(&rust, "src=p.jpg&w=100&h=100&fit=contain&fm=png", &source);
    plan.background = Rgba([255, 0, 0, 255]);
    let out = rust.transform(&source, &plan).expect("ok");
    let rgba = image::load_from_memory(&out.bytes).expect("png").to_rgba8();
    assert_eq!((rgba.width(), rgba.height()), (100, 100));
    assert_eq!(rgba.get_pixel(50, 2).0, [255, 0, 0, 255]);
}

/// `jpeg` with a minimal EXIF APP1 segment carrying `orientation`, inserted after SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let len = u16::try_from(app1.len() + 2).expect("short");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend(app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}
