//! Client hints and Save-Data, opt-in, against the real server: hints size the image only where
//! the URL leaves it open, are bucketed into the cache key, and the answers say Accept-CH and Vary.

mod common;

use common::{Fixtures, Server};
use http::StatusCode;

fn vary(reply: &common::Reply) -> Vec<String> {
    reply
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_size_what_the_url_leaves_open_in_buckets() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--client-hints"]).await;
    // photo.jpg is 1200x800.
    let by_width = s
        .get_with("/resize?src=photo.jpg", &[("sec-ch-width", "500")])
        .await;
    assert_eq!(by_width.status, StatusCode::OK, "{}", by_width.text());
    assert_eq!(by_width.image().1, 640, "500 rounds up to the 640 bucket");
    assert!(by_width
        .header("accept-ch")
        .is_some_and(|v| v.contains("Sec-CH-DPR")));
    assert!(vary(&by_width).iter().any(|v| v == "Sec-CH-Width"));
    let same_bucket = s
        .get_with("/resize?src=photo.jpg", &[("width", "600")])
        .await;
    assert_eq!(
        same_bucket.header("x-cache"),
        Some("HIT"),
        "one entry per bucket"
    );

    let retina = s
        .get_with("/resize?src=photo.jpg&w=300", &[("sec-ch-dpr", "2")])
        .await;
    assert_eq!(retina.image().1, 600);
    assert!(vary(&retina).iter().any(|v| v == "Sec-CH-DPR"));
    let fixed = s
        .get_with("/resize?src=photo.jpg&w=300&dpr=1", &[("sec-ch-dpr", "2")])
        .await;
    assert_eq!(fixed.image().1, 300, "the URL's own dpr wins");
    assert!(!vary(&fixed).iter().any(|v| v == "Sec-CH-DPR"));
    let junk = s
        .get_with("/resize?src=photo.jpg&w=300", &[("dpr", "-3")])
        .await;
    assert_eq!(junk.image().1, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_hints_change_nothing() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let reply = s
        .get_with(
            "/resize?src=photo.jpg&w=300",
            &[("sec-ch-dpr", "2"), ("save-data", "on")],
        )
        .await;
    assert_eq!(reply.image().1, 300);
    assert_eq!(reply.header("accept-ch"), None);
    assert!(vary(&reply).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_data_lowers_the_quality_unless_the_url_names_one() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--save-data-quality", "30"]).await;
    let normal = s.get("/resize?src=photo.jpg&w=400").await;
    let saving = s
        .get_with("/resize?src=photo.jpg&w=400", &[("save-data", "on")])
        .await;
    assert_eq!(saving.status, StatusCode::OK);
    assert!(
        saving.body.len() < normal.body.len() * 3 / 4,
        "{} vs {}",
        saving.body.len(),
        normal.body.len()
    );
    assert!(vary(&saving).iter().any(|v| v == "Save-Data"));
    let named = s
        .get_with("/resize?src=photo.jpg&w=400&q=80", &[("save-data", "on")])
        .await;
    assert_eq!(
        named.body, normal.body,
        "the URL's q wins (80 is the default)"
    );
}
