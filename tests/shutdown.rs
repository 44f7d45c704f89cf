//! The real binary: it starts with no configuration on the generated sample set, prints URLs to try,
//! and on SIGTERM stops accepting, finishes in-flight requests and exits 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Behaviour, Fixtures, Origin};
use http::StatusCode;

/// Starts the binary and returns it with the base URL it printed.
fn spawn(args: &[&str]) -> (Child, String, Vec<String>) {
    spawn_logging(args, "warn", Stdio::inherit())
}

fn spawn_logging(args: &[&str], log: &str, stderr: Stdio) -> (Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgshield"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", log)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").expect("utf-8");
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    // The rest of the banner (URLs to try), read until the last sample URL line.
    let mut banner = Vec::new();
    if args.iter().all(|a| *a != "--root") {
        for line in lines.by_ref() {
            let line = line.expect("utf-8");
            let done = line.contains("/metrics");
            banner.push(line);
            if done {
                break;
            }
        }
    }
    (child, base, banner)
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_sample_set_serves_the_printed_urls() {
    let (mut child, base, banner) = spawn(&[]);
    let urls: Vec<&str> = banner
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("http://"))
        .collect();
    assert!(urls.len() >= 4, "{banner:?}");
    for url in urls {
        let reply = common::fetch(http::Method::GET, url, &[("accept", "image/webp,*/*")]).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}: {}", reply.text());
    }
    let reply = common::fetch(
        http::Method::GET,
        &format!("{base}/resize?src=sample.jpg&w=300"),
        &[],
    )
    .await;
    assert_eq!(reply.image(), (image::ImageFormat::Jpeg, 300, 225));
    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(15)).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_millis(1500), common::photo_jpeg(320, 240)),
    );
    let root = fixtures.path().to_str().expect("utf-8 path").to_string();
    let allow = origin.allow();
    let (mut child, base, _) = spawn(&["--root", &root, "--allow-host", &allow]);

    let url = format!("{base}/resize?src={}&w=100", origin.url("/slow.jpg"));
    let in_flight = tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await });
    // Let the request reach the origin, then ask the server to stop.
    let deadline = Instant::now() + Duration::from_secs(10);
    while origin.hits("/slow.jpg") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    terminate(&child);

    let reply = in_flight.await.expect("join");
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the in-flight request completes"
    );
    assert_eq!(reply.image().1, 100);
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(15)))
            .await
            .expect("join");
    assert!(status.success(), "exit status {status:?}");
    // The listener is gone.
    assert!(std::net::TcpStream::connect(base.trim_start_matches("http://")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_have_one_line_per_request_with_cache_and_durations() {
    let fixtures = Fixtures::new();
    std::fs::write(fixtures.path().join("a.jpg"), common::photo_jpeg(300, 200)).expect("write");
    let root = fixtures.path().to_str().expect("utf-8 path").to_string();
    let (mut child, base, _) = spawn_logging(
        &["--root", &root, "--log-format", "json"],
        "info",
        Stdio::piped(),
    );
    let url = format!("{base}/resize?src=a.jpg&w=100");
    assert_eq!(
        common::fetch(http::Method::GET, &url, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        common::fetch(http::Method::GET, &url, &[]).await.status,
        StatusCode::OK
    );
    let missing = format!("{base}/resize?src=missing.jpg");
    assert_eq!(
        common::fetch(http::Method::GET, &missing, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(15)).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");

    let requests: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON"))
        .filter(|v| v["route"] == "resize")
        .collect();
    assert_eq!(requests.len(), 3, "{stderr}");
    assert_eq!(requests[0]["cache"], "miss");
    assert_eq!(requests[0]["status"], 200);
    assert!(
        requests[0]["fetch_ms"].as_f64().is_some(),
        "{}",
        requests[0]
    );
    assert!(
        requests[0]["transform_ms"].as_f64().is_some(),
        "{}",
        requests[0]
    );
    assert_eq!(requests[1]["cache"], "hit");
    assert_eq!(requests[2]["status"], 404);
    assert_eq!(requests[2]["code"], "source_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_trace_each_miss_through_its_spans() {
    let fixtures = Fixtures::new();
    std::fs::write(fixtures.path().join("a.jpg"), common::photo_jpeg(300, 200)).expect("write");
    let root = fixtures.path().to_str().expect("utf-8 path").to_string();
    let (mut child, base, _) = spawn_logging(
        &["--root", &root, "--log-format", "json"],
        "imgshield=debug",
        Stdio::piped(),
    );
    let url = format!("{base}/resize?src=a.jpg&w=100");
    assert_eq!(
        common::fetch(http::Method::GET, &url, &[]).await.status,
        StatusCode::OK
    );
    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(15)).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    // One close line per span, each with its busy and idle time.
    let closed: Vec<(String, serde_json::Value)> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["message"] == "close")
        .map(|v| (v["span"]["name"].as_str().unwrap_or("").to_string(), v))
        .collect();
    for name in ["request", "queue_wait", "fetch", "cpu_wait", "transform"] {
        let (_, line) = closed
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no '{name}' span closed in\n{stderr}"));
        assert!(line["time.busy"].is_string(), "{line}");
    }
    // Child spans run inside the request's span.
    let (_, fetch) = closed.iter().find(|(n, _)| n == "fetch").expect("fetch");
    assert_eq!(fetch["spans"][0]["name"], "request", "{fetch}");
    assert_eq!(fetch["span"]["origin"], "local");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_drain_delay_readiness_fails_while_requests_are_still_served() {
    let fixtures = Fixtures::new();
    std::fs::write(fixtures.path().join("a.jpg"), common::photo_jpeg(100, 80)).expect("write");
    let root = fixtures.path().to_str().expect("utf-8 path").to_string();
    let (mut child, base, _) = spawn(&["--root", &root, "--drain-delay", "3s"]);
    let ready = common::fetch(http::Method::GET, &format!("{base}/readyz"), &[]).await;
    assert_eq!(ready.status, StatusCode::OK);
    terminate(&child);
    // Poll (bounded) until readiness flips.
    let mut draining = None;
    for _ in 0..50 {
        let reply = common::fetch(http::Method::GET, &format!("{base}/readyz"), &[]).await;
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            draining = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        draining.is_some(),
        "/readyz never answered 503 during the drain"
    );
    let image = common::fetch(
        http::Method::GET,
        &format!("{base}/resize?src=a.jpg&w=50"),
        &[],
    )
    .await;
    assert_eq!(image.status, StatusCode::OK, "still serving while draining");
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(15)))
            .await
            .expect("join");
    assert!(status.success());
}
