//! Fallback images for failed image requests (`--fallback-image*`), against the real server and a
//! real failing origin.

mod common;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;
use image::ImageFormat;

fn write(fixtures: &Fixtures, name: &str, bytes: &[u8]) -> String {
    let path = fixtures.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_image_request_gets_the_fallback_with_its_status_and_a_short_lifetime() {
    let f = Fixtures::new();
    let fallback = write(&f, "placeholder.png", &common::rgba_png(20, 10));
    let s = Server::start(f.path(), &["--fallback-image", &fallback]).await;
    for (path, status, code) in [
        (
            "/resize?src=missing.jpg&w=50",
            StatusCode::NOT_FOUND,
            "source_not_found",
        ),
        (
            "/resize?src=garbage.jpg&w=50",
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_source",
        ),
        (
            "/resize?src=photo.jpg&w=abc",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "/text?txt=hi&txtsize=9999",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
    ] {
        let reply = s.get(path).await;
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.image(), (ImageFormat::Png, 20, 10), "{path}");
        assert_eq!(reply.header("fallback-image"), Some("1"), "{path}");
        assert_eq!(reply.header("x-error-code"), Some(code), "{path}");
        assert_eq!(
            reply.header("cache-control"),
            Some("public, max-age=60"),
            "{path}"
        );
    }
    // /info answers JSON, fallback or not; a good request is untouched.
    let info = s.get("/info?src=missing.jpg").await;
    assert_eq!(info.header("content-type"), Some("application/json"));
    let good = s.get("/resize?src=photo.jpg&w=50").await;
    assert_eq!(good.status, StatusCode::OK);
    assert_eq!(good.header("fallback-image"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_class_images_a_url_and_status_200() {
    let f = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/broken.jpg", Behaviour::Status(500));
    origin.route(
        "/fallback.jpg",
        Behaviour::Image(common::photo_jpeg(30, 20)),
    );
    let client = write(&f, "client.png", &common::rgba_png(12, 12));
    let server_side = origin.url("/fallback.jpg");
    let allow = origin.allow();
    let s = Server::start(
        f.path(),
        &[
            "--allow-host",
            &allow,
            "--fallback-image-4xx",
            &client,
            "--fallback-image-5xx",
            &server_side,
            "--fallback-status",
            "200",
            "--fallback-max-age",
            "5s",
        ],
    )
    .await;
    let bad_param = s.get("/resize?src=photo.jpg&fit=nope").await;
    assert_eq!(bad_param.status, StatusCode::OK);
    assert_eq!(bad_param.image(), (ImageFormat::Png, 12, 12));
    assert_eq!(bad_param.header("cache-control"), Some("public, max-age=5"));
    let broken = s
        .get(&format!("/resize?src={}&w=40", origin.url("/broken.jpg")))
        .await;
    assert_eq!(broken.status, StatusCode::OK);
    assert_eq!(broken.image(), (ImageFormat::Jpeg, 30, 20));
    assert_eq!(broken.header("x-error-code"), Some("origin_error_status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_that_is_not_an_image_stops_the_start() {
    let f = Fixtures::new();
    let garbage = f.path().join("garbage.jpg");
    let config = <imgshield::config::Config as clap::Parser>::try_parse_from([
        "imgshield",
        "--fallback-image",
        garbage.to_str().expect("utf-8"),
    ])
    .expect("flags parse");
    let started = imgshield::http::start(&config, f.path()).await;
    assert!(started.is_err_and(|e| e.contains("fallback image")));
}
