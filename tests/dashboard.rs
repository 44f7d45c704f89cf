//! The Grafana dashboard in docs/grafana/ queries only series the server really exports: every
//! `imgshield_*` and `process_*` name in its expressions is checked against a live server's /metrics after traffic
//! that touches every family (hits, misses, a remote source, an origin error, an error response).

mod common;

use std::collections::BTreeSet;

use common::{Behaviour, Fixtures, Origin, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_series_exists() {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/a.jpg", Behaviour::Image(common::photo_jpeg(400, 300)));
    let allow = origin.allow();
    // With a disk tier, so that the storage tier series exist too.
    let disk = tempfile::tempdir().expect("temp dir");
    let disk = disk.path().to_str().expect("utf-8").to_string();
    let server = Server::start(
        fixtures.path(),
        &["--allow-host", allow.as_str(), "--disk-cache-dir", &disk],
    )
    .await;
    for path in [
        "/resize?src=photo.jpg&w=100".to_string(),
        "/resize?src=photo.jpg&w=100".to_string(),
        format!("/resize?src={}&w=100", origin.url("/a.jpg")),
        format!("/resize?src={}&w=100", origin.url("/missing.jpg")),
        "/resize?src=nope.jpg&w=100".to_string(),
        "/nowhere".to_string(),
    ] {
        server.get(&path).await;
    }
    let text = server.get("/metrics").await.text();
    let mut exported = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (words.next(), words.next(), words.next(), words.next())
        {
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            for suffix in suffixes {
                exported.insert(format!("{name}{suffix}"));
            }
        }
    }

    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grafana/imgshield.json"),
    )
    .expect("the dashboard file");
    let json: serde_json::Value = serde_json::from_str(&dashboard).expect("valid JSON");
    let mut used = BTreeSet::new();
    for panel in json["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let mut rest = expr;
            while let Some(at) = ["imgshield_", "process_"]
                .iter()
                .filter_map(|prefix| rest.find(prefix))
                .min()
            {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                used.insert(name);
            }
        }
    }
    assert!(used.len() >= 10, "the dashboard uses {used:?}");
    for standard in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "imgshield_build_info",
    ] {
        assert!(used.contains(standard), "the dashboard shows {standard}");
    }
    let missing: Vec<_> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries series the server does not export: {missing:?}\nexported: {exported:?}"
    );
}
