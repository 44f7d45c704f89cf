//! `GET /info` end to end: a real server, real libvips, local files and a real origin. What it
//! reports for each kind of source, how it is cached (like `/resize`, under keys of its own), and
//! how it fails (like `/resize`).

mod common;

use std::time::Duration;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;
use serde_json::Value;

/// The JSON body of a 200, or a failure that shows what came instead.
fn json(reply: &common::Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

/// `#rrggbb` -> [r, g, b].
fn rgb(hex: &Value) -> [i32; 3] {
    let hex = hex.as_str().expect("a colour string");
    assert!(hex.len() == 7 && hex.starts_with('#'), "{hex}");
    let channel = |i: usize| i32::from_str_radix(&hex[i..i + 2], 16).expect("hex digits");
    [channel(1), channel(3), channel(5)]
}

fn close_to(actual: [i32; 3], expected: [i32; 3], tolerance: i32) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| (a - e).abs() <= tolerance)
}

// ------------------------------------------------------------------ fixtures made here

/// An animated GIF: `frames` frames of 40x30, each one flat colour.
fn animated_gif(frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, 40, 30, &[]).expect("gif encoder");
        encoder.set_repeat(gif::Repeat::Infinite).expect("loop");
        for i in 0..frames {
            let colour = [(i * 80) as u8, 100, 200];
            let pixels = colour.repeat(40 * 30);
            let mut frame = gif::Frame::from_rgb(40, 30, &pixels);
            frame.delay = 10;
            encoder.write_frame(&frame).expect("frame");
        }
    }
    out
}

/// An animated WebP of `frames` lossless 32x24 frames, assembled by hand (RIFF, VP8X with the
/// animation flag, ANIM, one ANMF per frame) around VP8L bitstreams from the image-webp encoder.
fn animated_webp(frames: usize) -> Vec<u8> {
    let (w, h) = (32u32, 24u32);
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let chunk = |name: &[u8], payload: &[u8]| {
        let mut c = name.to_vec();
        c.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_le_bytes());
        c.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![0x02, 0, 0, 0]; // animation
    vp8x.extend(u24(w - 1));
    vp8x.extend(u24(h - 1));
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend(chunk(b"ANIM", &[255, 255, 255, 255, 0, 0]));
    for i in 0..frames {
        let pixels = [(i * 90) as u8, 50, 150].repeat((w * h) as usize);
        let mut still = Vec::new();
        image_webp::WebPEncoder::new(&mut still)
            .encode(&pixels, w, h, image_webp::ColorType::Rgb8)
            .expect("webp frame");
        // A simple lossless file is "RIFF" size "WEBP" then exactly one VP8L chunk.
        assert_eq!(&still[12..16], b"VP8L");
        let mut anmf = [u24(0), u24(0), u24(w - 1), u24(h - 1), u24(100)].concat();
        anmf.push(0); // blend, no dispose
        anmf.extend_from_slice(&still[12..]);
        body.extend(chunk(b"ANMF", &anmf));
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_le_bytes());
    out.extend(body);
    out
}

/// A CMYK JPEG (Adobe APP14, as Photoshop writes them) of one ink colour.
fn cmyk_jpeg(width: u16, height: u16, cmyk: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels = cmyk.repeat(usize::from(width) * usize::from(height));
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk jpeg");
    out
}

/// A PNG, encoded by the `image` crate, whose left 70% is one colour and the rest another.
fn split_png(width: u32, height: u32, left: [u8; 3], right: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, _| {
        image::Rgb(if x < width * 7 / 10 { left } else { right })
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn write(f: &Fixtures, name: &str, bytes: &[u8]) {
    std::fs::write(f.path().join(name), bytes).expect("write fixture");
}

// ------------------------------------------------------------------ what it reports

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jpeg_is_described_with_every_field() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let reply = s.get("/info?src=photo.jpg").await;
    let info = json(&reply);
    let size = std::fs::metadata(f.path().join("photo.jpg"))
        .expect("fixture")
        .len();
    assert_eq!(info["format"], "jpeg");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(1200), Some(800))
    );
    assert_eq!(
        (
            info["stored_width"].as_u64(),
            info["stored_height"].as_u64()
        ),
        (Some(1200), Some(800))
    );
    assert_eq!(info["orientation"], 1);
    assert_eq!(info["pages"], 1);
    assert_eq!(info["has_alpha"], false);
    assert_eq!(info["color_space"], "srgb");
    assert_eq!(info["icc_profile"], false);
    assert_eq!(info["file_size"].as_u64(), Some(size));
    rgb(&info["dominant_color"]);
    let hash = info["blurhash"].as_str().expect("blurhash");
    // 4x3 components: 4 + 2·12 characters, and the first one says 4x3 ('L' is 3 + 2·9 = 21).
    assert_eq!((hash.len(), &hash[..1]), (28, "L"), "{hash}");
    // Nothing else: the documented fields are the whole answer.
    assert_eq!(info.as_object().map(|o| o.len()), Some(13), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exif_orientation_6_swaps_width_and_height() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    // Stored 400x200, EXIF 6 ("rotate 90° clockwise"): shown 200x400.
    let info = json(&s.get("/info?src=rotated.jpg").await);
    assert_eq!(info["orientation"], 6);
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(200), Some(400))
    );
    assert_eq!(
        (
            info["stored_width"].as_u64(),
            info["stored_height"].as_u64()
        ),
        (Some(400), Some(200))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn animated_gif_and_webp_report_their_frames() {
    let f = Fixtures::new();
    write(&f, "anim.gif", &animated_gif(3));
    write(&f, "anim.webp", &animated_webp(4));
    let s = Server::start(f.path(), &[]).await;
    let gif = json(&s.get("/info?src=anim.gif").await);
    assert_eq!(
        (gif["format"].as_str(), gif["pages"].as_u64()),
        (Some("gif"), Some(3))
    );
    assert_eq!(
        (gif["width"].as_u64(), gif["height"].as_u64()),
        (Some(40), Some(30))
    );
    // The placeholders are the first frame's: (0, 100, 200), within GIF palette rounding.
    assert!(
        close_to(rgb(&gif["dominant_color"]), [0, 100, 200], 8),
        "{}",
        gif["dominant_color"]
    );
    let webp = json(&s.get("/info?src=anim.webp").await);
    assert_eq!(
        (webp["format"].as_str(), webp["pages"].as_u64()),
        (Some("webp"), Some(4))
    );
    assert_eq!(
        (webp["width"].as_u64(), webp["height"].as_u64()),
        (Some(32), Some(24))
    );
    assert_eq!(webp["dominant_color"], "#003296", "lossless first frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_png_with_alpha_is_described_and_its_clear_area_does_not_vote() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    // alpha.png (tests/common): 300x200 RGBA.
    let info = json(&s.get("/info?src=alpha.png").await);
    assert_eq!(
        (info["format"].as_str(), info["has_alpha"].as_bool()),
        (Some("png"), Some(true))
    );
    assert_eq!(info["color_space"], "srgb");

    // Mostly clear (80%, alpha 0 over black), 20% opaque orange: the orange dominates.
    let img = image::RgbaImage::from_fn(100, 100, |x, _| {
        image::Rgba(if x < 20 {
            [255, 128, 0, 255]
        } else {
            [0, 0, 0, 0]
        })
    });
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    write(&f, "logo.png", &png.into_inner());
    let logo = json(&s.get("/info?src=logo.png").await);
    assert!(
        close_to(rgb(&logo["dominant_color"]), [255, 128, 0], 6),
        "{}",
        logo["dominant_color"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cmyk_jpeg_says_cmyk_and_its_colour_is_converted() {
    let f = Fixtures::new();
    // Full cyan ink, nothing else.
    write(&f, "cmyk.jpg", &cmyk_jpeg(120, 80, [255, 0, 0, 0]));
    let s = Server::start(f.path(), &[]).await;
    let info = json(&s.get("/info?src=cmyk.jpg").await);
    assert_eq!(
        (info["format"].as_str(), info["color_space"].as_str()),
        (Some("jpeg"), Some("cmyk"))
    );
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(120), Some(80))
    );
    // Cyan in sRGB: little red, plenty of green and blue (not the raw ink values read as RGB).
    let [r, g, b] = rgb(&info["dominant_color"]);
    assert!(
        r < 100 && g > 120 && b > 180,
        "cyan came out as {:?}",
        [r, g, b]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dominant_colour_is_the_larger_area_not_the_mean() {
    let f = Fixtures::new();
    write(
        &f,
        "split.png",
        &split_png(640, 480, [200, 30, 40], [20, 60, 220]),
    );
    let s = Server::start(f.path(), &[]).await;
    let info = json(&s.get("/info?src=split.png").await);
    // The thumbnail blends the seam; the red bin's average stays within a few levels of the red.
    assert!(
        close_to(rgb(&info["dominant_color"]), [200, 30, 40], 4),
        "{}",
        info["dominant_color"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blurhash_component_counts_follow_bhx_and_bhy() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let default = json(&s.get("/info?src=photo.jpg").await);
    let wide = json(&s.get("/info?src=photo.jpg&bhx=5&bhy=2").await);
    let hash = wide["blurhash"].as_str().expect("blurhash");
    // 4 + 2·5·2 characters; the first one is (5-1) + (2-1)·9 = 13 = 'D' in base 83.
    assert_eq!((hash.len(), &hash[..1]), (24, "D"), "{hash}");
    // Same image, same DC term (characters 2..6: the mean colour).
    let default_hash = default["blurhash"].as_str().expect("blurhash");
    assert_eq!(&hash[2..6], &default_hash[2..6]);
}

// ------------------------------------------------------------------ caching

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_request_is_a_cache_hit_with_the_same_etag_and_304_on_if_none_match() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--max-age", "600"]).await;
    let first = s.get("/info?src=photo.jpg").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.header("x-cache"), Some("MISS"));
    assert_eq!(
        first.header("cache-control"),
        Some("public, max-age=600, stale-while-revalidate=60, stale-if-error=86400")
    );
    let etag = first.header("etag").expect("an ETag").to_string();

    // Parameters in another order, defaults spelled out: the same canonical request.
    let second = s.get("/info?bhy=3&src=photo.jpg&bhx=4").await;
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    assert_eq!(second.body, first.body);
    assert_eq!(
        s.metric("imgshield_cache_lookups_total{result=\"hit\"}")
            .await,
        1.0
    );

    let revalidated = s
        .get_with("/info?src=photo.jpg", &[("if-none-match", &etag)])
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    let changed = s
        .get_with(
            "/info?src=photo.jpg",
            &[("if-none-match", "\"something-else\"")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);

    // HEAD: the same headers, no body.
    let head = s.head("/info?src=photo.jpg").await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(head.body.is_empty());

    // Other component counts are another entry.
    let other = s.get("/info?src=photo.jpg&bhx=3").await;
    assert_eq!(other.header("x-cache"), Some("MISS"));
    assert_ne!(other.header("etag"), Some(etag.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_resize_of_one_remote_source_cost_one_fetch_and_keep_separate_results() {
    let f = Fixtures::new();
    let origin = Origin::start().await;
    origin.route(
        "/p.jpg",
        Behaviour::Validated {
            bytes: common::photo_jpeg(800, 600),
            etag: "\"v1\"".into(),
            cache_control: "max-age=3600".into(),
        },
    );
    let s = Server::start(f.path(), &["--allow-host", &origin.allow()]).await;
    let src = origin.url("/p.jpg");

    let resized = s.get(&format!("/resize?src={src}&w=100")).await;
    assert_eq!(resized.status, StatusCode::OK, "{}", resized.text());
    // Never the /resize entry: a miss of its own, answered in JSON.
    let reply = s.get(&format!("/info?src={src}")).await;
    assert_eq!(reply.header("x-cache"), Some("MISS"));
    let info = json(&reply);
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(800), Some(600))
    );
    assert_eq!(origin.hits("/p.jpg"), 1, "the source cache served /info");
    assert_eq!(
        s.get(&format!("/info?src={src}")).await.header("x-cache"),
        Some("HIT")
    );
    assert_eq!(
        s.metric("imgshield_source_cache_lookups_total{result=\"hit\"}")
            .await,
        1.0
    );
    assert_eq!(
        s.metric("imgshield_http_requests_total{route=\"info\",status=\"2xx\"}")
            .await,
        2.0
    );
}

// ------------------------------------------------------------------ failures, as /resize fails

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_parameters_get_400_naming_the_parameter() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    let cases = [
        ("/info?src=photo.jpg&bhx=10", "bhx"),
        ("/info?src=photo.jpg&bhy=0", "bhy"),
        ("/info?src=photo.jpg&bhx=four", "bhx"),
        ("/info?src=photo.jpg&w=300", "w"),
        ("/info?src=photo.jpg&src=tall.jpg", "src"),
        ("/info?bhx=3", "src"),
        ("/info?src=../secret.jpg", "src"),
        ("/info?src=ftp://example.com/a.jpg", "src"),
    ];
    for (url, name) in cases {
        let reply = s.get(url).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{url}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "invalid_parameter", "{url}");
        assert!(
            reply.text().contains(&format!("'{name}'"))
                || reply.text().contains(&format!(": {name}")),
            "{url}: {}",
            reply.text()
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{url}");
    }
    assert_eq!(
        s.metric("imgshield_http_requests_total{route=\"info\",status=\"4xx\"}")
            .await,
        cases.len() as f64
    );
    assert_eq!(
        s.metric("imgshield_errors_total{kind=\"invalid_parameter\"}")
            .await,
        cases.len() as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_sources_get_422_and_missing_ones_404() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &[]).await;
    for name in ["garbage.jpg", "truncated.jpg", "empty.jpg", "page.svg"] {
        let reply = s.get(&format!("/info?src={name}")).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "undecodable_source", "{name}");
    }
    let missing = s.get("/info?src=nope.jpg").await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::NOT_FOUND, "source_not_found")
    );
    // Failures are not cached: the same request fails the same way again, as a miss.
    let again = s.get("/info?src=garbage.jpg").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_ne!(again.header("x-cache"), Some("HIT"));
    s.assert_healthy("/info?src=photo.jpg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_limits_apply_as_for_resize() {
    let f = Fixtures::new();
    write(&f, "anim.gif", &animated_gif(3));
    let s = Server::start(
        f.path(),
        &["--max-frames", "2", "--max-src-pixels", "1000000"],
    )
    .await;
    let frames = s.get("/info?src=anim.gif").await;
    assert_eq!(
        (frames.status, frames.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "source_too_many_frames")
    );
    // bomb.png declares 64250x64250 in a 1x1 file.
    let bomb = s.get("/info?src=bomb.png").await;
    assert_eq!(
        (bomb.status, bomb.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "source_too_many_pixels")
    );
    // 1200x800 is within 1 MP.
    json(&s.get("/info?src=photo.jpg").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_failures_get_502_504_and_disallowed_hosts_403() {
    let f = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/500.jpg", Behaviour::Status(500));
    origin.route("/html.jpg", Behaviour::NotAnImage);
    origin.route("/cut.jpg", Behaviour::Truncated(common::photo_jpeg(64, 64)));
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_secs(5), common::photo_jpeg(64, 64)),
    );
    let s = Server::start(
        f.path(),
        &["--allow-host", &origin.allow(), "--fetch-timeout", "1s"],
    )
    .await;
    let cases = [
        ("/500.jpg", StatusCode::BAD_GATEWAY, "origin_error_status"),
        (
            "/html.jpg",
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_source",
        ),
        ("/slow.jpg", StatusCode::GATEWAY_TIMEOUT, "origin_timeout"),
        ("/cut.jpg", StatusCode::BAD_GATEWAY, "origin_body_failed"),
    ];
    for (path, status, code) in cases {
        let reply = s.get(&format!("/info?src={}", origin.url(path))).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{path}: {}",
            reply.text()
        );
    }
    let elsewhere = s.get("/info?src=http://example.com/a.jpg").await;
    assert_eq!(
        (elsewhere.status, elsewhere.code().as_str()),
        (StatusCode::FORBIDDEN, "host_not_allowed")
    );
    assert_eq!(
        s.metric("imgshield_http_requests_total{route=\"info\",status=\"5xx\"}")
            .await,
        3.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_only_signed_info_urls_are_answered() {
    const SECRET: &str = "test-secret-0123456789abcdef";
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--secret", SECRET]).await;
    let unsigned = s.get("/info?src=photo.jpg").await;
    assert_eq!(
        (unsigned.status, unsigned.code().as_str()),
        (StatusCode::FORBIDDEN, "signature_required")
    );
    let signer = imgshield::signature::Signer::new(&[SECRET.to_string()])
        .expect("valid secret")
        .expect("signing on");
    let signed = imgshield::signature::signed_url(&signer, "/info?src=photo.jpg");
    json(&s.get(&signed).await);
    // A /resize signature does not open /info: the path is signed too.
    let resize_sig = imgshield::signature::signed_url(&signer, "/resize?src=photo.jpg");
    let moved = resize_sig.replacen("/resize", "/info", 1);
    let refused = s.get(&moved).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (StatusCode::FORBIDDEN, "invalid_signature")
    );
}
