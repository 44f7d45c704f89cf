//! `/resize` against the local root: geometry, formats, caching headers, HEAD, 304 and metrics.

mod common;

use common::{Fixtures, Server};
use http::StatusCode;
use image::ImageFormat;

async fn server(fixtures: &Fixtures) -> Server {
    Server::start(fixtures.path(), &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn width_only_keeps_the_aspect_ratio_and_the_source_format() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let reply = s.get("/resize?src=photo.jpg&w=300").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("image/jpeg"));
    assert_eq!(reply.image(), (ImageFormat::Jpeg, 300, 200));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fit_mode_produces_its_geometry() {
    let f = Fixtures::new();
    let s = server(&f).await;
    // photo.jpg is 1200x800.
    let cases = [
        ("w=300&h=300", (300, 200)),
        ("w=300&h=300&fit=inside", (300, 200)),
        ("w=300&h=300&fit=cover", (300, 300)),
        ("w=300&h=300&fit=contain", (300, 300)),
        ("w=300&h=300&fit=fill", (300, 300)),
        ("w=300&h=300&fit=outside", (450, 300)),
        ("h=100", (150, 100)),
        ("w=5000", (1200, 800)),
        ("w=2400&enlarge=1", (2400, 1600)),
    ];
    for (query, (w, h)) in cases {
        let reply = s.get(&format!("/resize?src=photo.jpg&{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        let (_, width, height) = reply.image();
        assert_eq!((width, height), (w, h), "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exif_orientation_is_applied_before_sizing() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let reply = s.get("/resize?src=rotated.jpg&w=100").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.image(),
        (ImageFormat::Jpeg, 100, 200),
        "portrait after auto-orientation"
    );
    let cover = s.get("/resize?src=rotated.jpg&w=50&h=50&fit=cover").await;
    assert_eq!(cover.image(), (ImageFormat::Jpeg, 50, 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contain_pads_with_transparency_in_png_and_white_in_jpeg() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let png = s
        .get("/resize?src=tall.jpg&w=200&h=200&fit=contain&fm=png")
        .await;
    let img = image::load_from_memory(&png.body).expect("png").to_rgba8();
    assert_eq!(img.dimensions(), (200, 200));
    assert_eq!(img.get_pixel(0, 100)[3], 0, "padding is transparent");
    assert_eq!(img.get_pixel(100, 100)[3], 255, "the image is opaque");

    let jpeg = s
        .get("/resize?src=tall.jpg&w=200&h=200&fit=contain&fm=jpeg")
        .await;
    let img = image::load_from_memory(&jpeg.body).expect("jpeg").to_rgb8();
    let corner = img.get_pixel(2, 100);
    assert!(
        corner.0.iter().all(|c| *c > 240),
        "padding is white: {corner:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_formats_are_honoured() {
    let f = Fixtures::new();
    let s = server(&f).await;
    for (fm, mime, format) in [
        ("jpeg", "image/jpeg", Some(ImageFormat::Jpeg)),
        ("png", "image/png", Some(ImageFormat::Png)),
        ("webp", "image/webp", Some(ImageFormat::WebP)),
        ("avif", "image/avif", None),
    ] {
        let reply = s.get(&format!("/resize?src=photo.jpg&w=120&fm={fm}")).await;
        if fm == "avif" && reply.status == StatusCode::BAD_REQUEST {
            // A libvips build without an AV1 encoder must say so, not fail with 500.
            assert_eq!(reply.code(), "unsupported_format");
            continue;
        }
        assert_eq!(reply.status, StatusCode::OK, "{fm}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some(mime));
        match format {
            Some(format) => assert_eq!(reply.image(), (format, 120, 80)),
            None => assert_eq!(&reply.body[4..12], b"ftypavif"),
        }
        assert!(
            reply.header("vary").is_none(),
            "an explicit format does not vary"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_with_alpha_stays_png_and_keeps_alpha() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let reply = s.get("/resize?src=alpha.png&w=150").await;
    assert_eq!(reply.image(), (ImageFormat::Png, 150, 100));
    let img = image::load_from_memory(&reply.body).expect("png");
    assert!(img.color().has_alpha());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_format_follows_accept_and_varies_on_it() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let url = "/resize?src=photo.jpg&w=100&fm=auto";
    let webp = s.get_with(url, &[("accept", "image/webp,*/*")]).await;
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert_eq!(webp.header("vary"), Some("Accept"));
    let legacy = s.get_with(url, &[("accept", "*/*")]).await;
    assert_eq!(legacy.header("content-type"), Some("image/jpeg"));
    assert_eq!(legacy.header("vary"), Some("Accept"));
    let alpha = s
        .get_with(
            "/resize?src=alpha.png&w=100&fm=auto",
            &[("accept", "image/png,*/*")],
        )
        .await;
    assert_eq!(
        alpha.header("content-type"),
        Some("image/png"),
        "alpha falls back to PNG"
    );
    // Different Accept strings of the same class share one cache entry.
    let again = s
        .get_with(url, &[("accept", "text/html, image/webp;q=0.9")])
        .await;
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert_eq!(again.header("content-type"), Some("image/webp"));
    let avif = s
        .get_with(url, &[("accept", "image/avif,image/webp,*/*")])
        .await;
    let expected = if s
        .running
        .app()
        .engine()
        .can_encode(imgshield::engine::OutputFormat::Avif)
    {
        "image/avif"
    } else {
        "image/webp"
    };
    assert_eq!(avif.header("content-type"), Some(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_request_is_a_cache_hit_with_identical_bytes() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let first = s.get("/resize?src=photo.jpg&w=200").await;
    assert_eq!(first.header("x-cache"), Some("MISS"));
    // Same request, parameters reordered and defaults spelled out: same canonical key.
    let second = s.get("/resize?fit=inside&w=200&src=photo.jpg").await;
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(first.body, second.body);
    assert_eq!(first.header("etag"), second.header("etag"));
    assert_eq!(
        s.metric("imgshield_cache_lookups_total{result=\"hit\"}")
            .await,
        1.0
    );
    assert_eq!(
        s.metric("imgshield_cache_lookups_total{result=\"miss\"}")
            .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_headers_suit_a_cdn() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--max-age", "3600"]).await;
    let reply = s.get("/resize?src=photo.jpg&w=64").await;
    assert_eq!(
        reply.header("cache-control"),
        Some("public, max-age=3600, stale-while-revalidate=60, stale-if-error=86400")
    );
    let etag = reply.header("etag").expect("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    let error = s.get("/resize?src=missing.jpg").await;
    assert_eq!(
        error.header("cache-control"),
        Some("no-store"),
        "errors are never cacheable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_etag_gets_304_without_a_body() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let url = "/resize?src=photo.jpg&w=90";
    let first = s.get(url).await;
    let etag = first.header("etag").expect("etag").to_string();
    let revalidated = s.get_with(url, &[("if-none-match", etag.as_str())]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    let stale = s
        .get_with(url, &[("if-none-match", "\"something-else\"")])
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, first.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_has_the_headers_of_get_and_no_body() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let head = s.head("/resize?src=photo.jpg&w=111").await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    let get = s.get("/resize?src=photo.jpg&w=111").await;
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(head.header("etag"), get.header("etag"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_400_naming_them() {
    let f = Fixtures::new();
    let s = server(&f).await;
    for (query, needle) in [
        ("src=photo.jpg&width=3", "width"),
        ("src=photo.jpg&w=0", "'w'"),
        ("src=photo.jpg&w=9000", "'w'"),
        ("src=photo.jpg&h=abc", "'h'"),
        ("src=photo.jpg&fit=stretch", "'fit'"),
        ("src=photo.jpg&fm=bmp", "'fm'"),
        ("src=photo.jpg&q=101", "'q'"),
        ("w=10", "src"),
        ("src=photo.jpg&w=1&w=2", "'w'"),
    ] {
        let reply = s.get(&format!("/resize?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert!(reply.text().contains(needle), "{query}: {}", reply.text());
    }
    s.assert_healthy("/resize?src=photo.jpg&w=10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_with_a_sign_or_space_are_refused_as_documented() {
    let f = Fixtures::new();
    let s = server(&f).await;
    // `%2B` is `+`: Rust's integer parser takes a leading plus, the API does not.
    for (query, needle) in [
        ("src=photo.jpg&w=%2B77", "'w'"),
        ("src=photo.jpg&h=%2B77", "'h'"),
        ("src=photo.jpg&q=%2B50", "'q'"),
        ("src=photo.jpg&w=77%20", "'w'"),
        ("src=photo.jpg&crop=%2B1,0,10,10", "'crop'"),
        ("src=photo.jpg&pad=%2B4", "'pad'"),
        ("src=photo.jpg&trim=%2B10", "'trim'"),
        ("src=photo.jpg&dpr=%2B2", "'dpr'"),
    ] {
        let reply = s.get(&format!("/resize?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.code(), "invalid_parameter", "{query}");
        assert!(reply.text().contains(needle), "{query}: {}", reply.text());
    }
    let info = s.get("/info?src=photo.jpg&bhx=%2B4").await;
    assert_eq!(info.status, StatusCode::BAD_REQUEST, "{}", info.text());
    // Plain digits still work, leading zeros included (they are digits; the canonical form is 77).
    let plain = s.get("/resize?src=photo.jpg&w=77").await;
    let zeros = s.get("/resize?src=photo.jpg&w=077").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(zeros.status, StatusCode::OK);
    assert_eq!(plain.header("etag"), zeros.header("etag"));
    assert_eq!(
        zeros.header("x-cache"),
        Some("HIT"),
        "same canonical form, same entry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_cannot_escape_the_root() {
    let f = Fixtures::new();
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(
        outside.path().join("secret.jpg"),
        common::photo_jpeg(32, 32),
    )
    .expect("write");
    std::os::unix::fs::symlink(outside.path().join("secret.jpg"), f.path().join("link.jpg"))
        .expect("symlink");
    let s = server(&f).await;
    for (src, status) in [
        ("../etc/passwd", StatusCode::BAD_REQUEST),
        ("%2e%2e/%2e%2e/etc/passwd", StatusCode::BAD_REQUEST),
        ("sub/%2E%2E/%2E%2E/x.jpg", StatusCode::BAD_REQUEST),
        ("/etc/passwd", StatusCode::BAD_REQUEST),
        ("%2fetc%2fpasswd", StatusCode::BAD_REQUEST),
        ("file:///etc/passwd", StatusCode::BAD_REQUEST),
        ("link.jpg", StatusCode::FORBIDDEN),
        ("missing.jpg", StatusCode::NOT_FOUND),
        ("sub", StatusCode::NOT_FOUND),
    ] {
        let reply = s.get(&format!("/resize?src={src}&w=10")).await;
        assert_eq!(reply.status, status, "{src}: {}", reply.text());
    }
    let nested = s.get("/resize?src=sub/nested.jpg&w=10").await;
    assert_eq!(nested.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_sources_get_422_and_the_server_stays_healthy() {
    let f = Fixtures::new();
    let s = server(&f).await;
    for (src, code) in [
        ("truncated.jpg", "undecodable_source"),
        ("garbage.jpg", "undecodable_source"),
        ("empty.jpg", "undecodable_source"),
        ("page.svg", "undecodable_source"),
        ("bomb.png", "source_too_many_pixels"),
    ] {
        let reply = s.get(&format!("/resize?src={src}&w=50")).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{src}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), code, "{src}");
        // Errors are not cached: asking again repeats the work (another fetch) and the verdict.
        let fetches = "imgshield_origin_fetch_duration_seconds_count{origin=\"local\"}";
        let before = s.metric(fetches).await;
        let again = s.get(&format!("/resize?src={src}&w=50")).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            s.metric(fetches).await,
            before + 1.0,
            "{src} was fetched again"
        );
    }
    assert_eq!(s.metric("imgshield_cache_entries").await, 0.0);
    s.assert_healthy("/resize?src=photo.jpg&w=10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_sources_are_refused() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--max-src-bytes", "1KiB"]).await;
    let reply = s.get("/resize?src=photo.jpg&w=10").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "source_too_large");
    let small = Server::start(f.path(), &["--max-src-pixels", "10000"]).await;
    let reply = small.get("/resize?src=photo.jpg&w=10").await;
    assert_eq!(reply.code(), "source_too_many_pixels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_routes_answer() {
    let f = Fixtures::new();
    let s = server(&f).await;
    assert_eq!(s.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(s.get("/readyz").await.status, StatusCode::OK);
    let missing = s.get("/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    let post = common::fetch(http::Method::POST, &s.url("/resize?src=photo.jpg"), &[]).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_changing_series() {
    let f = Fixtures::new();
    let s = server(&f).await;
    let before = s
        .metric("imgshield_http_requests_total{route=\"resize\",status=\"2xx\"}")
        .await;
    s.get("/resize?src=photo.jpg&w=40").await;
    s.get("/resize?src=photo.jpg&w=40").await;
    s.get("/resize?src=missing.jpg").await;
    let text = s.get("/metrics").await.text();
    for series in [
        "imgshield_http_requests_total{route=\"resize\",status=\"2xx\"} 2",
        "imgshield_http_requests_total{route=\"resize\",status=\"4xx\"} 1",
        "imgshield_cache_lookups_total{result=\"hit\"} 1",
        "imgshield_cache_lookups_total{result=\"miss\"} 1",
        "imgshield_cache_entries 1",
        "imgshield_errors_total{kind=\"source_not_found\"} 1",
        "imgshield_origin_errors_total{kind=\"not_found\"} 1",
        "imgshield_transform_duration_seconds_count{engine=\"vips\",format=\"jpeg\"} 1",
        "imgshield_origin_fetch_duration_seconds_count{origin=\"local\"} 1",
        "imgshield_workers_busy 0",
        "imgshield_queue_depth 0",
    ] {
        assert!(text.contains(series), "missing {series}\n{text}");
    }
    assert_eq!(before, 0.0);
    assert!(s.metric("imgshield_cache_weighted_bytes").await > 0.0);
    assert!(s.metric("imgshield_source_bytes_total").await > 0.0);
    assert!(s.metric("imgshield_response_bytes_total").await > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_is_served() {
    use http_body_util::{BodyExt, Empty};
    let f = Fixtures::new();
    let s = server(&f).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Empty<bytes::Bytes>>();
    let uri: http::Uri = s.url("/resize?src=photo.jpg&w=64").parse().expect("uri");
    let response = client.get(uri).await.expect("h2 request");
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(image::load_from_memory(&body).expect("jpeg").width(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_several_requests_on_one_connection() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let f = Fixtures::new();
    let s = server(&f).await;
    let addr = s.running.local_addr();
    let mut stream = BufReader::new(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    for w in [10, 11, 10] {
        let request = format!("GET /resize?src=photo.jpg&w={w} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("write on the same socket");
        let mut status = String::new();
        stream.read_line(&mut status).await.expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.expect("body");
        assert_eq!(image::load_from_memory(&body).expect("jpeg").width(), w);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transform_over_its_time_limit_is_stopped_with_422_and_the_worker_freed() {
    let f = Fixtures::new();
    std::fs::write(f.path().join("big.jpg"), common::photo_jpeg(3000, 2000)).expect("write");
    let s = Server::start(
        f.path(),
        &["--max-processing-time", "1ms", "--workers", "1"],
    )
    .await;
    let reply = s.get("/resize?src=big.jpg&fm=png").await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert_eq!(reply.code(), "processing_timeout");
    assert_eq!(s.metric("imgshield_workers_busy").await, 0.0);
    assert_eq!(s.metric("imgshield_cache_entries").await, 0.0);
    let generous = Server::start(
        f.path(),
        &["--max-processing-time", "60s", "--workers", "1"],
    )
    .await;
    assert_eq!(
        generous.get("/resize?src=big.jpg&w=100").await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_metadata_never_reaches_any_output_format() {
    let f = Fixtures::new();
    let secret = "SECRET-GPS-48.8584N-2.2945E";
    let source = common::with_exif(&common::photo_jpeg(200, 100), 1, Some(secret));
    assert!(
        source.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the fixture carries it"
    );
    std::fs::write(f.path().join("private.jpg"), &source).expect("write");
    let s = server(&f).await;
    for fm in ["jpeg", "png", "webp", "avif"] {
        let reply = s
            .get(&format!("/resize?src=private.jpg&w=80&fm={fm}"))
            .await;
        if reply.status == StatusCode::BAD_REQUEST {
            continue; // a build without this encoder
        }
        assert_eq!(reply.status, StatusCode::OK, "{fm}: {}", reply.text());
        assert!(
            !reply
                .body
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{fm} output leaks EXIF"
        );
        assert!(
            !reply.body.windows(6).any(|w| w == b"Exif\0\0"),
            "{fm} output has an EXIF block"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_304_send_no_body_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = Fixtures::new();
    let s = server(&f).await;
    let etag = s
        .get("/resize?src=photo.jpg&w=70")
        .await
        .header("etag")
        .expect("etag")
        .to_string();
    // HEAD, a revalidation and a plain GET pipelined on one connection: if HEAD or 304 carried a
    // body, the bytes after them would not parse as the next status line.
    let addr = s.running.local_addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let requests = format!(
        "HEAD /resize?src=photo.jpg&w=70 HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /resize?src=photo.jpg&w=70 HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n\
         GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(requests.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("the server closes after the last request")
    .expect("read");
    // Walk the responses head by head: each must start right where the previous head ended.
    let mut rest: &[u8] = &raw;
    for expected in [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 304 Not Modified",
        "HTTP/1.1 200 OK",
    ] {
        assert!(
            rest.starts_with(expected.as_bytes()),
            "expected {expected:?} next, got {:?}",
            String::from_utf8_lossy(&rest[..rest.len().min(200)])
        );
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head")
            + 4;
        rest = &rest[end..];
    }
    assert_eq!(
        rest, b"{\"status\":\"ok\"}",
        "only the last response has a body"
    );
}
