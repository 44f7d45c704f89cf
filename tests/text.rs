//! `GET /text` against a real server and real libvips, Pango and fonts: sizes and formats, CJK
//! glyphs actually drawn (not "tofu" boxes), colour, placement, caching headers, refusals.
//!
//! Ink is found by comparing decoded pixels with the background colour, never by comparing bytes.

mod common;

use common::{Reply, Server};
use http::StatusCode;
use image::{ImageFormat, RgbaImage};

async fn server() -> (tempfile::TempDir, Server) {
    let root = tempfile::tempdir().expect("root");
    let server = Server::start(root.path(), &[]).await;
    (root, server)
}

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn rgba(reply: &Reply) -> RgbaImage {
    image::load_from_memory(&reply.body)
        .expect("a decodable image")
        .to_rgba8()
}

/// Whether a pixel is ink on a white background (any channel 64 or more below white).
fn inked(p: &image::Rgba<u8>) -> bool {
    p.0[..3].iter().any(|v| *v < 192)
}

/// The bounding box (x0, y0, x1, y1) of ink on white, and how many ink pixels there are.
fn ink_box(img: &RgbaImage) -> Option<((u32, u32, u32, u32), usize)> {
    let mut found: Option<(u32, u32, u32, u32)> = None;
    let mut count = 0;
    for (x, y, p) in img.enumerate_pixels() {
        if inked(p) {
            count += 1;
            found = Some(match found {
                None => (x, y, x, y),
                Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x), d.max(y)),
            });
        }
    }
    found.map(|b| (b, count))
}

async fn get_ok(s: &Server, query: &str) -> Reply {
    let reply = s.get(&format!("/text?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banner_has_the_requested_size_and_format() {
    let (_root, s) = server().await;
    for (fm, format, mime) in [
        ("png", ImageFormat::Png, "image/png"),
        ("jpeg", ImageFormat::Jpeg, "image/jpeg"),
        ("webp", ImageFormat::WebP, "image/webp"),
    ] {
        let reply = get_ok(&s, &format!("txt=Hello%20world&w=600&h=200&fm={fm}")).await;
        assert_eq!(reply.header("content-type"), Some(mime));
        assert_eq!(reply.image(), (format, 600, 200), "{fm}");
        let (_, ink) = ink_box(&rgba(&reply)).expect("text drawn");
        assert!(ink > 200, "{fm}: {ink} ink pixels");
    }
    // AVIF where this build encodes it (the `image` crate cannot decode it: check the brand).
    let avif = s.get("/text?txt=Hello&w=300&h=100&fm=avif").await;
    match avif.status {
        StatusCode::OK => {
            assert_eq!(avif.header("content-type"), Some("image/avif"));
            assert_eq!(&avif.body[4..12], b"ftypavif");
        }
        status => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(avif.code(), "unsupported_format");
        }
    }
    // The default is PNG, opaque white with black text; without w and h the canvas fits the text.
    let auto = get_ok(&s, "txt=Hello&txtmargin=20&txtsize=40").await;
    let (format, width, height) = auto.image();
    assert_eq!(format, ImageFormat::Png);
    assert!(
        (100..=200).contains(&width) && (60..=100).contains(&height),
        "{width}x{height}"
    );
    let img = rgba(&auto);
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255, 255]);
    let ((x0, y0, x1, y1), _) = ink_box(&img).expect("ink");
    assert!(
        x0 >= 18 && y0 >= 18 && x1 < width - 18 && y1 < height - 18,
        "margins kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cjk_text_is_drawn_where_txtpos_says() {
    let (_root, s) = server().await;
    let mut masks = Vec::new();
    for text in ["你好世界", "こんにちは", "한국어"] {
        let reply = get_ok(
            &s,
            &format!("txt={}&w=800&h=400&txtsize=64&txtpos=top-left", enc(text)),
        )
        .await;
        let img = rgba(&reply);
        let ((x0, y0, x1, y1), count) = ink_box(&img).expect("ink");
        assert!(count > 1500, "{text}: {count} ink pixels");
        assert!(x0 >= 16 && y0 >= 16, "{text}: margin kept ({x0},{y0})");
        assert!(
            x1 < 400 && y1 < 120,
            "{text}: ink in the top-left part ({x1},{y1})"
        );
        let bottom_right = (400..800)
            .flat_map(|x| (200..400).map(move |y| (x, y)))
            .all(|(x, y)| img.get_pixel(x, y).0 == [255, 255, 255, 255]);
        assert!(bottom_right, "{text}: the bottom-right is pure background");
        masks.push(img.pixels().map(inked).collect::<Vec<bool>>());
    }
    // Different strings draw different shapes. (Pango's missing-glyph boxes carry the code point
    // in hex, so this alone does not tell glyphs from tofu: the next test does.)
    for i in 0..masks.len() {
        for j in i + 1..masks.len() {
            let differ = masks[i]
                .iter()
                .zip(&masks[j])
                .filter(|(a, b)| a != b)
                .count();
            let union = masks[i]
                .iter()
                .zip(&masks[j])
                .filter(|(a, b)| **a || **b)
                .count();
            assert!(
                differ * 2 > union,
                "strings {i} and {j}: {differ} of {union} ink pixels differ"
            );
        }
    }
}

/// Width and height of the ink of `text` drawn alone at 128 px.
async fn glyph_shape(s: &Server, text: &str) -> (u32, u32) {
    let reply = get_ok(s, &format!("txt={}&w=400&h=400&txtsize=128", enc(text))).await;
    let ((x0, y0, x1, y1), _) = ink_box(&rgba(&reply)).expect("ink");
    (x1 - x0 + 1, y1 - y0 + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cjk_glyphs_come_from_a_real_font_not_tofu_boxes() {
    let (_root, s) = server().await;
    // A missing glyph is drawn as a box (with the code point inside): about as tall as wide. This
    // private-use character is in no font, so it shows what the checks below would see.
    let (w, h) = glyph_shape(&s, "\u{E000}").await;
    assert!(h * 2 > w, "a notdef box is boxy: {w}x{h}");
    // One horizontal stroke in each script: 一 (Chinese "one"), ー (Japanese long-vowel mark) and
    // ㅡ (the Korean vowel eu). Real glyphs are wide flat bars; tofu would be boxes.
    for bar in ["一", "ー", "ㅡ"] {
        let (w, h) = glyph_shape(&s, bar).await;
        assert!(
            w > 4 * h,
            "{bar} renders as a flat stroke, not a box: {w}x{h}"
        );
    }
    // And a vertical one: 丨 (the Chinese radical "line").
    let (w, h) = glyph_shape(&s, "丨").await;
    assert!(h > 4 * w, "丨 renders as a tall stroke: {w}x{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_takes_its_colour_and_the_canvas_its_background() {
    let (_root, s) = server().await;
    let reply = get_ok(&s, "txt=Red&w=300&h=120&txtsize=64&txtcolor=ff0000").await;
    let img = rgba(&reply);
    let ink: Vec<[u8; 4]> = img.pixels().filter(|p| inked(p)).map(|p| p.0).collect();
    assert!(ink.len() > 300, "{} ink pixels", ink.len());
    for [r, g, b, _] in &ink {
        assert!(
            *r > 200 && *g < *r - 60 && *b < *r - 60,
            "red-dominant ink: {r},{g},{b}"
        );
    }
    // A translucent canvas keeps alpha in PNG: transparent corners, opaque blue text.
    let reply = get_ok(&s, "txt=Hi&w=200&h=100&txtsize=64&bg=00000000&txtcolor=00f").await;
    let img = rgba(&reply);
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    let opaque: Vec<[u8; 4]> = img
        .pixels()
        .filter(|p| p.0[3] == 255)
        .map(|p| p.0)
        .collect();
    assert!(opaque.len() > 200);
    assert!(opaque
        .iter()
        .all(|[r, g, b, _]| *b > 200 && *r < 60 && *g < 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_the_text_is_drawn_literally() {
    let (_root, s) = server().await;
    let injected = r#"<span foreground="red" size="xx-large">x</span>"#;
    let reply = get_ok(&s, &format!("txt={}&txtsize=32", enc(injected))).await;
    let img = rgba(&reply);
    let plain = rgba(&get_ok(&s, "txt=x&txtsize=32").await);
    // Every character of the tag is drawn, so the banner is far wider than "x" alone ...
    assert!(
        img.width() > 10 * plain.width(),
        "{} vs {}",
        img.width(),
        plain.width()
    );
    // ... and in the default black: the span's red was not applied.
    for p in img.pixels().filter(|p| inked(p)) {
        let [r, g, b, _] = p.0;
        assert!(
            r.abs_diff(g) < 30 && g.abs_diff(b) < 30,
            "grey ink, not red: {r},{g},{b}"
        );
    }
    // Entities stay literal too, and a lone '<' or '&' is no markup error.
    for text in ["&amp; &lt;", "a < b & c", "<b>", "&#x4e00;"] {
        get_ok(&s, &format!("txt={}", enc(text))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_are_refused_naming_the_parameter() {
    let (_root, s) = server().await;
    let long = "x".repeat(501);
    let cases = [
        ("w=100".to_string(), "txt"),
        ("txt=".to_string(), "txt"),
        (format!("txt={long}"), "txt"),
        (format!("txt={}&txtsize=512", "x".repeat(300)), "txt"),
        ("txt=a%07b".to_string(), "txt"),
        ("txt=a&txtsize=5".to_string(), "txtsize"),
        ("txt=a&txtsize=513".to_string(), "txtsize"),
        ("txt=a&txtcolor=red".to_string(), "txtcolor"),
        ("txt=a&txtpos=middle".to_string(), "txtpos"),
        ("txt=a&txtfont=Sans%3Cb%3E".to_string(), "txtfont"),
        ("txt=a&txtfont=Sans%2012px".to_string(), "txtfont"),
        ("txt=a&txtwidth=0".to_string(), "txtwidth"),
        ("txt=a&txtalign=justify".to_string(), "txtalign"),
        ("txt=a&txtmargin=-3".to_string(), "txtmargin"),
        ("txt=a&txtbg=blue".to_string(), "txtbg"),
        ("txt=a&w=0".to_string(), "w"),
        ("txt=a&h=8193".to_string(), "h"),
        ("txt=a&bg=12".to_string(), "bg"),
        ("txt=a&fm=bmp".to_string(), "fm"),
        ("txt=a&q=101".to_string(), "q"),
    ];
    for (query, name) in cases {
        let reply = s.get(&format!("/text?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.code(), "invalid_parameter", "{query}");
        assert!(
            reply.text().contains(&format!("'{name}'")),
            "{query}: {}",
            reply.text()
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    let unknown = s.get("/text?txt=a&src=x.jpg").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.text().contains("src"), "{}", unknown.text());
    // A canvas beyond --max-output-pixels (25 MP by default) is refused before anything is drawn.
    let huge = s.get("/text?txt=a&w=8000&h=8000").await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST);
    assert_eq!(huge.code(), "output_too_large");
    s.assert_healthy("/text?txt=still%20fine").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invisible_only_text_is_a_400_not_a_500() {
    let (_root, s) = server().await;
    // Zero-width space, two of them, BOM, word joiner, ZWJ with spaces, a variation selector.
    for txt in [
        "%E2%80%8B",
        "%E2%80%8B%E2%80%8B",
        "%EF%BB%BF",
        "%E2%81%A0",
        "%20%E2%80%8D%20",
        "%EF%B8%8F",
        "%E3%80%80%0A",
        // Drawn blank by fonts: the braille blank and the object replacement character.
        "%E2%A0%80",
        "%EF%BF%BC",
    ] {
        for route in ["/text?txt=", "/resize?src=x.jpg&w=10&txt="] {
            let reply = s.get(&format!("{route}{txt}")).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{route}{txt}: {}",
                reply.text()
            );
            assert_eq!(reply.code(), "invalid_parameter");
            assert!(reply.text().contains("'txt'"), "{}", reply.text());
        }
    }
    // Visible text around a zero-width character still renders.
    let joined = s.get("/text?txt=a%E2%80%8Bb").await;
    assert_eq!(joined.status, StatusCode::OK);
    s.assert_healthy("/text?txt=still%20fine").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banners_are_cached_with_etags_and_counted_under_their_route() {
    let (_root, s) = server().await;
    let query = "/text?txt=cached&w=300&h=100";
    let first = s.get(query).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("x-cache"), Some("MISS"));
    assert!(first
        .header("cache-control")
        .is_some_and(|v| v.starts_with("public, max-age=")));
    let etag = first.header("etag").expect("etag").to_string();
    // The same banner in another spelling (defaults explicit, order changed) is the same entry.
    let second = s
        .get("/text?h=100&fm=png&bg=fff&txtpos=center&w=300&txt=cached")
        .await;
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert_eq!(second.header("etag"), Some(etag.as_str()));
    assert_eq!(second.body, first.body);
    let revalidated = s.get_with(query, &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert!(revalidated.body.is_empty());
    let head = s.head(query).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-type"), Some("image/png"));
    assert!(head.body.is_empty());
    assert_eq!(
        s.metric("imgshield_http_requests_total{route=\"text\",status=\"2xx\"}")
            .await,
        3.0
    );
    assert_eq!(
        s.metric("imgshield_http_requests_total{route=\"text\",status=\"3xx\"}")
            .await,
        1.0
    );
    assert_eq!(
        s.metric("imgshield_transform_duration_seconds_count{engine=\"vips\",format=\"png\"}")
            .await,
        1.0,
        "one render for four requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fm_auto_negotiates_from_accept() {
    let (_root, s) = server().await;
    let webp = s
        .get_with("/text?txt=auto&fm=auto", &[("accept", "image/webp,*/*")])
        .await;
    assert_eq!(webp.status, StatusCode::OK);
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert_eq!(webp.header("vary"), Some("Accept"));
    let legacy = s
        .get_with("/text?txt=auto&fm=auto", &[("accept", "*/*")])
        .await;
    assert_eq!(legacy.header("content-type"), Some("image/png"));
    assert_eq!(
        legacy.header("x-cache"),
        Some("MISS"),
        "another entry per format"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_banners_must_be_signed() {
    let root = tempfile::tempdir().expect("root");
    let secret = "0123456789abcdef0123";
    let s = Server::start(root.path(), &["--secret", secret]).await;
    let unsigned = s.get("/text?txt=hi").await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    assert_eq!(unsigned.code(), "signature_required");
    let signer = imgshield::signature::Signer::new(&[secret.to_string()])
        .expect("valid")
        .expect("some");
    let sig = signer.sign("/text", "txt=hi");
    let signed = s.get(&format!("/text?txt=hi&sig={sig}")).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presets_only_server_renders_no_banners() {
    let root = tempfile::tempdir().expect("root");
    let s = Server::start(root.path(), &["--preset", "thumb=w=50", "--presets-only"]).await;
    let reply = s.get("/text?txt=hi").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("presets"), "{}", reply.text());
}
