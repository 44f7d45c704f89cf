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
