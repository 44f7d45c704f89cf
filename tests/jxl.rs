//! JPEG XL: `fm=jxl`, `fm=auto` for clients that list `image/jxl` (after AVIF by default,
//! `--auto-formats` to change the order), and JPEG XL sources only with `--allow-jxl-source`.

mod common;

use common::{Fixtures, Server};
use http::StatusCode;

/// A JPEG XL file: a bare codestream (`FF 0A`) or the ISO BMFF container.
fn is_jxl(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jxl_is_written_on_request_and_negotiated_after_avif() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let reply = s.get("/resize?src=photo.jpg&w=120&fm=jxl").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("image/jxl"));
    assert!(is_jxl(&reply.body));
    let cases = [
        ("image/jxl,*/*", "image/jxl"),
        ("image/avif,image/jxl,image/webp,*/*", "image/avif"),
        ("image/jxl,image/webp,*/*", "image/jxl"),
        ("image/jxl;q=0,image/webp,*/*", "image/webp"),
        ("image/webp,*/*", "image/webp"),
        ("*/*", "image/jpeg"),
    ];
    for (accept, want) in cases {
        let reply = s
            .get_with("/resize?src=photo.jpg&w=100&fm=auto", &[("accept", accept)])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{accept}");
        assert_eq!(reply.header("content-type"), Some(want), "{accept}");
        assert_eq!(reply.header("vary"), Some("Accept"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auto_order_is_configurable() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--auto-formats", "jxl,avif,webp"]).await;
    let reply = s
        .get_with(
            "/resize?src=photo.jpg&w=100&fm=auto",
            &[("accept", "image/avif,image/jxl,*/*")],
        )
        .await;
    assert_eq!(reply.header("content-type"), Some("image/jxl"));
    let webp_only = Server::start(f.path(), &["--auto-formats", "webp"]).await;
    let reply = webp_only
        .get_with(
            "/resize?src=photo.jpg&w=100&fm=auto",
            &[("accept", "image/avif,image/jxl,image/webp,*/*")],
        )
        .await;
    assert_eq!(reply.header("content-type"), Some("image/webp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jxl_sources_need_the_flag() {
    let f = Fixtures::new();
    let maker = Server::start(f.path(), &[]).await;
    let jxl = maker.get("/resize?src=photo.jpg&w=300&fm=jxl").await.body;
    std::fs::write(f.path().join("photo.jxl"), &jxl).expect("write");

    let allowing = Server::start(f.path(), &["--allow-jxl-source"]).await;
    let info = allowing.get("/info?src=photo.jxl").await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
    let json: serde_json::Value = serde_json::from_slice(&info.body).expect("json");
    assert_eq!(json["format"], "jxl");
    assert_eq!(
        (json["width"].as_u64(), json["height"].as_u64()),
        (Some(300), Some(200))
    );
    let png = allowing.get("/resize?src=photo.jxl&w=100&fm=png").await;
    assert_eq!(png.status, StatusCode::OK, "{}", png.text());
    assert_eq!(png.image(), (image::ImageFormat::Png, 100, 67));
    // The source's own family: JPEG XL stays JPEG XL.
    let same = allowing.get("/resize?src=photo.jxl&w=100").await;
    assert_eq!(same.header("content-type"), Some("image/jxl"));

    // A server without the flag refuses them, even though another one in this process allowed
    // libvips' loader.
    for path in ["/resize?src=photo.jxl&w=100", "/info?src=photo.jxl"] {
        let refused = maker.get(path).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
}
