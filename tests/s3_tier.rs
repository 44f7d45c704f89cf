//! The shared result tier (`--shared-store s3://bucket/prefix`): two real imgshield binaries on one
//! real S3-compatible server (s3s-fs on 127.0.0.1) and one real origin that counts its requests.

mod common;
mod s3common;

use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use common::{fetch, photo_jpeg, Behaviour, Fixtures, Origin, Reply};
use s3common::{Replica, S3Server};

const BUCKET: &str = "results";
const TIER_ERRORS: &str = "imgshield_tier_errors_total";

fn replica(s3: &S3Server, origin: &Origin, fixtures: &Fixtures) -> Replica {
    let mut args = s3.flags();
    args.extend(
        [
            "--root",
            &fixtures.path().display().to_string(),
            "--allow-host",
            &origin.allow(),
            "--shared-store",
            "s3://results/imgshield/v1",
            "--tier-timeout",
            "500ms",
        ]
        .map(str::to_string),
    );
    Replica::start(&args)
}

async fn get(replica: &Replica, path_and_query: &str) -> Reply {
    fetch(Method::GET, &replica.url(path_and_query), &[]).await
}

/// Waits until the server holds `count` objects below the prefix (writes are off the request path).
fn wait_for_objects(s3: &S3Server, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while s3.objects(BUCKET, "imgshield/v1").len() < count {
        assert!(
            Instant::now() < deadline,
            "the shared tier holds {:?}, not {count} objects",
            s3.objects(BUCKET, "imgshield/v1")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_serves_the_firsts_result_without_asking_the_origin() {
    let s3 = S3Server::start(&[BUCKET]);
    let origin = Origin::start().await;
    origin.route("/photo.jpg", Behaviour::Image(photo_jpeg(800, 600)));
    let fixtures = Fixtures::new();
    let (a, b) = (
        replica(&s3, &origin, &fixtures),
        replica(&s3, &origin, &fixtures),
    );
    let url = format!("/resize?src={}&w=200&fm=png", origin.url("/photo.jpg"));

    let made = get(&a, &url).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text());
    assert_eq!(made.header("x-cache"), Some("MISS"));
    assert_eq!(origin.hits("/photo.jpg"), 1);
    wait_for_objects(&s3, 1);
    let (key, _) = &s3.objects(BUCKET, "imgshield/v1")[0];
    let hex = key.rsplit('/').next().unwrap_or_default();
    assert_eq!(hex.len(), 64, "stored under its blake3 key: {key}");

    let shared = get(&b, &url).await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.text());
    assert_eq!(shared.header("x-cache"), Some("HIT-SHARED"));
    assert_eq!(shared.body, made.body, "the same bytes");
    assert_eq!(shared.header("etag"), made.header("etag"));
    assert_eq!(
        origin.hits("/photo.jpg"),
        1,
        "the origin was asked once in all"
    );
    // Promoted into b's memory.
    assert_eq!(get(&b, &url).await.header("x-cache"), Some("HIT"));
    assert_eq!(b.metric_sum(TIER_ERRORS, "tier=\"shared\"").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_stopped_clients_are_still_served_and_errors_counted() {
    let mut s3 = S3Server::start(&[BUCKET]);
    let origin = Origin::start().await;
    for path in ["/one.jpg", "/two.jpg"] {
        origin.route(path, Behaviour::Image(photo_jpeg(640, 480)));
    }
    let fixtures = Fixtures::new();
    let (a, b) = (
        replica(&s3, &origin, &fixtures),
        replica(&s3, &origin, &fixtures),
    );
    let one = format!("/resize?src={}&w=100", origin.url("/one.jpg"));
    let two = format!("/resize?src={}&w=100", origin.url("/two.jpg"));
    assert_eq!(get(&a, &one).await.status, StatusCode::OK);
    wait_for_objects(&s3, 1);

    s3.stop();
    let started = Instant::now();
    // From memory on a; from the origin on b (its tier read fails); new work on both.
    let from_memory = get(&a, &one).await;
    assert_eq!(from_memory.status, StatusCode::OK);
    assert_eq!(from_memory.header("x-cache"), Some("HIT"));
    let from_origin = get(&b, &one).await;
    assert_eq!(from_origin.status, StatusCode::OK, "{}", from_origin.text());
    assert_eq!(from_origin.header("x-cache"), Some("MISS"));
    for replica in [&a, &b] {
        let reply = get(replica, &two).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a dead store costs at most its bounded wait: {:?}",
        started.elapsed()
    );
    assert!(b.metric_sum(TIER_ERRORS, "tier=\"shared\"").await >= 1.0);
    assert_eq!(origin.hits("/one.jpg"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_object_in_the_store_is_never_served() {
    let s3 = S3Server::start(&[BUCKET]);
    let origin = Origin::start().await;
    origin.route("/cut.jpg", Behaviour::Image(photo_jpeg(640, 480)));
    let fixtures = Fixtures::new();
    let (a, b) = (
        replica(&s3, &origin, &fixtures),
        replica(&s3, &origin, &fixtures),
    );
    let url = format!("/resize?src={}&w=150", origin.url("/cut.jpg"));
    let made = get(&a, &url).await;
    assert_eq!(made.status, StatusCode::OK);
    wait_for_objects(&s3, 1);
    let (key, size) = s3.objects(BUCKET, "imgshield/v1").remove(0);
    // Cut short behind the tier's back, as a failed upload through another tool would leave it.
    let whole = std::fs::read(s3.path(BUCKET, &key)).expect("stored entry");
    assert_eq!(whole.len() as u64, size);
    s3.put(BUCKET, &key, &whole[..whole.len() / 2]);

    let reply = get(&b, &url).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.header("x-cache"),
        Some("MISS"),
        "the cut entry is not served"
    );
    assert_eq!(reply.body, made.body);
    assert_eq!(origin.hits("/cut.jpg"), 2);
}
