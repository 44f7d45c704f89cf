//! The SSRF table: every way of writing a forbidden address is refused with 403 (or 400 when the URL
//! itself is refused), and a listener at that address proves no connection was ever made.

mod common;

use std::sync::atomic::Ordering;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notation_of_a_forbidden_address_is_refused_without_a_connection() {
    let fixtures = Fixtures::new();
    // The target an attacker wants to reach: a loopback service that is NOT on the allowlist.
    let target = Origin::start().await;
    target.route("/secret", Behaviour::Image(common::photo_jpeg(8, 8)));
    let port = target.addr.port();
    // The allowlist holds only a wildcard domain (which may reach public addresses only).
    let s = Server::start(fixtures.path(), &["--allow-host", "*.example.com"]).await;

    let forbidden = [
        format!("http://127.0.0.1:{port}/secret"),
        format!("http://localhost:{port}/secret"),
        format!("http://2130706433:{port}/secret"),
        format!("http://0x7f000001:{port}/secret"),
        format!("http://0x7f.0.0.1:{port}/secret"),
        format!("http://0177.0.0.1:{port}/secret"),
        format!("http://127.1:{port}/secret"),
        format!("http://127.000.000.001:{port}/secret"),
        format!("http://[::1]:{port}/secret"),
        format!("http://[::ffff:127.0.0.1]:{port}/secret"),
        format!("http://[::ffff:7f00:1]:{port}/secret"),
        format!("http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/secret"),
        format!("http://0.0.0.0:{port}/secret"),
        format!("http://0:{port}/secret"),
        format!("http://%31%32%37.0.0.1:{port}/secret"),
        format!("http://127.0.0.1.:{port}/secret"),
        format!("https://127.0.0.1:{port}/secret"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[fd00:ec2::254]/latest/meta-data/".to_string(),
        "http://10.0.0.1/x".to_string(),
        "http://172.16.0.1/x".to_string(),
        "http://192.168.0.1/x".to_string(),
        "http://100.64.0.1/x".to_string(),
        "http://[fe80::1]/x".to_string(),
        "http://[fc00::1]/x".to_string(),
        "http://224.0.0.1/x".to_string(),
        "http://example.com.127.0.0.1.nip.io/x".to_string(),
        // A wildcard for *.example.com does not admit look-alikes.
        "http://evil-example.com/x".to_string(),
        "http://example.com.evil.net/x".to_string(),
        "http://example.com/x".to_string(),
    ];
    for src in &forbidden {
        let encoded: String = form_urlencoded::byte_serialize(src.as_bytes()).collect();
        let reply = s.get(&format!("/resize?w=10&src={encoded}")).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{src}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "host_not_allowed", "{src}");
    }
    // URL tricks that are refused as malformed before any host is considered.
    for src in [
        format!("http://cdn.example.com@127.0.0.1:{port}/secret"),
        format!("http://cdn.example.com:80@127.0.0.1:{port}/secret"),
        format!("http://127.0.0.1:{port}\\@cdn.example.com/secret"),
        "file:///etc/passwd".to_string(),
        format!("gopher://127.0.0.1:{port}/_GET"),
        format!("dict://127.0.0.1:{port}/"),
    ] {
        let encoded: String = form_urlencoded::byte_serialize(src.as_bytes()).collect();
        let reply = s.get(&format!("/resize?w=10&src={encoded}")).await;
        assert!(
            matches!(
                reply.status,
                StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN
            ),
            "{src}: {} {}",
            reply.status,
            reply.text()
        );
    }
    assert_eq!(
        target.connections.load(Ordering::SeqCst),
        0,
        "no connection reached the target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_forbidden_addresses_are_refused_without_a_connection() {
    let fixtures = Fixtures::new();
    let allowed = Origin::start().await;
    let target = Origin::start().await;
    target.route("/secret", Behaviour::Image(common::photo_jpeg(8, 8)));
    let port = target.addr.port();
    for (path, location) in [
        ("/r1", format!("http://127.0.0.1:{port}/secret")),
        ("/r2", format!("http://2130706433:{port}/secret")),
        ("/r3", format!("http://[::ffff:127.0.0.1]:{port}/secret")),
        (
            "/r4",
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
        ("/r5", format!("//127.0.0.1:{port}/secret")),
        ("/r6", "file:///etc/passwd".to_string()),
    ] {
        allowed.route(path, Behaviour::Redirect(location));
    }
    let s = Server::start(fixtures.path(), &["--allow-host", &allowed.allow()]).await;
    for path in ["/r1", "/r2", "/r3", "/r4", "/r5", "/r6"] {
        let reply = s
            .get(&format!("/resize?w=10&src={}", allowed.url(path)))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{path}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "origin_redirect_refused", "{path}");
    }
    assert_eq!(
        target.connections.load(Ordering::SeqCst),
        0,
        "no redirect reached the target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_a_port_allows_the_default_port_only() {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/a.jpg", Behaviour::Image(common::photo_jpeg(64, 48)));
    let port = origin.addr.port();
    // `127.0.0.1` means http://127.0.0.1:80 only: the origin's random port is refused, so is every
    // other port (no port-scan oracle of 502/422/504), and no connection is made.
    let bare = Server::start(fixtures.path(), &["--allow-host", "127.0.0.1"]).await;
    for other in [port, 1, 22, 6379] {
        let reply = bare
            .get(&format!("/resize?w=10&src=http://127.0.0.1:{other}/a.jpg"))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{other}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "host_not_allowed");
    }
    assert_eq!(origin.connections.load(Ordering::SeqCst), 0);
    // `:*` is the explicit way to allow every port; `:PORT` allows that one.
    for entry in ["127.0.0.1:*".to_string(), format!("127.0.0.1:{port}")] {
        let s = Server::start(fixtures.path(), &["--allow-host", &entry]).await;
        let reply = s
            .get(&format!("/resize?w=10&src={}", origin.url("/a.jpg")))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{entry}: {}", reply.text());
    }
}
