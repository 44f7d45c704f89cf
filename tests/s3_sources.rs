//! `src=s3://bucket/key` against a real S3-compatible server (s3s-fs on 127.0.0.1): served, a
//! missing key, a bucket not allowed, an object over the byte cap, ETag revalidation after
//! `--cache-ttl`, and the server stopped or silent.

mod common;
mod s3common;

use http::StatusCode;

use common::{photo_jpeg, Fixtures, Server};
use s3common::S3Server;

const BUCKET: &str = "photos";

async fn server_for(s3: &S3Server, extra: &[&str]) -> (Fixtures, Server) {
    let fixtures = Fixtures::new();
    let mut args = s3.flags();
    args.extend(["--allow-s3-bucket".to_string(), BUCKET.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(fixtures.path(), &args).await;
    (fixtures, server)
}

#[tokio::test]
async fn an_object_is_served_and_refusals_map_like_an_origins() {
    let s3 = S3Server::start(&[BUCKET, "private"]);
    s3.put(BUCKET, "dir/photo.jpg", &photo_jpeg(600, 400));
    s3.put("private", "photo.jpg", &photo_jpeg(600, 400));
    // Larger than the cap below: refused without being read whole.
    s3.put(BUCKET, "big.jpg", &vec![0x5a; 300_000]);
    let (_fixtures, server) = server_for(&s3, &["--max-src-bytes", "200000"]).await;

    let reply = server
        .get("/resize?src=s3://photos/dir/photo.jpg&w=120")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.image().1, 120);
    assert_eq!(reply.image().2, 80);

    let missing = server
        .get("/resize?src=s3://photos/nothing.jpg&w=120")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text());
    assert_eq!(missing.code(), "source_not_found");

    let refused = server.get("/resize?src=s3://private/photo.jpg&w=120").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(refused.code(), "host_not_allowed");

    let big = server.get("/resize?src=s3://photos/big.jpg&w=120").await;
    assert_eq!(
        big.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        big.text()
    );
    assert_eq!(big.code(), "source_too_large");

    let invalid = server.get("/resize?src=s3://Photos/a.jpg&w=120").await;
    assert_eq!(
        invalid.status,
        StatusCode::BAD_REQUEST,
        "{}",
        invalid.text()
    );
}

const REVALIDATED: &str = "imgshield_source_cache_lookups_total{result=\"revalidated\"}";
const MISSED: &str = "imgshield_source_cache_lookups_total{result=\"miss\"}";

#[tokio::test]
async fn a_stale_copy_is_revalidated_by_etag_and_a_changed_object_refetched() {
    let s3 = S3Server::start(&[BUCKET]);
    s3.put(BUCKET, "p.jpg", &photo_jpeg(600, 400));
    let (_fixtures, server) = server_for(&s3, &["--cache-ttl", "1s"]).await;

    let first = server.get("/resize?src=s3://photos/p.jpg&w=100").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.image().2, 67);
    assert_eq!(server.metric(MISSED).await, 1.0);

    // Past the TTL, unchanged: the ETag matches, the body is not taken again.
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let same = server.get("/resize?src=s3://photos/p.jpg&w=110").await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.text());
    assert_eq!(server.metric(REVALIDATED).await, 1.0);
    assert_eq!(server.metric(MISSED).await, 1.0);

    // Changed: a new ETag, a new source, a new result.
    s3.put(BUCKET, "p.jpg", &photo_jpeg(400, 1000));
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let changed = server.get("/resize?src=s3://photos/p.jpg&w=120").await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(changed.image().2, 300, "the new object's proportions");
    assert_eq!(server.metric(MISSED).await, 2.0);
}

#[tokio::test]
async fn a_stopped_server_is_502_and_other_routes_stay_fine() {
    let mut s3 = S3Server::start(&[BUCKET]);
    s3.put(BUCKET, "a.jpg", &photo_jpeg(300, 200));
    s3.put(BUCKET, "b.jpg", &photo_jpeg(300, 200));
    let (_fixtures, server) = server_for(&s3, &[]).await;
    let served = server.get("/resize?src=s3://photos/a.jpg&w=50").await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text());

    s3.stop();
    let down = server.get("/resize?src=s3://photos/b.jpg&w=50").await;
    assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{}", down.text());
    assert_eq!(down.code(), "origin_unreachable");
    // What was made before is still served, and local sources are untouched.
    let cached = server.get("/resize?src=s3://photos/a.jpg&w=50").await;
    assert_eq!(cached.status, StatusCode::OK);
    server.assert_healthy("/resize?src=photo.jpg&w=60").await;

    s3.restart();
    let back = server.get("/resize?src=s3://photos/b.jpg&w=50").await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text());
}

#[tokio::test]
async fn a_server_that_never_answers_is_504_within_the_fetch_timeout() {
    // Accepts connections and says nothing: a hung S3 endpoint.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", silent.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let fixtures = Fixtures::new();
    let args = [
        "--s3-endpoint",
        &endpoint,
        "--s3-path-style",
        "--s3-access-key-id",
        "k",
        "--s3-secret-access-key",
        "s",
        "--allow-s3-bucket",
        BUCKET,
        "--fetch-timeout",
        "1s",
    ];
    let server = Server::start(fixtures.path(), &args).await;
    let started = std::time::Instant::now();
    let reply = server.get("/resize?src=s3://photos/a.jpg&w=50").await;
    assert_eq!(
        reply.status,
        StatusCode::GATEWAY_TIMEOUT,
        "{}",
        reply.text()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    server.assert_healthy("/resize?src=photo.jpg&w=60").await;
}
