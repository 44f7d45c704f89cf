//! Malformed sources against a real server: truncated, garbage, empty, mislabelled, bombs that declare
//! huge sizes or thousands of frames, bad checksums, SVG with external references, broken JPEG
//! segments. Every case must be answered promptly with its documented 4xx (or, where the bytes are a
//! real image after all, a valid one), nothing refused may be cached, and the server must stay healthy
//! after each. The corpus is built by `malformed/corpus.rs` and listed in `malformed/cases.rs`; nothing
//! binary is committed.

#[path = "malformed/cases.rs"]
mod cases;
mod common;
#[path = "malformed/corpus.rs"]
mod corpus;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{Origin, Server};
use corpus::{case, encoded, Case, Expect, UNDECODABLE};
use http::StatusCode;
use image::ImageFormat;

/// A hang detector, not a timing assertion: every case here needs milliseconds; the harness's own
/// bound is 60 s.
const HANG_BOUND: Duration = Duration::from_secs(20);

/// A server whose root holds `cases` and one good image.
struct Bench {
    server: Server,
    _root: tempfile::TempDir,
    /// Each health check asks for a new width, so it is a cache miss that runs a real transform.
    checks: AtomicU32,
}

impl Bench {
    async fn start(cases: &[Case]) -> Bench {
        Bench::start_with(cases, &[]).await
    }

    async fn start_with(cases: &[Case], flags: &[&str]) -> Bench {
        let root = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(root.path().join(name), bytes).expect("write a corpus file")
        };
        write("good.jpg", &encoded(ImageFormat::Jpeg, 320, 240));
        for case in cases {
            write(&case.name, &case.bytes);
        }
        Bench {
            server: Server::start(root.path(), flags).await,
            _root: root,
            checks: AtomicU32::new(0),
        }
    }

    async fn assert_healthy(&self) {
        let width = 16 + self.checks.fetch_add(1, Ordering::SeqCst);
        self.server
            .assert_healthy(&format!("/resize?src=good.jpg&w={width}"))
            .await;
    }

    /// Requests `case` and checks its answer (logged: run with `--nocapture` to see the table).
    async fn check(&self, case: &Case) {
        let url = format!("/resize?src={}&w=64", case.name);
        let started = Instant::now();
        let reply = self.server.get(&url).await;
        let elapsed = started.elapsed();
        let outcome = format!("{} {}", reply.status.as_u16(), reply.code());
        eprintln!("{:<28} {outcome:<32} {elapsed:?}", case.name);
        assert!(elapsed < HANG_BOUND, "{}: took {elapsed:?}", case.name);
        let refused = match case.expect {
            Expect::Refused(status, code) => {
                assert_eq!(
                    (reply.status.as_u16(), reply.code().as_str()),
                    (status, code),
                    "{}: {}",
                    case.name,
                    describe(&reply)
                );
                true
            }
            Expect::Served(format) => {
                assert_served(case, &reply, Some(format));
                false
            }
            Expect::ServedOrRefused if reply.status == StatusCode::OK => {
                assert_served(case, &reply, None);
                false
            }
            Expect::ServedOrRefused => {
                assert!(
                    reply.status.is_client_error(),
                    "{}: {outcome}: {}",
                    case.name,
                    describe(&reply)
                );
                true
            }
        };
        if refused {
            assert_not_cached(case, &reply);
            let again = self.server.get(&url).await;
            assert_eq!(
                (again.status, again.code()),
                (reply.status, reply.code()),
                "{}: the second answer differs",
                case.name
            );
            assert_not_cached(case, &again);
        }
    }
}

/// The JSON error for the log, or a summary of a body that is not one.
fn describe(reply: &common::Reply) -> String {
    match reply.header("content-type") {
        Some(t) if t.starts_with("image/") => format!("<{} bytes of {t}>", reply.body.len()),
        _ => reply.text(),
    }
}

fn assert_not_cached(case: &Case, reply: &common::Reply) {
    assert!(!reply.code().is_empty(), "{}: no JSON code", case.name);
    assert_eq!(
        reply.header("x-cache"),
        None,
        "{}: an error came from the cache",
        case.name
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{}",
        case.name
    );
}

fn assert_served(case: &Case, reply: &common::Reply, format: Option<ImageFormat>) {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{}: {}",
        case.name,
        describe(reply)
    );
    // Decoded by the `image` crate: a 200 must carry a real image, not garbage.
    let (served, width, height) = reply.image();
    if let Some(format) = format {
        assert_eq!(served, format, "{}", case.name);
    }
    assert!(width <= 64 && height > 0, "{}: {width}x{height}", case.name);
}

/// Serves `cases` one by one, checking the server's health after each.
async fn run(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let bench = Bench::start(&cases).await;
    for case in &cases {
        bench.check(case).await;
        bench.assert_healthy().await;
    }
}

// ---------------------------------------------------------------- the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_jpegs_get_422() {
    run(cases::truncated_jpegs()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_pngs_get_422() {
    run(cases::truncated_pngs()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_gifs_get_422() {
    run(cases::truncated_gifs()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_webps_get_422() {
    run(cases::truncated_webps()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_behind_each_signature_gets_422() {
    run(cases::garbage()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_one_byte_files_get_422() {
    run(cases::empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_content_not_the_file_name_decides_the_format() {
    run(cases::wrong_magic()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_declared_dimensions_get_422_before_decoding() {
    run(cases::huge_declared_sizes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_declared_size_without_the_data_gets_422() {
    run(cases::large_sizes_without_data()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jpeg_whose_data_ends_early_before_its_end_marker_gets_422() {
    run(cases::jpegs_ending_early_with_an_end_marker()).await;
}

/// libjpeg only warns about a scan that ends early at an end marker; `--fail-on error` tolerates
/// warnings, so the same file is served, grey-filled. Proves the default is what refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_error_serves_a_jpeg_that_only_warns() {
    let cut = cases::jpegs_ending_early_with_an_end_marker()
        .into_iter()
        .find(|c| c.name == "half-then-eoi.jpg")
        .expect("the case exists");
    let bench = Bench::start_with(&[cut], &["--fail-on", "error"]).await;
    let reply = bench.server.get("/resize?src=half-then-eoi.jpg&w=64").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", describe(&reply));
    bench.assert_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pngs_with_bad_checksums_get_422() {
    run(cases::bad_checksums()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jpegs_with_absurd_segment_lengths_get_422_or_their_intact_picture() {
    run(cases::broken_jpeg_segments()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gif_frame_bomb_is_refused_from_its_header_and_a_short_animation_served() {
    run(cases::frame_bomb()).await;
}

/// Found by fuzz/decode: with libvips 8.14, `fit=cover` on this GIF keeps the loader re-decoding its
/// invalid frame for ~5 s inside one output tile, where libvips' kill flag is not checked. The
/// loader only warns about the frame, so the default `--fail-on warning` refuses it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gif_with_invalid_frame_data_is_refused_before_it_gets_slow() {
    let slow = case("slow-crop.gif", corpus::slow_crop_gif(), UNDECODABLE);
    let bench = Bench::start_with(&[slow], &["--max-processing-time", "1s"]).await;
    let reply = bench
        .server
        .get("/resize?src=slow-crop.gif&w=48&h=48&fit=cover")
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.code().as_str()),
        (422, "undecodable_source"),
        "{}",
        describe(&reply)
    );
    bench.assert_healthy().await;
}

/// The deadline cannot stop libjpeg inside its one call over a progressive file's scans: a file
/// of 1891 scans is refused from its markers, under a deadline it would otherwise overrun 3×.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding() {
    let bench = Bench::start_with(&cases::scan_heavy(), &["--max-processing-time", "1s"]).await;
    let started = Instant::now();
    bench.check(&cases::scan_heavy()[0]).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    bench.assert_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_svg_with_external_references_gets_422_and_fetches_nothing() {
    let origin = Origin::start().await;
    origin.route(
        "/x.png",
        common::Behaviour::Image(encoded(ImageFormat::Png, 8, 8)),
    );
    let href = origin.url("/x.png");
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">
  <style>@import url("{href}?css");</style>
  <image href="{href}" width="64" height="64"/>
  <image xlink:href="{href}?xlink" width="64" height="64"/>
  <filter id="f"><feImage href="{href}?filter"/></filter>
  <rect width="64" height="64" filter="url(#f)"/>
</svg>"#
    );
    let cases = vec![
        case("external.svg", svg.clone().into_bytes(), UNDECODABLE),
        // Content sniffing must not let the SVG loader in through another name.
        case("external-svg.png", svg.into_bytes(), UNDECODABLE),
    ];
    run(cases).await;
    assert_eq!(
        origin.connections.load(Ordering::SeqCst),
        0,
        "the SVG's references were fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_corpus_at_once_leaves_the_server_healthy() {
    let all = cases::all_cases();
    let bench = std::sync::Arc::new(Bench::start(&all).await);
    // Concurrently: a broken source must not disturb the others being decoded beside it.
    let tasks: Vec<_> = all
        .into_iter()
        .map(|case| {
            let bench = bench.clone();
            tokio::spawn(async move { bench.check(&case).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("a case's checks hold under concurrency");
    }
    bench.assert_healthy().await;
}
