//! How a result is handed to browsers and pages: `Content-Disposition` (`filename=`, `dl=1`) and
//! CORS (`--cors-origin`), against the real server.

mod common;

use common::{fetch, Fixtures, Server};
use http::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saved_name_follows_the_source_and_the_format_sent() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let reply = s.get("/resize?src=photo.jpg&w=50&fm=webp").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.header("content-disposition"),
        Some("inline; filename=\"photo.webp\"; filename*=UTF-8''photo.webp")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_name_and_a_download_share_the_cache_entry() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let first = s.get("/resize?src=photo.jpg&w=60&filename=summer").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(
        first.header("content-disposition"),
        Some("inline; filename=\"summer.jpg\"; filename*=UTF-8''summer.jpg")
    );
    let second = s
        .get("/resize?src=photo.jpg&w=60&filename=%E5%A4%8F.png&dl=1")
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(
        second.header("content-disposition"),
        Some("attachment; filename=\"_.jpg\"; filename*=UTF-8''%E5%A4%8F.jpg")
    );
    // The name is not part of the image: one render, one cache entry, one ETag.
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(first.header("etag"), second.header("etag"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_could_break_the_header_or_a_path_is_refused() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    for bad in ["a%2Fb", "x%0D%0ASet-Cookie:%20a=1", "a%22b", "..", ""] {
        let reply = s
            .get(&format!("/resize?src=photo.jpg&w=40&filename={bad}"))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text()
        );
        assert!(reply.text().contains("filename"), "{bad}: {}", reply.text());
    }
    let reply = s.get("/resize?src=photo.jpg&w=40&dl=yes").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cors_flags_no_cors_headers_and_no_preflight() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let reply = s
        .get_with(
            "/resize?src=photo.jpg&w=40",
            &[("origin", "https://shop.test")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let preflight = fetch(
        Method::OPTIONS,
        &s.url("/resize?src=photo.jpg&w=40"),
        &[
            ("origin", "https://shop.test"),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    assert_eq!(preflight.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_origins_may_read_images_info_and_errors() {
    let f = Fixtures::new();
    let s = Server::start(
        f.path(),
        &["--cors-origin", "https://shop.test,https://blog.test:8443"],
    )
    .await;
    let origin = [("origin", "https://shop.test")];
    for path in [
        "/resize?src=photo.jpg&w=40&fm=auto",
        "/info?src=photo.jpg",
        "/text?txt=hi",
        "/resize?src=missing.jpg&w=40",
    ] {
        let reply = s.get_with(path, &origin).await;
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some("https://shop.test"),
            "{path}: {}",
            reply.status
        );
        let vary: Vec<&str> = reply
            .headers
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(vary.contains(&"Origin"), "{path}: {vary:?}");
    }
    let negotiated = s
        .get_with("/resize?src=photo.jpg&w=40&fm=auto", &origin)
        .await;
    let vary: Vec<&str> = negotiated
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(vary, ["Accept", "Origin"]);
    assert!(negotiated
        .header("access-control-expose-headers")
        .is_some_and(|v| v.contains("X-Cache")));

    let stranger = s
        .get_with(
            "/resize?src=photo.jpg&w=40",
            &[("origin", "https://evil.test")],
        )
        .await;
    assert_eq!(stranger.status, StatusCode::OK);
    assert_eq!(stranger.header("access-control-allow-origin"), None);
    // Operator pages are not opened to other sites.
    let metrics = s.get_with("/metrics", &origin).await;
    assert_eq!(metrics.header("access-control-allow-origin"), None);

    let preflight = fetch(
        Method::OPTIONS,
        &s.url("/resize?src=photo.jpg&w=40"),
        &[
            ("origin", "https://blog.test:8443"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "if-none-match"),
        ],
    )
    .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://blog.test:8443")
    );
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, HEAD")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("if-none-match")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_origin_gets_a_star_and_a_bad_origin_stops_the_start() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--cors-origin", "*"]).await;
    let reply = s
        .get_with(
            "/resize?src=photo.jpg&w=40",
            &[("origin", "https://any.test")],
        )
        .await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("vary"), None);

    let config = <imgshield::config::Config as clap::Parser>::try_parse_from([
        "imgshield",
        "--cors-origin",
        "shop.test/path",
    ])
    .expect("flags parse");
    let started = imgshield::http::start(&config, f.path()).await;
    assert!(started.is_err_and(|e| e.contains("--cors-origin")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presets_only_server_still_takes_a_file_name() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--preset", "wide=w=120", "--presets-only"]).await;
    let reply = s
        .get("/resize?src=photo.jpg&p=wide&filename=poster&dl=1")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"poster.jpg\"; filename*=UTF-8''poster.jpg")
    );
    let refused = s.get("/resize?src=photo.jpg&p=wide&w=10").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}
