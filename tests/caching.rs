//! The origin's caching rules, honoured with a real origin: `no-store` and `private` sources are
//! never kept or answered `public`, the origin's lifetime caps ours, `--cache-control-passthrough`
//! answers with the origin's header, and `Last-Modified` / `If-Modified-Since` round-trip.

mod common;

use std::time::{Duration, SystemTime};

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;

async fn setup(extra: &[&str]) -> (Fixtures, Origin, Server) {
    let (fixtures, origin, server) = common::with_origin(extra).await;
    (fixtures, origin, server)
}

fn with(cache_control: &str) -> Behaviour {
    Behaviour::WithHeaders(
        common::photo_jpeg(300, 200),
        vec![("Cache-Control", cache_control.to_owned())],
    )
}

fn max_age(reply: &common::Reply) -> u64 {
    let value = reply.header("cache-control").expect("cache-control");
    value
        .split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no max-age in {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_store_source_is_never_a_hit_and_never_public() {
    let (_f, origin, s) = setup(&[]).await;
    origin.route("/ns.jpg", with("no-store"));
    let url = format!("/resize?src={}&w=60", origin.url("/ns.jpg"));
    for _ in 0..3 {
        let reply = s.get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.header("x-cache"), Some("MISS"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        origin.hits("/ns.jpg"),
        3,
        "every request went to the origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_source_is_answered_private_and_not_kept() {
    let (_f, origin, s) = setup(&[]).await;
    origin.route("/p.jpg", with("private, max-age=60"));
    let url = format!("/resize?src={}&w=60", origin.url("/p.jpg"));
    for _ in 0..2 {
        let reply = s.get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.header("x-cache"), Some("MISS"));
        let cc = reply.header("cache-control").expect("cache-control");
        assert!(cc.starts_with("private, max-age="), "{cc}");
        assert!(max_age(&reply) <= 60);
    }
    // /info of it is not kept either.
    let info = s.get(&format!("/info?src={}", origin.url("/p.jpg"))).await;
    assert!(info
        .header("cache-control")
        .is_some_and(|cc| cc.starts_with("private")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_lifetime_caps_ours_and_its_expiry_refreshes_the_result() {
    let (_f, origin, s) = setup(&["--max-age", "3600"]).await;
    origin.route("/short.jpg", with("public, max-age=60"));
    origin.route("/brief.jpg", with("max-age=1"));
    let date = SystemTime::now();
    origin.route(
        "/expires.jpg",
        Behaviour::WithHeaders(
            common::photo_jpeg(300, 200),
            vec![
                ("Date", httpdate::fmt_http_date(date)),
                (
                    "Expires",
                    httpdate::fmt_http_date(date + Duration::from_secs(120)),
                ),
            ],
        ),
    );
    let short = format!("/resize?src={}&w=60", origin.url("/short.jpg"));
    let first = s.get(&short).await;
    assert!(first
        .header("cache-control")
        .is_some_and(|cc| cc.starts_with("public")));
    assert!(
        (55..=60).contains(&max_age(&first)),
        "{:?}",
        first.header("cache-control")
    );
    let again = s.get(&short).await;
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert!(max_age(&again) <= 60);

    let expires = s
        .get(&format!("/resize?src={}&w=60", origin.url("/expires.jpg")))
        .await;
    assert!((115..=120).contains(&max_age(&expires)));

    // Without an origin lifetime, --max-age stands.
    let local = s.get("/resize?src=photo.jpg&w=60").await;
    assert_eq!(
        local.header("cache-control"),
        Some("public, max-age=3600, stale-while-revalidate=60, stale-if-error=86400")
    );

    // A result outlives neither the origin's lifetime: after it, the origin is asked again.
    let brief = format!("/resize?src={}&w=60", origin.url("/brief.jpg"));
    s.get(&brief).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let later = s.get(&brief).await;
    assert_eq!(later.status, StatusCode::OK);
    assert_ne!(later.header("x-cache"), Some("HIT"));
    assert_eq!(origin.hits("/brief.jpg"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passthrough_answers_with_the_origin_header() {
    let (_f, origin, s) = setup(&["--cache-control-passthrough"]).await;
    origin.route("/pt.jpg", with("public, max-age=90, must-revalidate"));
    let reply = s
        .get(&format!("/resize?src={}&w=60", origin.url("/pt.jpg")))
        .await;
    assert_eq!(
        reply.header("cache-control"),
        Some("public, max-age=90, must-revalidate")
    );
    let local = s.get("/resize?src=photo.jpg&w=60").await;
    assert!(local
        .header("cache-control")
        .is_some_and(|cc| cc.starts_with("public, max-age=")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_modified_is_forwarded_and_if_modified_since_answered() {
    let (f, origin, s) = setup(&[]).await;
    let modified = "Tue, 01 Dec 2026 10:00:00 GMT";
    origin.route(
        "/lm.jpg",
        Behaviour::WithHeaders(
            common::photo_jpeg(300, 200),
            vec![("Last-Modified", modified.to_owned())],
        ),
    );
    let url = format!("/resize?src={}&w=60", origin.url("/lm.jpg"));
    let first = s.get(&url).await;
    assert_eq!(first.header("last-modified"), Some(modified));
    for (since, status) in [
        (modified, StatusCode::NOT_MODIFIED),
        ("Wed, 02 Dec 2026 10:00:00 GMT", StatusCode::NOT_MODIFIED),
        ("Mon, 30 Nov 2026 10:00:00 GMT", StatusCode::OK),
        ("not a date", StatusCode::OK),
    ] {
        let reply = s.get_with(&url, &[("if-modified-since", since)]).await;
        assert_eq!(reply.status, status, "{since}");
    }
    // If-None-Match wins over If-Modified-Since.
    let both = s
        .get_with(
            &url,
            &[
                ("if-modified-since", modified),
                ("if-none-match", "\"other\""),
            ],
        )
        .await;
    assert_eq!(both.status, StatusCode::OK);

    // A local file's modification time is its Last-Modified.
    let local = s.get("/resize?src=photo.jpg&w=60").await;
    let mtime = std::fs::metadata(f.path().join("photo.jpg"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(
        local.header("last-modified"),
        Some(httpdate::fmt_http_date(mtime).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_ttl_the_stale_copy_answers_at_once_while_one_refresh_runs() {
    let (_f, origin, s) = setup(&["--cache-ttl", "1s", "--stale-while-revalidate", "30s"]).await;
    let photo = common::photo_jpeg(300, 200);
    origin.route("/swr.jpg", Behaviour::Image(photo.clone()));
    let url = format!("/resize?src={}&w=60", origin.url("/swr.jpg"));
    let fresh = s.get(&url).await;
    assert_eq!(fresh.header("x-cache"), Some("MISS"));
    assert!(fresh
        .header("cache-control")
        .is_some_and(|cc| cc.contains("stale-while-revalidate=30")));

    // The origin now hangs far longer than any answer may take.
    origin.route("/swr.jpg", Behaviour::Slow(Duration::from_secs(8), photo));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let stale = s.get(&url).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(stale.status, StatusCode::OK);
        assert_eq!(stale.header("x-cache"), Some("STALE"));
        assert_eq!(stale.body, fresh.body);
        assert_eq!(stale.header("cache-control"), Some("public, max-age=60"));
    }
    // A hang detector, not a benchmark: the refresh waits 8 s, the stale answers did not.
    assert!(
        slowest < Duration::from_secs(2),
        "stale answers took {slowest:?}"
    );
    eprintln!("slowest stale answer while the origin hangs: {slowest:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        origin.hits("/swr.jpg"),
        2,
        "one refresh for five stale answers"
    );
    assert_eq!(
        s.metric("imgshield_cache_lookups_total{result=\"revalidating\"}")
            .await,
        5.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_refresh_that_finds_the_source_gone_drops_the_result() {
    let (_f, origin, s) = setup(&["--cache-ttl", "1s", "--stale-while-revalidate", "30s"]).await;
    origin.route("/gone.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    let url = format!("/resize?src={}&w=60", origin.url("/gone.jpg"));
    assert_eq!(s.get(&url).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    origin.route("/gone.jpg", Behaviour::Status(404));
    assert_eq!(s.get(&url).await.header("x-cache"), Some("STALE"));
    // Once the refresh has met the 404, the result is gone.
    let mut status = StatusCode::OK;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = s.get(&url).await.status;
        if status != StatusCode::OK {
            break;
        }
    }
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_source_leaves_no_decode_behind() {
    let (_f, origin, s) = setup(&[]).await;
    origin.route(
        "/big.jpg",
        Behaviour::WithHeaders(
            common::photo_jpeg(1200, 800),
            vec![("Cache-Control", "private".to_owned())],
        ),
    );
    for w in [100, 150, 100] {
        let reply = s
            .get(&format!("/resize?src={}&w={w}", origin.url("/big.jpg")))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let kept =
        |result: &str| format!("imgshield_derivative_cache_lookups_total{{result=\"{result}\"}}");
    assert_eq!(s.metric(&kept("bypass")).await, 3.0);
    for result in ["hit", "miss", "derived", "first"] {
        assert_eq!(s.metric(&kept(result)).await, 0.0, "{result}");
    }
}
