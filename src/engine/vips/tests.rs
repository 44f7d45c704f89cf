//! The libvips engine end to end: probes, transforms, time limits and the derivative cache.

use super::*;
use crate::engine::{Crop, Placement, Rect, Rgba, Size, SourceFormat};
use std::{sync::Arc, time::Duration};

fn engine() -> VipsEngine {
    VipsEngine::new().expect("libvips initialises")
}

fn gradient(width: u32, height: u32, bands: u32) -> Vec<u8> {
    let mut px = Vec::with_capacity((width * height * bands) as usize);
    for y in 0..height {
        for x in 0..width {
            for b in 0..bands {
                px.push(((x * 7 + y * 3 + b * 50) % 256) as u8);
            }
        }
    }
    px
}

fn encoded(width: u32, height: u32, bands: u32, format: OutputFormat) -> Vec<u8> {
    Image::from_pixels(&gradient(width, height, bands), width, height, bands)
        .expect("image")
        .save(save_format(format, 90, Default::default(), true))
        .expect("save")
}

fn plan(resize: Size, format: OutputFormat) -> Plan {
    let mut plan = Plan::scale_to(resize, format);
    plan.background = Rgba::WHITE;
    plan.quality = 80;
    plan
}

#[test]
fn probes_jpeg_and_png_headers() {
    let e = engine();
    let jpeg = e
        .probe(&encoded(64, 48, 3, OutputFormat::Jpeg))
        .expect("jpeg");
    assert_eq!(
        (jpeg.width, jpeg.height, jpeg.format, jpeg.has_alpha),
        (64, 48, SourceFormat::Jpeg, false)
    );
    let png = e
        .probe(&encoded(20, 10, 4, OutputFormat::Png))
        .expect("png");
    assert_eq!((png.format, png.has_alpha), (SourceFormat::Png, true));
}

#[test]
fn jpeg_and_png_are_always_encodable() {
    let e = engine();
    assert!(e.can_encode(OutputFormat::Jpeg));
    assert!(e.can_encode(OutputFormat::Png));
}

#[test]
fn transform_produces_the_planned_size() {
    let e = engine();
    let src = encoded(640, 480, 3, OutputFormat::Jpeg);
    let out = e
        .transform(
            &src,
            &plan(
                Size {
                    width: 300,
                    height: 225,
                },
                OutputFormat::Jpeg,
            ),
        )
        .expect("ok");
    assert_eq!((out.width, out.height), (300, 225));
    let back = e.probe(&out.bytes).expect("decodable");
    assert_eq!(
        (back.width, back.height, back.format),
        (300, 225, SourceFormat::Jpeg)
    );
}

#[test]
fn crop_and_pad_shape_the_output() {
    let e = engine();
    let src = encoded(400, 300, 3, OutputFormat::Png);
    let mut p = plan(
        Size {
            width: 200,
            height: 150,
        },
        OutputFormat::Png,
    );
    p.crop = Some(Crop::Fixed(Rect {
        left: 25,
        top: 0,
        width: 150,
        height: 150,
    }));
    assert_eq!(
        e.transform(&src, &p).map(|o| (o.width, o.height)),
        Ok((150, 150))
    );
    let mut p = plan(
        Size {
            width: 200,
            height: 150,
        },
        OutputFormat::Png,
    );
    p.pad = Some(Placement {
        canvas: Size {
            width: 200,
            height: 200,
        },
        left: 0,
        top: 25,
    });
    p.background = Rgba::TRANSPARENT;
    let out = e.transform(&src, &p).expect("padded");
    assert_eq!((out.width, out.height), (200, 200));
    assert!(e.probe(&out.bytes).expect("png").has_alpha);
}

#[test]
fn alpha_is_flattened_for_jpeg() {
    let e = engine();
    let src = encoded(40, 40, 4, OutputFormat::Png);
    let out = e
        .transform(
            &src,
            &plan(
                Size {
                    width: 20,
                    height: 20,
                },
                OutputFormat::Jpeg,
            ),
        )
        .expect("ok");
    assert!(!e.probe(&out.bytes).expect("jpeg").has_alpha);
}

#[test]
fn garbage_and_truncation_are_undecodable() {
    let e = engine();
    assert!(matches!(
        e.probe(b"definitely not an image"),
        Err(EngineError::Undecodable(_))
    ));
    assert!(matches!(e.probe(&[]), Err(EngineError::Undecodable(_))));
    let jpeg = encoded(512, 512, 3, OutputFormat::Jpeg);
    let truncated = &jpeg[..jpeg.len() / 2];
    let result = e.transform(
        truncated,
        &plan(
            Size {
                width: 100,
                height: 100,
            },
            OutputFormat::Jpeg,
        ),
    );
    assert!(
        matches!(result, Err(EngineError::Undecodable(_))),
        "{result:?}"
    );
}

#[test]
fn the_time_limit_stops_libvips_mid_operation() {
    let e = engine();
    let src = crate::samples::photo_jpeg(3000, 2000, 7, 90).expect("jpeg");
    // Decoding 6 MP and encoding a lossless 3000x2000 PNG takes far longer than a millisecond.
    let slow = plan(
        Size {
            width: 3000,
            height: 2000,
        },
        OutputFormat::Png,
    )
    .with_time_limit(Duration::from_millis(1));
    // Without the kill, the save would succeed: an error here means libvips stopped the work.
    let result = e.transform(&src, &slow);
    assert_eq!(
        result.map(|o| o.width),
        Err(EngineError::Timeout(Duration::from_millis(1)))
    );
    // The engine is fine afterwards.
    let fast = plan(
        Size {
            width: 300,
            height: 200,
        },
        OutputFormat::Jpeg,
    )
    .with_time_limit(Duration::from_secs(30));
    assert!(e.transform(&src, &fast).is_ok());
}

fn luma(encoded: &[u8]) -> crate::quality::Luma {
    let rgba = image::load_from_memory(encoded)
        .expect("decodable")
        .to_rgba8();
    crate::quality::Luma::from_rgba_over_white(rgba.width(), rgba.height(), rgba.as_raw())
}

/// Lookup results seen by the derivative cache's callback.
type Lookups = Arc<std::sync::Mutex<Vec<Lookup>>>;

fn with_derivatives() -> (VipsEngine, Lookups) {
    let lookups = Lookups::default();
    let seen = lookups.clone();
    let on_lookup = OnLookup::new(move |lookup| {
        seen.lock().expect("not poisoned").push(lookup);
    });
    let engine = engine().with_derivatives(Derivatives::new(1 << 30, 1 << 30, on_lookup));
    (engine, lookups)
}

fn count(lookups: &Lookups, result: &'static str) -> u64 {
    let lookups = lookups.lock().expect("not poisoned");
    lookups.iter().filter(|l| l.as_str() == result).count() as u64
}

/// Six sizes of one 3000x2000 photo through the derivative cache, each compared with a cold
/// transform by the same shrink rule; returns the lookup counts (first, miss, hit, derived,
/// bypass).
fn kept_decodes_against_cold(draft: bool) -> (u64, u64, u64, u64, u64) {
    let cold = engine().with_draft(draft);
    let (warm, lookups) = with_derivatives();
    let warm = warm.with_draft(draft);
    let src = crate::samples::photo_jpeg(3000, 2000, 5, 90).expect("jpeg");
    for (w, h) in [
        (1000, 667),
        (700, 467),
        (400, 267),
        (300, 200),
        (120, 80),
        (100, 67),
    ] {
        let p = plan(
            Size {
                width: w,
                height: h,
            },
            OutputFormat::Jpeg,
        );
        let a = warm.transform(&src, &p).expect("warm");
        let b = cold.transform(&src, &p).expect("cold");
        assert_eq!((a.width, a.height), (w, h));
        let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
        assert!(
            score >= 0.99,
            "draft {draft}, {w}x{h}: SSIM {score:.4} against a cold transform"
        );
    }
    (
        count(&lookups, "first"),
        count(&lookups, "miss"),
        count(&lookups, "hit"),
        count(&lookups, "derived"),
        count(&lookups, "bypass"),
    )
}

#[test]
fn later_sizes_come_from_a_kept_decode_and_match_a_cold_transform() {
    // libvips' rule: shrink 1 (not kept), shrink 2 (first sight: not kept), shrink 2 (decoded
    // and kept), shrink 4 (from it), shrink 8 (two levels away: derived from it by a box
    // shrink and kept), shrink 8 again (from that).
    assert_eq!(kept_decodes_against_cold(false), (1, 1, 2, 1, 1));
}

#[test]
fn with_draft_decoding_the_kept_levels_follow_the_draft_rule() {
    // Kept from the first sight: shrinks 2 (decoded and kept), 4 (derived from it and kept), 4
    // (kept), 8 (derived from 4 and kept), 8, 8 (kept).
    assert_eq!(kept_decodes_against_cold(true), (0, 1, 3, 2, 0));
}

#[test]
fn a_smaller_decode_never_serves_a_larger_size() {
    let (warm, lookups) = with_derivatives();
    let src = crate::samples::photo_jpeg(3000, 2000, 6, 90).expect("jpeg");
    let small = plan(
        Size {
            width: 150,
            height: 100,
        },
        OutputFormat::Jpeg,
    );
    let large = plan(
        Size {
            width: 700,
            height: 467,
        },
        OutputFormat::Jpeg,
    );
    // First sight, then a decode at 1/8 (375x250), kept.
    warm.transform(&src, &small).expect("small");
    warm.transform(&src, &small).expect("small");
    assert_eq!((count(&lookups, "first"), count(&lookups, "miss")), (1, 1));
    // The 1/8 decode cannot make 700x467: a new decode, at shrink 2.
    let out = warm.transform(&src, &large).expect("large");
    assert_eq!((out.width, out.height), (700, 467));
    assert_eq!((count(&lookups, "miss"), count(&lookups, "hit")), (2, 0));
    // Now both are kept; the small size takes the smallest usable one.
    warm.transform(&src, &small).expect("small again");
    assert_eq!(count(&lookups, "hit"), 1);
}

#[test]
fn orientation_survives_the_kept_decode_and_non_jpegs_bypass_it() {
    let cold = engine();
    let (warm, lookups) = with_derivatives();
    // A 1600x800 JPEG whose EXIF says "rotate 90° clockwise", as tests/common makes them.
    let stored = crate::samples::photo_jpeg(1600, 800, 9, 90).expect("jpeg");
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut src = stored[..2].to_vec();
    src.extend_from_slice(&[0xFF, 0xE1]);
    src.extend_from_slice(&u16::try_from(app1.len() + 2).expect("short").to_be_bytes());
    src.extend(app1);
    src.extend_from_slice(&stored[2..]);
    // First sight, a decode at shrink 2 (kept), then shrink 8 derived from it.
    for (w, h) in [(200, 400), (200, 400), (50, 100)] {
        let p = plan(
            Size {
                width: w,
                height: h,
            },
            OutputFormat::Jpeg,
        );
        let a = warm.transform(&src, &p).expect("warm");
        let b = cold.transform(&src, &p).expect("cold");
        let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
        assert!(score >= 0.99, "{w}x{h}: SSIM {score:.4}");
    }
    assert_eq!(
        (count(&lookups, "miss"), count(&lookups, "derived")),
        (1, 1)
    );
    let png = encoded(64, 64, 4, OutputFormat::Png);
    let p = plan(
        Size {
            width: 32,
            height: 32,
        },
        OutputFormat::Png,
    );
    warm.transform(&png, &p).expect("png");
    assert_eq!(count(&lookups, "bypass"), 1);
}

#[test]
fn the_draft_load_matches_thumbnail_within_tolerance() {
    let thumbnail = engine();
    let draft = engine().with_draft(true);
    let photo = crate::samples::photo_jpeg(3000, 2000, 8, 90).expect("jpeg");
    // Stored 1600x800, EXIF 6: upright 800x1600 (the draft load must auto-orient too).
    let stored = crate::samples::photo_jpeg(1600, 800, 9, 90).expect("jpeg");
    let mut turned = stored[..2].to_vec();
    let mut app1 = b"Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
    app1.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    turned.extend_from_slice(&[0xFF, 0xE1]);
    turned.extend_from_slice(&u16::try_from(app1.len() + 2).expect("short").to_be_bytes());
    turned.extend(app1);
    turned.extend_from_slice(&stored[2..]);
    for (src, (w, h)) in [
        (&photo, (640, 427)),
        (&photo, (300, 200)),
        (&photo, (1000, 667)),
        (&photo, (200, 500)),
        (&turned, (200, 400)),
    ] {
        let p = plan(
            Size {
                width: w,
                height: h,
            },
            OutputFormat::Jpeg,
        );
        let a = draft.transform(src, &p).expect("draft");
        let b = thumbnail.transform(src, &p).expect("thumbnail");
        assert_eq!((a.width, a.height), (w, h));
        let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
        assert!(score >= 0.98, "{w}x{h}: SSIM {score:.4} against thumbnail");
    }
}

#[test]
fn svg_is_not_accepted() {
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
    assert!(matches!(
        engine().probe(svg),
        Err(EngineError::Undecodable(_))
    ));
}
