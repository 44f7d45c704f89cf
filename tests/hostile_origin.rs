//! An origin that misbehaves on purpose, and clients that try to turn it against everybody: a
//! broken answer must not be kept, one client must not open the circuit for all, and no error body
//! carries libvips, hyper, resolver or OS text.

mod common;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;

async fn setup(extra: &[&str]) -> (Fixtures, Origin, Server) {
    let (fixtures, origin, server) = common::with_origin(extra).await;
    origin.route("/ok.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    (fixtures, origin, server)
}

fn resize(origin: &Origin, path: &str, rest: &str) -> String {
    common::resize_url(origin, path, rest)
}

/// A maintenance page, and a JPEG cut in half (right magic bytes, broken data).
fn garbages() -> [(&'static str, Vec<u8>); 2] {
    let jpeg = common::photo_jpeg(400, 300);
    [
        (
            "html",
            b"<html><body>down for maintenance</body></html>".to_vec(),
        ),
        ("truncated", jpeg[..jpeg.len() / 2].to_vec()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_served_once_is_not_kept_the_next_request_for_any_width_is_200() {
    let (_f, origin, s) = setup(&[]).await;
    let image = common::photo_jpeg(400, 300);
    for (name, garbage) in garbages() {
        let path = format!("/{name}.jpg");
        origin.route(
            &path,
            Behaviour::GarbageOnce {
                garbage,
                then: image.clone(),
            },
        );
        let first = s.get(&resize(&origin, &path, "&w=100")).await;
        assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert_eq!(first.code(), "undecodable_source");
        // The origin has recovered: the same width and every other one are images now.
        for w in [100, 200, 300] {
            let reply = s.get(&resize(&origin, &path, &format!("&w={w}"))).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{name} w={w}: {}",
                reply.text()
            );
            assert_eq!(reply.image().1, w);
        }
        assert_eq!(
            origin.hits(&path),
            2,
            "{name}: one refused copy, one good one"
        );
    }
    assert_eq!(s.metric("imgshield_source_cache_refused_total").await, 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_does_not_keep_garbage_either() {
    let (_f, origin, s) = setup(&[]).await;
    let image = common::photo_jpeg(400, 300);
    for (name, garbage) in garbages() {
        let path = format!("/{name}.jpg");
        origin.route(
            &path,
            Behaviour::GarbageOnce {
                garbage,
                then: image.clone(),
            },
        );
        let src = origin.url(&path);
        let first = s.get(&format!("/info?src={src}")).await;
        assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let again = s.get(&format!("/info?src={src}")).await;
        assert_eq!(again.status, StatusCode::OK, "{name}: {}", again.text());
        let resized = s.get(&resize(&origin, &path, "&w=50")).await;
        assert_eq!(resized.status, StatusCode::OK, "{name}");
        assert_eq!(
            origin.hits(&path),
            2,
            "{name}: /info and /resize share the good copy"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_repeating_a_failing_url_cannot_open_the_circuit() {
    let (_f, origin, s) = setup(&["--breaker-failures", "3"]).await;
    origin.route("/down.jpg", Behaviour::Status(503));
    // The same failing source, with and without cache-busting query strings: one path.
    for i in 0..20 {
        let path = if i % 2 == 0 {
            "/down.jpg".to_string()
        } else {
            format!("/down.jpg?v={i}")
        };
        origin.route(&path, Behaviour::Status(503));
        let reply = s
            .get(&resize(&origin, &path, &format!("&w={}", 10 + i)))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_GATEWAY,
            "{i}: {}",
            reply.text()
        );
    }
    // Verdicts about one URL never count: 404, 403, not an image, a refused redirect.
    origin.route("/gone.jpg", Behaviour::Status(404));
    origin.route("/private.jpg", Behaviour::Status(403));
    origin.route("/html.jpg", Behaviour::NotAnImage);
    origin.route(
        "/away.jpg",
        Behaviour::Redirect("http://example.com/".into()),
    );
    for path in ["/gone.jpg", "/private.jpg", "/html.jpg", "/away.jpg"] {
        for w in [10, 11, 12] {
            let reply = s.get(&resize(&origin, path, &format!("&w={w}"))).await;
            assert!(reply.status.is_client_error() || reply.status.is_server_error());
            assert_ne!(reply.code(), "origin_circuit_open", "{path}");
        }
    }
    let ok = s.get(&resize(&origin, "/ok.jpg", "&w=40")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(s.metric("imgshield_origin_circuit_trips_total").await, 0.0);

    // An origin failing on three distinct paths is failing: the circuit opens.
    for path in ["/a.jpg", "/b.jpg", "/c.jpg"] {
        origin.route(path, Behaviour::Status(500));
        s.get(&resize(&origin, path, "&w=10")).await;
    }
    origin.route("/fresh.jpg", Behaviour::Image(common::photo_jpeg(64, 64)));
    let refused = s.get(&resize(&origin, "/fresh.jpg", "&w=41")).await;
    assert_eq!(refused.code(), "origin_circuit_open", "{}", refused.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_host_still_opens_the_circuit_through_one_url() {
    // Nothing listens here: every URL on the host fails the same way, so each refusal counts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let fixtures = Fixtures::new();
    let allow = format!("127.0.0.1:{port}");
    let s = Server::start(
        fixtures.path(),
        &["--allow-host", &allow, "--breaker-failures", "3"],
    )
    .await;
    let url = |w: u32| format!("/resize?src=http://127.0.0.1:{port}/x.jpg&w={w}");
    for w in 10..13 {
        assert_eq!(s.get(&url(w)).await.code(), "origin_unreachable");
    }
    assert_eq!(s.get(&url(20)).await.code(), "origin_circuit_open");
}

/// Words that only libvips, hyper, the resolver or the OS would write.
const FOREIGN: &[&str] = &[
    "os error",
    "tcp",
    "hyper",
    "client error",
    "Connection",
    "connection closed",
    "vips",
    "Vips",
    "VipsJpeg",
    "Premature",
    "jpeg",
    "resolves",
    "non-public",
    "dns",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_carry_only_our_own_words() {
    // A port with nothing behind it, allowed too: connection errors come from the OS and hyper.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let closed_entry = format!("127.0.0.1:{closed}");
    let (f, origin, s) = setup(&["--allow-host", &closed_entry]).await;
    let jpeg = common::photo_jpeg(400, 300);
    std::fs::write(f.path().join("half.jpg"), &jpeg[..jpeg.len() / 2]).expect("write");
    origin.route("/truncated-body.jpg", Behaviour::Truncated(jpeg.clone()));
    origin.route("/html.jpg", Behaviour::NotAnImage);
    origin.route(
        "/half.jpg",
        Behaviour::Image(jpeg[..jpeg.len() / 2].to_vec()),
    );
    origin.route("/loop.jpg", Behaviour::Redirect("/loop.jpg".into()));
    origin.route(
        "/away.jpg",
        Behaviour::Redirect("http://internal.example.com:6379/x".into()),
    );
    origin.route(
        "/to-closed.jpg",
        Behaviour::Redirect(format!("http://127.0.0.1:{closed}/x.jpg")),
    );
    let mut queries: Vec<String> = [
        "/truncated-body.jpg",
        "/html.jpg",
        "/half.jpg",
        "/loop.jpg",
        "/away.jpg",
        "/to-closed.jpg",
    ]
    .iter()
    .flat_map(|p| {
        [
            resize(&origin, p, "&w=10"),
            format!("/info?src={}", origin.url(p)),
        ]
    })
    .collect();
    queries.push(format!("/resize?src=http://127.0.0.1:{closed}/x.jpg&w=10"));
    queries.push("/resize?src=half.jpg&w=10".into());
    queries.push("/resize?src=garbage.jpg&w=10".into());
    queries.push("/text?txt=%E2%80%8B".into());
    for query in queries {
        let reply = s.get(&query).await;
        assert!(!reply.status.is_success(), "{query}");
        let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("json body");
        let message = json["message"].as_str().expect("a message");
        for word in FOREIGN {
            assert!(!message.contains(word), "{query}: {word:?} in {message:?}");
        }
        assert!(
            message.matches('\'').count() <= 2,
            "{query}: nested quotes in {message:?}"
        );
    }
}
