//! An origin that misbehaves on purpose, and clients that try to turn it against everybody: a
//! broken answer must not be kept.

mod common;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;

async fn setup(extra: &[&str]) -> (Fixtures, Origin, Server) {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/ok.jpg", Behaviour::Image(common::photo_jpeg(300, 200)));
    let allow = origin.allow();
    let mut args = vec!["--allow-host", allow.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start(fixtures.path(), &args).await;
    (fixtures, origin, server)
}

fn resize(origin: &Origin, path: &str, rest: &str) -> String {
    format!("/resize?src={}{rest}", origin.url(path))
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
