//! Two engines behind one server: `engine=` (when allowed), the `--rust-percent` sample, the
//! fallback of sampled requests, `X-Engine`, separate cache entries and per-engine metrics.

mod common;

use common::{Fixtures, Server};
use http::StatusCode;
use image::ImageFormat;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_engine_makes_the_image_and_caches_apart() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--allow-engine-param"]).await;
    for engine in ["rust", "vips"] {
        let url = format!("/resize?src=photo.jpg&w=300&engine={engine}");
        let first = s.get(&url).await;
        assert_eq!(first.status, StatusCode::OK, "{engine}: {}", first.text());
        assert_eq!(first.header("x-engine"), Some(engine));
        assert_eq!(first.header("x-cache"), Some("MISS"), "{engine}");
        assert_eq!(first.image(), (ImageFormat::Jpeg, 300, 200), "{engine}");
        let again = s.get(&url).await;
        assert_eq!(
            (again.header("x-cache"), again.header("x-engine")),
            (Some("HIT"), Some(engine))
        );
    }
    // Transforms are labelled by the engine that made them.
    for engine in ["rust", "vips"] {
        let series = format!(
            "imgshield_transform_duration_seconds_count{{engine=\"{engine}\",format=\"jpeg\"}}"
        );
        assert_eq!(s.metric(&series).await, 1.0, "{series}");
    }
    // Orientation and alpha go through the Rust engine too.
    let rotated = s.get("/resize?src=rotated.jpg&w=100&engine=rust").await;
    assert_eq!(rotated.image(), (ImageFormat::Jpeg, 100, 200));
    let alpha = s.get("/resize?src=alpha.png&w=150&engine=rust").await;
    assert_eq!(alpha.image(), (ImageFormat::Png, 150, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_parameter_needs_permission() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let reply = s.get("/resize?src=photo.jpg&w=300&engine=rust").await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::FORBIDDEN, "engine_param_not_allowed")
    );
    let reply = s.get("/resize?src=photo.jpg&w=300").await;
    assert_eq!(reply.header("x-engine"), Some("vips"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_engine_says_what_it_cannot_do() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--allow-engine-param"]).await;
    // Its WebP encoder is lossless-only: a lossy WebP is refused by name, a lossless one made.
    let reply = s
        .get("/resize?src=photo.jpg&w=300&engine=rust&fm=webp")
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::NOT_IMPLEMENTED, "not_implemented"),
        "{}",
        reply.text()
    );
    assert!(reply.text().contains("lossy WebP"), "{}", reply.text());
    let lossless = s
        .get("/resize?src=photo.jpg&w=300&engine=rust&fm=webp&lossless=1")
        .await;
    assert_eq!(lossless.header("x-engine"), Some("rust"));
    assert_eq!(lossless.image(), (ImageFormat::WebP, 300, 200));
    s.assert_healthy("/resize?src=photo.jpg&w=64").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_requests_fall_back_to_libvips_for_what_rust_cannot_do() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--rust-percent", "100"]).await;
    let jpeg = s.get("/resize?src=photo.jpg&w=300").await;
    assert_eq!(jpeg.header("x-engine"), Some("rust"));
    assert_eq!(jpeg.image(), (ImageFormat::Jpeg, 300, 200));
    let webp = s.get("/resize?src=photo.jpg&w=300&fm=webp").await;
    assert_eq!(webp.status, StatusCode::OK, "{}", webp.text());
    assert_eq!(webp.header("x-engine"), Some("vips"));
    assert_eq!(webp.image(), (ImageFormat::WebP, 300, 200));
    assert_eq!(s.metric("imgshield_engine_fallbacks_total").await, 1.0);
    // fm=auto negotiates with libvips' formats, so a sampled request still gets WebP.
    let auto = s
        .get_with(
            "/resize?src=photo.jpg&w=200&fm=auto",
            &[("accept", "image/webp,*/*")],
        )
        .await;
    assert_eq!(
        (auto.image().0, auto.header("x-engine")),
        (ImageFormat::WebP, Some("vips"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_is_stable_per_url_and_mixes_across_urls() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--rust-percent", "50"]).await;
    let mut seen = Vec::new();
    for width in 100..140 {
        let url = format!("/resize?src=photo.jpg&w={width}");
        let first = s.get(&url).await;
        let again = s.get(&url).await;
        let engine = first.header("x-engine").map(str::to_owned);
        assert_eq!(engine.as_deref(), again.header("x-engine"), "{url}");
        seen.push(engine);
    }
    let rust = seen.iter().filter(|e| e.as_deref() == Some("rust")).count();
    // 40 URLs at 50%: both engines appear (all 40 on one side has odds of 2^-39).
    assert!((1..40).contains(&rust), "{rust} of 40 went to rust");
}
