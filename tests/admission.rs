//! Admission of misses (issue #14): the queue-wait bound, dropping work nobody waits for, and the
//! memory budget. Real server, real origin, real libvips.

mod common;

use std::time::{Duration, Instant};

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;
use tokio::io::AsyncWriteExt;

async fn setup(extra: &[&str]) -> (Fixtures, Origin, Server) {
    let (fixtures, origin, server) = common::with_origin(extra).await;
    origin.route("/p/42.jpg", Behaviour::Image(common::photo_jpeg(800, 600)));
    (fixtures, origin, server)
}

fn resize(origin: &Origin, path: &str, rest: &str) -> String {
    common::resize_url(origin, path, rest)
}

/// Sends a request on a raw connection and hangs up without reading the answer.
async fn send_and_hang_up(server: &Server, path_and_query: &str) {
    drop(send(server, path_and_query).await);
}

/// Sends a request on a raw connection; dropping the connection hangs up.
async fn send(server: &Server, path_and_query: &str) -> tokio::net::TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!("GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    // Let the server read the request before the connection may go.
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_waiting_past_the_queue_wait_bound_gets_503_with_retry_after() {
    let (_f, origin, s) = setup(&[
        "--workers",
        "1",
        "--inflight",
        "1",
        "--queue",
        "8",
        "--max-queue-wait",
        "300ms",
    ])
    .await;
    let jpeg = common::photo_jpeg(320, 240);
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_secs(3), jpeg.clone()),
    );
    origin.route("/other.jpg", Behaviour::Image(jpeg));
    // The slow fetch holds the only slot for 3 s.
    let holder = {
        let url = s.url(&resize(&origin, "/slow.jpg", "&w=40"));
        tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let waited = s.get(&resize(&origin, "/other.jpg", "&w=40")).await;
    let elapsed = started.elapsed();
    assert_eq!(
        waited.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        waited.text()
    );
    assert_eq!(waited.code(), "overloaded");
    assert_eq!(waited.header("retry-after"), Some("1"));
    assert!(
        elapsed < Duration::from_millis(900),
        "answered within 3x the bound, not after the slow fetch ({elapsed:?})"
    );
    assert_eq!(origin.hits("/other.jpg"), 0, "refused before its fetch");
    assert_eq!(
        s.metric("imgshield_admission_refusals_total{reason=\"queue_wait\"}")
            .await,
        1.0
    );
    assert_eq!(holder.await.expect("join").status, StatusCode::OK);
    // Once the slot is free, the same request succeeds.
    let again = s.get(&resize(&origin, "/other.jpg", "&w=40")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misses_whose_clients_hung_up_in_the_queue_are_never_fetched() {
    let (_f, origin, s) = setup(&["--workers", "1", "--inflight", "1", "--queue", "64"]).await;
    let jpeg = common::photo_jpeg(320, 240);
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_millis(1500), jpeg.clone()),
    );
    for i in 0..10 {
        origin.route(&format!("/gone-{i}.jpg"), Behaviour::Image(jpeg.clone()));
    }
    origin.route("/shared.jpg", Behaviour::Image(jpeg.clone()));
    let holder = {
        let url = s.url(&resize(&origin, "/slow.jpg", "&w=40"));
        tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..10 {
        send_and_hang_up(&s, &resize(&origin, &format!("/gone-{i}.jpg"), "&w=40")).await;
    }
    // Coalescing still holds: of two requests for one key, the one that stays gets the result
    // after the one that started the miss hung up, and the origin is asked once.
    let shared = resize(&origin, "/shared.jpg", "&w=40");
    let starter = send(&s, &shared).await;
    let stays = {
        let url = s.url(&shared);
        tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(starter);
    assert_eq!(holder.await.expect("join").status, StatusCode::OK);
    let stays = stays.await.expect("join");
    assert_eq!(stays.status, StatusCode::OK, "{}", stays.text());
    assert_eq!(origin.hits("/shared.jpg"), 1);
    // Give anything still queued time to run, then check that none of it reached the origin.
    s.assert_healthy(&resize(&origin, "/p/42.jpg", "&w=20"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..10 {
        assert_eq!(
            origin.hits(&format!("/gone-{i}.jpg")),
            0,
            "gone-{i} fetched"
        );
    }
    assert_eq!(
        s.metric("imgshield_admission_refusals_total{reason=\"abandoned\"}")
            .await,
        10.0
    );
}

/// Flags for a server with `--max-memory max_memory` and tiny caches.
fn budget_flags(max_memory: &str) -> Vec<&str> {
    vec![
        "--workers",
        "4",
        "--max-src-bytes",
        "4MiB",
        "--cache-bytes",
        "1MiB",
        "--source-cache-bytes",
        "0",
        "--derivative-cache-bytes",
        "0",
        "--max-memory",
        max_memory,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_beyond_the_memory_budget_wait_and_one_larger_than_it_is_refused() {
    // 64 MiB base + 1 MiB cache + 135 MiB for work: 32 for sources (8 in flight x 4 MiB), 103 for
    // jobs.
    let mut flags = budget_flags("200MiB");
    flags.extend(["--max-queue-wait", "20s"]);
    let (_f, origin, s) = setup(&flags).await;
    assert_eq!(
        s.metric("imgshield_memory_budget_bytes").await,
        135.0 * 1024.0 * 1024.0
    );
    // A 3000x2000 source to a 6 MP WebP: about 70 MiB expected, so one at a time.
    origin.route("/big.jpg", Behaviour::Image(common::photo_jpeg(3000, 2000)));
    let requests: Vec<_> = (0..3)
        .map(|i| {
            let url = s.url(&resize(
                &origin,
                "/big.jpg",
                &format!("&w={}&fm=webp", 3000 - i),
            ));
            tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await })
        })
        .collect();
    for request in requests {
        let reply = request.await.expect("join");
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // The second and third waited for memory while the first (then the second) ran.
    let waited = s.metric("imgshield_queue_wait_seconds_sum").await;
    assert!(waited > 0.05, "jobs waited for memory {waited} s in all");
    assert_eq!(s.metric("imgshield_memory_budget_in_use_bytes").await, 0.0);

    // A 23.5 MP PNG output (about 200 MiB expected) can never fit 103 MiB: refused at once.
    origin.route(
        "/huge.jpg",
        Behaviour::Image(common::photo_jpeg(4000, 3000)),
    );
    let started = Instant::now();
    let refused = s.get(&resize(&origin, "/huge.jpg", "&w=5600&fm=png")).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(refused.code(), "over_memory_budget");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    assert_eq!(
        s.metric("imgshield_admission_refusals_total{reason=\"over_memory_budget\"}")
            .await,
        1.0
    );
    s.assert_healthy(&resize(&origin, "/p/42.jpg", "&w=20"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_max_memory_the_caches_leave_nothing_of_is_refused_at_start() {
    let fixtures = Fixtures::new();
    let config = {
        use clap::Parser;
        imgshield::config::Config::try_parse_from([
            "imgshield",
            "--listen",
            "127.0.0.1:0",
            "--max-memory",
            "256MiB",
        ])
        .expect("valid flags")
    };
    let error = imgshield::http::start(&config, fixtures.path())
        .await
        .err()
        .expect("256 MiB cannot hold the default caches");
    assert!(error.to_string().contains("--max-memory"), "{error}");
}
