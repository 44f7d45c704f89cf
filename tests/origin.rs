//! Remote origins: allowlist, coalescing, and every way an origin can fail.

mod common;

use std::time::{Duration, Instant};

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;

async fn setup(extra: &[&str]) -> (Fixtures, Origin, Server) {
    let (fixtures, origin, server) = common::with_origin(extra).await;
    origin.route("/p/42.jpg", Behaviour::Image(common::photo_jpeg(800, 600)));
    (fixtures, origin, server)
}

fn resize(origin: &Origin, path: &str, rest: &str) -> String {
    common::resize_url(origin, path, rest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_origin_is_fetched_once_and_then_served_from_memory() {
    let (_f, origin, s) = setup(&[]).await;
    let url = resize(&origin, "/p/42.jpg", "&w=300");
    let first = s.get(&url).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.image(), (image::ImageFormat::Jpeg, 300, 225));
    assert_eq!(first.header("x-cache"), Some("MISS"));
    let second = s.get(&url).await;
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(origin.hits("/p/42.jpg"), 1);
    assert_eq!(
        s.metric("imgshield_origin_fetch_duration_seconds_count{origin=\"remote\"}")
            .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_identical_misses_cost_one_fetch_and_one_transform() {
    let (_f, origin, s) = setup(&[]).await;
    // Slow origin: all fifty requests arrive while the first fetch is still in flight.
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_millis(300), common::photo_jpeg(640, 480)),
    );
    let url = s.url(&resize(&origin, "/slow.jpg", "&w=100"));
    // Collected first: all fifty are in flight before the first answer is awaited.
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await })
        })
        .collect();
    let mut bodies = Vec::new();
    for request in requests {
        let reply = request.await.expect("join");
        assert_eq!(reply.status, StatusCode::OK);
        bodies.push(reply.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "everyone gets the same bytes"
    );
    // No stray work keeps running after the answers: give any stray fetch time to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.metric("imgshield_workers_busy").await, 0.0);
    assert_eq!(s.metric("imgshield_queue_depth").await, 0.0);
    assert_eq!(origin.hits("/slow.jpg"), 1, "one origin fetch");
    assert_eq!(
        s.metric("imgshield_transform_duration_seconds_count{engine=\"vips\",format=\"jpeg\"}")
            .await,
        1.0,
        "one transform"
    );
    let miss = s
        .metric("imgshield_cache_lookups_total{result=\"miss\"}")
        .await;
    let coalesced = s
        .metric("imgshield_cache_lookups_total{result=\"coalesced\"}")
        .await;
    let hit = s
        .metric("imgshield_cache_lookups_total{result=\"hit\"}")
        .await;
    assert_eq!(miss, 1.0);
    assert_eq!(miss + coalesced + hit, 50.0);
    assert!(
        coalesced >= 1.0,
        "concurrent misses waited for the first ({coalesced} coalesced, {hit} hits)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_not_on_the_allowlist_are_forbidden() {
    let (_f, origin, s) = setup(&[]).await;
    let other_port = format!(
        "http://127.0.0.1:{}/p/42.jpg",
        origin.addr.port().wrapping_add(1)
    );
    for src in [
        other_port.as_str(),
        "http://localhost:1/x.jpg",
        "https://example.com/x.jpg",
    ] {
        let reply = s.get(&format!("/resize?src={src}&w=10")).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{src}");
        assert_eq!(reply.code(), "host_not_allowed");
    }
    // Credentials are a classic allowlist bypass: refused outright.
    let trick = format!("/resize?src=http://{}@evil.example/x.jpg", origin.allow());
    assert_eq!(s.get(&trick).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(origin.hits("/p/42.jpg"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_fetches_are_refused_without_an_allowlist() {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/p/42.jpg", Behaviour::Image(common::photo_jpeg(64, 64)));
    let s = Server::start(fixtures.path(), &[]).await;
    let reply = s.get(&resize(&origin, "/p/42.jpg", "&w=10")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(origin.hits("/p/42.jpg"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_failures_map_to_their_statuses_and_are_not_cached() {
    let (_f, origin, s) = setup(&["--fetch-timeout", "1s", "--max-src-bytes", "2MiB"]).await;
    let jpeg = common::photo_jpeg(400, 300);
    origin.route("/404.jpg", Behaviour::Status(404));
    origin.route("/410.jpg", Behaviour::Status(410));
    origin.route("/500.jpg", Behaviour::Status(500));
    origin.route("/403.jpg", Behaviour::Status(403));
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_secs(5), jpeg.clone()),
    );
    origin.route("/truncated.jpg", Behaviour::Truncated(jpeg.clone()));
    origin.route("/endless.jpg", Behaviour::Endless);
    origin.route("/html.jpg", Behaviour::NotAnImage);
    origin.route("/loop.jpg", Behaviour::Redirect("/loop.jpg".into()));
    origin.route(
        "/away.jpg",
        Behaviour::Redirect("http://example.com/x.jpg".into()),
    );
    origin.route("/moved.jpg", Behaviour::Redirect("/p/42.jpg".into()));
    let cases = [
        ("/404.jpg", StatusCode::NOT_FOUND, "source_not_found"),
        ("/410.jpg", StatusCode::NOT_FOUND, "source_not_found"),
        ("/500.jpg", StatusCode::BAD_GATEWAY, "origin_error_status"),
        ("/403.jpg", StatusCode::BAD_GATEWAY, "origin_error_status"),
        ("/slow.jpg", StatusCode::GATEWAY_TIMEOUT, "origin_timeout"),
        (
            "/truncated.jpg",
            StatusCode::BAD_GATEWAY,
            "origin_body_failed",
        ),
        (
            "/endless.jpg",
            StatusCode::UNPROCESSABLE_ENTITY,
            "source_too_large",
        ),
        (
            "/html.jpg",
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_source",
        ),
        (
            "/loop.jpg",
            StatusCode::BAD_GATEWAY,
            "origin_redirect_refused",
        ),
        (
            "/away.jpg",
            StatusCode::BAD_GATEWAY,
            "origin_redirect_refused",
        ),
    ];
    for (path, status, code) in cases {
        let started = Instant::now();
        let reply = s.get(&resize(&origin, path, "&w=50")).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
        assert_eq!(reply.code(), code, "{path}");
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} took {:?}",
            started.elapsed()
        );
        s.assert_healthy(&resize(&origin, "/p/42.jpg", "&w=20"))
            .await;
    }
    let redirected = s.get(&resize(&origin, "/moved.jpg", "&w=30")).await;
    assert_eq!(
        redirected.status,
        StatusCode::OK,
        "a redirect within the allowlist is followed"
    );
    assert_eq!(
        s.metric("imgshield_origin_errors_total{kind=\"timeout\"}")
            .await,
        1.0
    );

    // Errors were not cached: once the origin recovers, the same URL succeeds.
    origin.route("/500.jpg", Behaviour::Image(jpeg));
    let recovered = s.get(&resize(&origin, "/500.jpg", "&w=50")).await;
    assert_eq!(recovered.status, StatusCode::OK);
    assert_eq!(recovered.header("x-cache"), Some("MISS"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_origin_is_a_bad_gateway() {
    // Bind and drop a listener to get a port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let fixtures = Fixtures::new();
    let allow = format!("127.0.0.1:{port}");
    let s = Server::start(fixtures.path(), &["--allow-host", &allow]).await;
    let reply = s
        .get(&format!("/resize?src=http://127.0.0.1:{port}/x.jpg&w=10"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(reply.code(), "origin_unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after_at_once() {
    let (_f, origin, s) = setup(&["--workers", "1", "--inflight", "1", "--queue", "0"]).await;
    origin.route("/big.jpg", Behaviour::Image(common::photo_jpeg(3000, 2000)));
    // Distinct widths: distinct cache keys, so nothing is coalesced and every request needs a worker.
    let requests: Vec<_> = (0..12)
        .map(|i| {
            let url = s.url(&resize(&origin, "/big.jpg", &format!("&w={}", 100 + i)));
            tokio::spawn(async move { common::fetch(http::Method::GET, &url, &[]).await })
        })
        .collect();
    let mut overloaded = 0;
    for request in requests {
        let reply = request.await.expect("join");
        match reply.status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                overloaded += 1;
                assert_eq!(reply.header("retry-after"), Some("1"));
                assert_eq!(reply.code(), "overloaded");
            }
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert!(
        overloaded > 0,
        "one worker and no queue cannot take twelve transforms at once"
    );
    s.assert_healthy(&resize(&origin, "/p/42.jpg", "&w=20"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_origin_trips_its_breaker_and_recovers_through_a_probe() {
    let (_f, origin, s) = setup(&["--breaker-failures", "2", "--breaker-cooldown", "500ms"]).await;
    origin.route("/flaky.jpg", Behaviour::Status(503));
    origin.route("/flaky2.jpg", Behaviour::Status(503));
    // Two distinct failing sources (one source failing again would count once).
    for path in ["/flaky.jpg", "/flaky2.jpg"] {
        assert_eq!(
            s.get(&resize(&origin, path, "&w=40")).await.status,
            StatusCode::BAD_GATEWAY
        );
    }
    // Open: refused at once, without asking the origin (any path on that host).
    let refused = s.get(&resize(&origin, "/p/42.jpg", "&w=40")).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(refused.code(), "origin_circuit_open");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(origin.hits("/flaky.jpg"), 1);
    assert_eq!(origin.hits("/p/42.jpg"), 0);
    assert_eq!(s.metric("imgshield_origin_circuits_open").await, 1.0);
    assert_eq!(s.metric("imgshield_origin_circuit_trips_total").await, 1.0);

    // After the cool-down one probe goes through; the origin has recovered, so the circuit closes.
    tokio::time::sleep(Duration::from_millis(600)).await;
    origin.route("/flaky.jpg", Behaviour::Image(common::photo_jpeg(200, 100)));
    assert_eq!(
        s.get(&resize(&origin, "/flaky.jpg", "&w=40")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        s.get(&resize(&origin, "/p/42.jpg", "&w=40")).await.status,
        StatusCode::OK
    );
    assert_eq!(s.metric("imgshield_origin_circuits_open").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_answers_do_not_trip_the_breaker() {
    let (_f, origin, s) = setup(&["--breaker-failures", "2"]).await;
    for _ in 0..4 {
        assert_eq!(
            s.get(&resize(&origin, "/nope.jpg", "&w=40")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        s.get(&resize(&origin, "/p/42.jpg", "&w=40")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_result_is_served_while_the_origin_fails_and_refreshed_when_it_recovers() {
    // Without stale-while-revalidate: the request past the TTL waits for the refresh.
    let (_f, origin, s) = setup(&[
        "--cache-ttl",
        "1s",
        "--stale-grace",
        "1h",
        "--max-age",
        "3600",
        "--stale-while-revalidate",
        "0s",
    ])
    .await;
    origin.route("/s.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    let url = resize(&origin, "/s.jpg", "&w=60");
    let fresh = s.get(&url).await;
    assert_eq!(fresh.header("x-cache"), Some("MISS"));
    assert_eq!(s.get(&url).await.header("x-cache"), Some("HIT"));

    tokio::time::sleep(Duration::from_millis(1200)).await;
    origin.route("/s.jpg", Behaviour::Status(500));
    let stale = s.get(&url).await;
    assert_eq!(stale.status, StatusCode::OK, "{}", stale.text());
    assert_eq!(stale.header("x-cache"), Some("STALE"));
    assert_eq!(stale.header("cache-control"), Some("public, max-age=60"));
    assert!(stale
        .header("warning")
        .is_some_and(|w| w.starts_with("110")));
    assert_eq!(stale.body, fresh.body);
    assert_eq!(origin.hits("/s.jpg"), 2, "the refresh was attempted");
    assert_eq!(
        s.metric("imgshield_cache_lookups_total{result=\"stale\"}")
            .await,
        1.0
    );

    origin.route("/s.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    let refreshed = s.get(&url).await;
    assert_eq!(refreshed.header("x-cache"), Some("MISS"));
    assert_eq!(
        refreshed.header("cache-control"),
        Some("public, max-age=3600, stale-if-error=86400")
    );
    assert_eq!(s.get(&url).await.header("x-cache"), Some("HIT"));
    assert_eq!(origin.hits("/s.jpg"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_gone_from_the_origin_is_not_served_stale() {
    let (_f, origin, s) = setup(&[
        "--cache-ttl",
        "1s",
        "--stale-grace",
        "1h",
        "--stale-while-revalidate",
        "0s",
    ])
    .await;
    origin.route("/gone.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    let url = resize(&origin, "/gone.jpg", "&w=60");
    assert_eq!(s.get(&url).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    origin.route("/gone.jpg", Behaviour::Status(404));
    assert_eq!(s.get(&url).await.status, StatusCode::NOT_FOUND);
    // The old result was dropped, not kept for later.
    origin.route("/gone.jpg", Behaviour::Status(500));
    assert_eq!(s.get(&url).await.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_stale_grace_an_expired_result_is_not_served() {
    let (_f, origin, s) = setup(&[
        "--cache-ttl",
        "1s",
        "--stale-grace",
        "0s",
        "--stale-while-revalidate",
        "0s",
    ])
    .await;
    origin.route("/e.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    let url = resize(&origin, "/e.jpg", "&w=60");
    assert_eq!(s.get(&url).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    origin.route("/e.jpg", Behaviour::Status(500));
    assert_eq!(s.get(&url).await.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_started_for_a_client_that_hung_up_still_fills_the_cache() {
    let (_f, origin, s) = setup(&[]).await;
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_millis(400), common::photo_jpeg(320, 240)),
    );
    let url = resize(&origin, "/slow.jpg", "&w=50");
    let abandoned = tokio::time::timeout(Duration::from_millis(100), s.get(&url)).await;
    assert!(
        abandoned.is_err(),
        "the client gave up before the origin answered"
    );
    // Wait for the abandoned work to finish (polling the metric, bounded).
    for _ in 0..100 {
        if s.metric("imgshield_transform_duration_seconds_count{engine=\"vips\",format=\"jpeg\"}")
            .await
            >= 1.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = s.get(&url).await;
    assert_eq!(reply.header("x-cache"), Some("HIT"));
    assert_eq!(origin.hits("/slow.jpg"), 1);
}
