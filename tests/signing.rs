//! Signed URLs end to end: `imgshield sign` (the real binary) writes URLs that a server with the same
//! secret accepts, and anything unsigned, tampered or signed with another secret is refused.

mod common;

use std::process::Command;

use common::{Fixtures, Server};
use http::StatusCode;

const SECRET: &str = "test-secret-0123456789abcdef";

fn sign(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_imgshield"))
        .arg("sign")
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_signed_by_the_cli_are_accepted_and_everything_else_refused() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--secret", SECRET]).await;

    let signed = sign(&["--secret", SECRET, "/resize?src=photo.jpg&w=120"]);
    let ok = s.get(&signed).await;
    assert_eq!(ok.status, StatusCode::OK, "{signed}: {}", ok.text());
    assert_eq!(ok.image().1, 120);

    let unsigned = s.get("/resize?src=photo.jpg&w=120").await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    assert_eq!(unsigned.code(), "signature_required");

    let tampered = s.get(&signed.replace("w=120", "w=121")).await;
    assert_eq!(tampered.status, StatusCode::FORBIDDEN);
    assert_eq!(tampered.code(), "invalid_signature");

    let foreign = sign(&[
        "--secret",
        "another-secret-0123456789",
        "/resize?src=photo.jpg&w=120",
    ]);
    assert_eq!(s.get(&foreign).await.code(), "invalid_signature");

    // Health and metrics stay reachable without a signature.
    assert_eq!(s.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_srcset_from_the_cli_serves_every_width_and_rotation_keeps_old_urls_valid() {
    let f = Fixtures::new();
    let old_secret = "old-secret-0123456789abcdef";
    let s = Server::start(f.path(), &["--secret", SECRET, "--secret", old_secret]).await;
    let srcset = sign(&[
        "--secret",
        old_secret,
        "--widths",
        "100,200,300",
        "/resize?src=photo.jpg&fit=cover&h=100",
    ]);
    let entries: Vec<(&str, &str)> = srcset
        .split(", ")
        .map(|entry| entry.split_once(' ').expect("url and descriptor"))
        .collect();
    assert_eq!(entries.len(), 3, "{srcset}");
    for (url, descriptor) in entries {
        let width: u32 = descriptor
            .trim_end_matches('w')
            .parse()
            .expect("a width descriptor");
        let reply = s.get(url).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}: {}", reply.text());
        assert_eq!(reply.image().1, width, "{url}");
    }
}

#[test]
fn the_cli_refuses_short_secrets() {
    let output = Command::new(env!("CARGO_BIN_EXE_imgshield"))
        .args(["sign", "--secret", "short", "/resize?src=a.jpg"])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("too short"));
}
