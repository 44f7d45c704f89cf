//! The processing deadline holds at every stage, decode to encode, on a real server with real
//! libvips: work that cannot be interrupted is refused before it starts, the rest is stopped when
//! `--max-processing-time` passes. "Prompt" is a generous bound (3× the deadline), never a timing.

mod common;

use std::time::{Duration, Instant};

use common::{Fixtures, Server};
use http::StatusCode;

/// The deadline every server here runs with.
const DEADLINE: &str = "1s";
/// A generous "did not hang" bound: three deadlines.
const PROMPT: Duration = Duration::from_secs(3);

async fn timed(s: &Server, url: &str) -> (common::Reply, Duration) {
    let started = Instant::now();
    let reply = s.get(url).await;
    (reply, started.elapsed())
}

/// A 5000×5000 progressive JPEG of 1891 valid scans (240 KB): libjpeg spends ~5 s of CPU in one
/// uninterruptible call on it before the first tile exists.
fn scan_heavy() -> Vec<u8> {
    imgshield::samples::scan_heavy_jpeg(5000, 5000, 9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_heavy_jpeg_is_refused_promptly_on_every_route_and_frees_the_worker() {
    let f = Fixtures::new();
    std::fs::write(f.path().join("scans.jpg"), scan_heavy()).expect("write");
    let s = Server::start(
        f.path(),
        &["--max-processing-time", DEADLINE, "--workers", "1"],
    )
    .await;
    for url in [
        "/resize?src=scans.jpg&w=300",
        "/info?src=scans.jpg",
        "/resize?src=photo.jpg&w=300&wm=scans.jpg",
    ] {
        let (reply, took) = timed(&s, url).await;
        assert!(took < PROMPT, "{url}: answered after {took:?}");
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "source_too_complex"),
            "{url}: {}",
            reply.text()
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    // The one worker is free at once: a normal thumbnail does not wait behind the decode.
    let (reply, took) = timed(&s, "/resize?src=photo.jpg&w=120").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(took < PROMPT, "a normal thumbnail waited {took:?}");
    assert_eq!(s.metric("imgshield_workers_busy").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_progressive_jpeg_is_still_served() {
    let f = Fixtures::new();
    let photo = imgshield::vips::Image::from_pixels(
        &imgshield::samples::photo_pixels(3000, 2000, 5),
        3000,
        2000,
        3,
    )
    .and_then(|image| {
        image.save(imgshield::vips::SaveFormat::Jpeg {
            quality: 90,
            progressive: true,
            strip: true,
        })
    })
    .expect("a progressive jpeg");
    std::fs::write(f.path().join("progressive.jpg"), photo).expect("write");
    let s = Server::start(f.path(), &["--max-processing-time", "10s"]).await;
    let reply = s.get("/resize?src=progressive.jpg&w=300").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let info = s.get("/info?src=progressive.jpg").await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
}

/// A 5000×5000 photo-like JPEG, quick to make and to decode: a 1250×1250 photo tiled 4×4 (the
/// encoders still see 25 MP of noise and edges).
fn photo_25mp() -> Vec<u8> {
    let (tile, side) = (1250usize, 5000usize);
    let pixels = imgshield::samples::photo_pixels(tile as u32, tile as u32, 9);
    let mut big = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        let row = &pixels[(y % tile) * tile * 3..(y % tile + 1) * tile * 3];
        for _ in 0..side / tile {
            big.extend_from_slice(row);
        }
    }
    imgshield::vips::Image::from_pixels(&big, side as u32, side as u32, 3)
        .and_then(|image| {
            image.save(imgshield::vips::SaveFormat::Jpeg {
                quality: 85,
                progressive: false,
                strip: true,
            })
        })
        .expect("a jpeg")
}

/// WebP, AVIF, GIF and palette PNG are encoded in one call the kill flag cannot reach: a 25-MP
/// output is bounded before it starts (a cheaper effort, or 422), never left to run past the
/// deadline (before the fix: 200 after 20-40 s for lossless WebP under a 2 s deadline). JPEG and
/// PNG are stopped by the kill flag. The deadline is 2 s here so that decoding the source fits
/// it and the encoders are what is tested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_outputs_of_slow_encoders_answer_within_the_deadline() {
    let f = Fixtures::new();
    std::fs::write(f.path().join("big.jpg"), photo_25mp()).expect("write");
    let s = Server::start(f.path(), &["--max-processing-time", "2s", "--workers", "1"]).await;
    let prompt = Duration::from_secs(6);
    let big = "/resize?src=big.jpg&w=5000&h=5000&fit=fill";
    for url in [
        format!("{big}&fm=webp&lossless=1"),
        format!("{big}&fm=gif"),
        format!("{big}&fm=avif&q=95"),
        format!("{big}&fm=webp&q=90"),
        format!("{big}&fm=png&palette=1"),
        format!("{big}&fm=png"),
        "/text?txt=Hello&w=5000&h=5000&fm=avif".to_string(),
        "/text?txt=Hello&w=5000&h=5000&fm=gif".to_string(),
    ] {
        let (reply, took) = timed(&s, &url).await;
        eprintln!("{url}: {} {} in {took:?}", reply.status, reply.code());
        assert!(took < prompt, "{url}: answered after {took:?}");
        match reply.status {
            StatusCode::OK => {}
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(
                    reply.code(),
                    "processing_timeout",
                    "{url}: {}",
                    reply.text()
                )
            }
            other => panic!("{url}: {other} {}", reply.text()),
        }
        assert_eq!(s.metric("imgshield_workers_busy").await, 0.0, "{url}");
    }
    // 25 MP of lossless WebP cannot fit any effort into a 2 s limit: refused before decoding.
    let (reply, took) = timed(&s, &format!("{big}&fm=webp&lossless=1&q=99")).await;
    assert_eq!(reply.code(), "processing_timeout", "{}", reply.text());
    assert!(reply.text().contains("lossless WebP"), "{}", reply.text());
    assert!(
        took < Duration::from_secs(1),
        "refused up front, not after {took:?}"
    );
    // A small output of the same formats is still served.
    for fm in ["webp&lossless=1", "gif", "avif"] {
        let reply = s.get(&format!("/resize?src=big.jpg&w=200&fm={fm}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{fm}: {}", reply.text());
    }
}

/// `trim` decodes the source once more to find the border: that decode is stopped by the deadline
/// too. A 7000×7000 PNG (no shrink-on-load: ~1.5 s to decode here) under a 300 ms deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trim_decode_is_stopped_by_the_deadline() {
    let f = Fixtures::new();
    let (tile, side) = (1000usize, 7000usize);
    let pixels = imgshield::samples::photo_pixels(tile as u32, tile as u32, 4);
    let mut big = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        let row = &pixels[(y % tile) * tile * 3..(y % tile + 1) * tile * 3];
        for _ in 0..side / tile {
            big.extend_from_slice(row);
        }
    }
    let png = imgshield::vips::Image::from_pixels(&big, side as u32, side as u32, 3)
        .and_then(|image| {
            image.save(imgshield::vips::SaveFormat::Png {
                compression: 1,
                palette: false,
                strip: true,
            })
        })
        .expect("a png");
    std::fs::write(f.path().join("huge.png"), png).expect("write");
    let s = Server::start(f.path(), &["--max-processing-time", "300ms"]).await;
    let (reply, took) = timed(&s, "/resize?src=huge.png&w=100&trim=10").await;
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    assert_eq!(reply.code(), "processing_timeout", "{}", reply.text());
}
