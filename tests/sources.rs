//! The source and derivative caches against a real server and origin: the widths of a `srcset`
//! cost the origin one fetch and fewer decodes, stale sources are revalidated with their ETag (a
//! 304, no body), `no-store` is honoured, and both caches can be turned off.

mod common;

use std::time::Duration;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;
use image::ImageFormat;

const WIDTHS: [u32; 5] = [320, 640, 960, 1280, 1600];

async fn setup(behaviour: Behaviour, flags: &[&str]) -> (Fixtures, Origin, Server) {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/p/photo.jpg", behaviour);
    let allow = origin.allow();
    let mut args = vec!["--allow-host", allow.as_str()];
    args.extend_from_slice(flags);
    let server = Server::start(fixtures.path(), &args).await;
    (fixtures, origin, server)
}

fn photo() -> Vec<u8> {
    common::photo_jpeg(2000, 1000)
}

fn validated(cache_control: &str) -> Behaviour {
    Behaviour::Validated {
        bytes: photo(),
        etag: "\"v1\"".into(),
        cache_control: cache_control.into(),
    }
}

/// Requests every width at once, as a browser does for a `srcset` after a purge, and checks each.
async fn srcset(server: &Server, origin: &Origin) {
    let src = origin.url("/p/photo.jpg");
    let requests = WIDTHS.map(|w| {
        let url = format!("/resize?src={src}&w={w}");
        async move { (w, server.get(&url).await) }
    });
    for (w, reply) in futures_join(requests).await {
        assert_eq!(reply.status, StatusCode::OK, "w={w}: {}", reply.text());
        assert_eq!(reply.image(), (ImageFormat::Jpeg, w, w / 2), "w={w}");
    }
}

async fn futures_join<F: std::future::Future>(futures: [F; 5]) -> Vec<F::Output> {
    let [a, b, c, d, e] = futures;
    let (a, b, c, d, e) = tokio::join!(a, b, c, d, e);
    vec![a, b, c, d, e]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widths_of_a_srcset_cost_the_origin_one_fetch() {
    let (_f, origin, s) = setup(Behaviour::Image(photo()), &[]).await;
    srcset(&s, &origin).await;
    assert_eq!(origin.hits("/p/photo.jpg"), 1);
    assert_eq!(
        s.metric("imgshield_source_cache_lookups_total{result=\"miss\"}")
            .await,
        1.0
    );
    let reused = s
        .metric("imgshield_source_cache_lookups_total{result=\"hit\"}")
        .await
        + s.metric("imgshield_source_cache_lookups_total{result=\"coalesced\"}")
            .await;
    assert_eq!(reused, 4.0);
    assert!(s.metric("imgshield_source_cache_weighted_bytes").await > photo().len() as f64);
    // Another width later: still no new fetch.
    let later = s
        .get(&format!("/resize?src={}&w=100", origin.url("/p/photo.jpg")))
        .await;
    assert_eq!(later.image(), (ImageFormat::Jpeg, 100, 50));
    assert_eq!(origin.hits("/p/photo.jpg"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_source_is_revalidated_and_not_downloaded_again() {
    let (_f, origin, s) = setup(validated("public, max-age=1"), &[]).await;
    let src = origin.url("/p/photo.jpg");
    let first = s.get(&format!("/resize?src={src}&w=300")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // A new width after the origin's max-age: a conditional request, answered 304.
    let second = s.get(&format!("/resize?src={src}&w=200")).await;
    assert_eq!(second.image(), (ImageFormat::Jpeg, 200, 100));
    assert_eq!(origin.hits("/p/photo.jpg"), 2);
    assert_eq!(origin.hits("/p/photo.jpg 304"), 1, "revalidated, no body");
    assert_eq!(
        s.metric("imgshield_source_cache_lookups_total{result=\"revalidated\"}")
            .await,
        1.0
    );
    // Within the renewed lifetime, a third width asks nobody.
    let third = s.get(&format!("/resize?src={src}&w=100")).await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(origin.hits("/p/photo.jpg"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_store_sources_are_fetched_for_every_variant() {
    let (_f, origin, s) = setup(validated("no-store"), &[]).await;
    let src = origin.url("/p/photo.jpg");
    for w in [300, 200] {
        let reply = s.get(&format!("/resize?src={src}&w={w}")).await;
        assert_eq!(reply.image(), (ImageFormat::Jpeg, w, w / 2));
    }
    assert_eq!(origin.hits("/p/photo.jpg"), 2);
    assert_eq!(origin.hits("/p/photo.jpg 304"), 0);
    assert_eq!(
        s.metric("imgshield_source_cache_lookups_total{result=\"uncacheable\"}")
            .await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_source_cache_every_variant_fetches() {
    let (_f, origin, s) = setup(Behaviour::Image(photo()), &["--source-cache-bytes", "0"]).await;
    let src = origin.url("/p/photo.jpg");
    for w in [300, 200] {
        let reply = s.get(&format!("/resize?src={src}&w={w}")).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(origin.hits("/p/photo.jpg"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_failure_is_not_cached_as_a_source() {
    let (_f, origin, s) = setup(Behaviour::Status(503), &["--breaker-failures", "0"]).await;
    let src = origin.url("/p/photo.jpg");
    let failed = s.get(&format!("/resize?src={src}&w=300")).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
    origin.route("/p/photo.jpg", Behaviour::Image(photo()));
    let recovered = s.get(&format!("/resize?src={src}&w=300")).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.text());
    assert_eq!(origin.hits("/p/photo.jpg"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_widths_of_a_jpeg_resize_from_a_kept_decode() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    // photo.jpg is 1200x800; by the draft rule (the default) w=1200 needs a full decode (not
    // kept); w=600 decodes at 1/2 and keeps it, from the first request; w=300 (shrink 4) gets its
    // level derived from that by a box shrink and kept; w=200 (shrink 4) resizes from it; w=100
    // (shrink 8) is derived from 1/4 and w=50 resizes from that.
    for w in [1200, 600, 300, 200, 100, 50] {
        let reply = s.get(&format!("/resize?src=photo.jpg&w={w}")).await;
        let height = (f64::from(w) * 2.0 / 3.0).round() as u32;
        assert_eq!(reply.image(), (ImageFormat::Jpeg, w, height), "w={w}");
    }
    let lookups = |result: &'static str| {
        let s = &s;
        async move {
            s.metric(&format!(
                "imgshield_derivative_cache_lookups_total{{result=\"{result}\"}}"
            ))
            .await
        }
    };
    assert_eq!((lookups("miss").await, lookups("hit").await), (1.0, 2.0));
    assert_eq!(
        (lookups("first").await, lookups("derived").await),
        (0.0, 2.0)
    );
    assert_eq!(lookups("bypass").await, 1.0);
    assert!(s.metric("imgshield_derivative_cache_weighted_bytes").await >= 600.0 * 400.0 * 3.0);
    // A PNG is not a JPEG decode to keep.
    let png = s.get("/resize?src=alpha.png&w=100").await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(lookups("bypass").await, 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_derivative_cache_can_be_turned_off() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--derivative-cache-bytes", "0"]).await;
    for w in [600, 300] {
        let reply = s.get(&format!("/resize?src=photo.jpg&w={w}")).await;
        assert_eq!(reply.image(), (ImageFormat::Jpeg, w, w * 2 / 3));
    }
    assert_eq!(
        s.metric("imgshield_derivative_cache_lookups_total{result=\"miss\"}")
            .await,
        0.0
    );
}
