//! Wrong results found by the attack on #14: requests that answered, or failed, with the wrong image.
//! Watermarks on animations, `meta=keep` on every decode path, small blur sigmas, and the alignment
//! of right-to-left text. Outputs are decoded by the `image` crate, never by the code under test.

mod common;

use common::{with_exif, Server};
use http::StatusCode;
use image::{AnimationDecoder, ImageFormat, Rgba, RgbaImage};

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 30];
const BLUE: [u8; 3] = [30, 30, 220];
const MAGENTA: [u8; 3] = [255, 0, 255];

fn encode(image: &RgbaImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => image::DynamicImage::ImageRgba8(image.clone())
            .to_rgb8()
            .write_to(&mut out, format),
        _ => image.write_to(&mut out, format),
    }
    .expect("encode fixture");
    out.into_inner()
}

/// A three-frame animated GIF: red, green, blue frames of 100×640, tall enough that a watermark read
/// once per frame goes past the window a sequential loader keeps.
fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .expect("repeat");
        for c in [RED, GREEN, BLUE] {
            let frame = RgbaImage::from_pixel(100, 640, Rgba([c[0], c[1], c[2], 255]));
            encoder
                .encode_frame(image::Frame::from_parts(
                    frame,
                    0,
                    0,
                    image::Delay::from_numer_denom_ms(100, 1),
                ))
                .expect("frame");
        }
    }
    out
}

struct Bench {
    dir: tempfile::TempDir,
    server: Server,
}

async fn bench(extra: &[&str]) -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).expect("write fixture");
    };
    write("anim.gif", &animated_gif());
    // 30×600: at its own size (no resize) the loader hands out its rows once, in order.
    let mark = RgbaImage::from_pixel(30, 600, Rgba([255, 0, 255, 255]));
    write("mark.png", &encode(&mark, ImageFormat::Png));
    write("mark.jpg", &encode(&mark, ImageFormat::Jpeg));
    let server = Server::start(dir.path(), extra).await;
    Bench { dir, server }
}

impl Bench {
    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.path().join(name), bytes).expect("write fixture");
    }

    async fn ok(&self, query: &str) -> common::Reply {
        let reply = self.server.get(&format!("/resize?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        reply
    }
}

fn near(pixel: &Rgba<u8>, expected: [u8; 3], tolerance: u8) -> bool {
    pixel
        .0
        .iter()
        .zip(expected)
        .all(|(a, b)| a.abs_diff(b) <= tolerance)
}

fn assert_colour(image: &RgbaImage, x: u32, y: u32, expected: [u8; 3], what: &str) {
    let pixel = image.get_pixel(x, y);
    assert!(
        near(pixel, expected, 45),
        "{what}: pixel ({x},{y}) is {:?}, expected about {expected:?}",
        pixel.0
    );
}

fn frames(bytes: &[u8]) -> Vec<RgbaImage> {
    let frames = match image::guess_format(bytes).expect("a known format") {
        ImageFormat::Gif => image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes))
            .expect("a GIF")
            .into_frames()
            .collect_frames(),
        ImageFormat::WebP => image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(bytes))
            .expect("a WebP")
            .into_frames()
            .collect_frames(),
        other => panic!("not an animation format: {other:?}"),
    };
    frames
        .expect("frames")
        .into_iter()
        .map(|f| f.into_buffer())
        .collect()
}

/// Every frame keeps its own colour and carries the mark in its bottom-right corner.
fn assert_marked_frames(bytes: &[u8], what: &str) {
    let frames = frames(bytes);
    assert_eq!(frames.len(), 3, "{what}: still animated");
    for (i, (frame, colour)) in frames.iter().zip([RED, GREEN, BLUE]).enumerate() {
        assert_eq!(frame.dimensions(), (100, 640), "{what}: frame {i}");
        assert_colour(frame, 10, 10, colour, &format!("{what}: frame {i}"));
        assert_colour(
            frame,
            90,
            620,
            MAGENTA,
            &format!("{what}: mark on frame {i}"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermarks_are_laid_on_every_frame_of_an_animation() {
    let b = bench(&[]).await;
    for mark in ["mark.png", "mark.jpg"] {
        for fm in ["gif", "webp"] {
            let reply = b.ok(&format!("src=anim.gif&w=100&wm={mark}&fm={fm}")).await;
            assert_marked_frames(&reply.body, &format!("{mark} on GIF as {fm}"));
        }
    }
    // An animated WebP source (made from the GIF) is marked the same way.
    let webp = b.ok("src=anim.gif&w=100&fm=webp").await;
    b.write("anim.webp", &webp.body);
    let reply = b.ok("src=anim.webp&w=100&wm=mark.png").await;
    assert_eq!(reply.header("content-type"), Some("image/webp"));
    assert_marked_frames(&reply.body, "mark on WebP");
    // With text on a box as well, and with wmscale (a resized mark).
    let reply = b
        .ok("src=anim.gif&w=100&wm=mark.png&wmscale=0.3&txt=Hi&txtsize=10&txtpos=top-left&txtbg=fff")
        .await;
    assert_marked_frames(&reply.body, "scaled mark and text");
}

/// The EXIF orientation value in `bytes` (either byte order), if an Orientation entry is there.
fn exif_orientation(bytes: &[u8]) -> Option<u16> {
    let le = [0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00];
    let be = [0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01];
    bytes.windows(10).find_map(|w| {
        if w[..8] == le {
            Some(u16::from_le_bytes([w[8], w[9]]))
        } else if w[..8] == be {
            Some(u16::from_be_bytes([w[8], w[9]]))
        } else {
            None
        }
    })
}

fn contains(bytes: &[u8], text: &[u8]) -> bool {
    bytes.windows(text.len()).any(|w| w == text)
}

/// `meta=keep` keeps EXIF on every decode path: the plain thumbnail, the draft decode, and the
/// derivative cache (a kept decode of the JPEG, made and hit). The pixels come out upright and the
/// kept EXIF does not ask for a second turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_keep_survives_every_decode_path() {
    let paths: [(&[&str], &str); 3] = [
        (&[], "derivative cache (draft rule)"),
        (
            &["--jpeg-shrink", "headroom"],
            "derivative cache (headroom rule)",
        ),
        (&["--derivative-cache-bytes", "0"], "draft decode"),
    ];
    for (extra, path) in paths {
        let b = bench(extra).await;
        // Stored 1200×800, EXIF says "rotate 90° clockwise": displayed 800×1200.
        let photo = with_exif(&common::photo_jpeg(1200, 800), 6, Some("secret place"));
        b.write("photo.jpg", &photo);
        // 800 needs a full decode (the thumbnail path); the smaller ones take the path under test,
        // the later ones hitting what the earlier ones kept.
        for w in [800, 400, 100, 90, 80] {
            for fm in ["jpeg", "webp", "png", "avif"] {
                let query = format!("src=photo.jpg&w={w}&fm={fm}&meta=keep");
                let body = b.ok(&query).await.body;
                let what = format!("{path}: {query}");
                assert!(contains(&body, b"secret place"), "{what}: EXIF kept");
                let orientation = exif_orientation(&body);
                assert!(
                    matches!(orientation, None | Some(1)),
                    "{what}: {orientation:?}"
                );
                if fm != "avif" {
                    let size = image::load_from_memory(&body).expect("decodable output");
                    assert_eq!((size.width(), size.height()), (w, w * 3 / 2), "{what}");
                }
            }
        }
        if extra.is_empty() || extra[0] == "--jpeg-shrink" {
            let hits = b
                .server
                .metric("imgshield_derivative_cache_lookups_total{result=\"hit\"}")
                .await;
            assert!(hits > 0.0, "{path}: the derivative cache was used");
        }
    }
}

/// `meta=keep` keeps the ICC profile (converted to sRGB, so it is the sRGB one) in every format that
/// can hold one, on the shrunk and the full-size path. P3 sources made by the vips CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_keep_keeps_the_profile_in_every_format() {
    let b = bench(&[]).await;
    let teal = RgbaImage::from_pixel(640, 640, Rgba([0, 200, 120, 255]));
    b.write("teal.png", &encode(&teal, ImageFormat::Png));
    for src in ["p3.jpg", "p3.webp"] {
        let made = std::process::Command::new("vips")
            .args([
                "icc_transform",
                "teal.png",
                src,
                "p3",
                "--input-profile",
                "srgb",
            ])
            .current_dir(b.dir.path())
            .status()
            .expect("the vips CLI (libvips-tools) runs");
        assert!(made.success());
        let markers: [(&str, &[u8]); 4] = [
            ("jpeg", b"ICC_PROFILE"),
            ("webp", b"ICCP"),
            ("png", b"iCCP"),
            ("avif", b"rICC"),
        ];
        for w in [640, 100] {
            for (fm, marker) in markers {
                let query = format!("src={src}&w={w}&fm={fm}&meta=keep");
                assert!(contains(&b.ok(&query).await.body, marker), "{query}");
            }
        }
    }
}

/// 64×64 grey noise between 64 and 191 (a fixed LCG): every sigma leaves a mark on it, and there is
/// room for sharpening to push values apart.
fn noise() -> RgbaImage {
    let mut state = 0x2545_f491_u32;
    RgbaImage::from_fn(64, 64, |_, _| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let v = 64 + (state >> 25) as u8;
        Rgba([v, v, v, 255])
    })
}

/// The mean absolute difference between horizontal neighbours: lower is smoother.
fn detail(image: &RgbaImage) -> f64 {
    let mut sum = 0u64;
    for y in 0..image.height() {
        for x in 1..image.width() {
            let (a, b) = (image.get_pixel(x - 1, y), image.get_pixel(x, y));
            sum += u64::from(a.0[0].abs_diff(b.0[0]));
        }
    }
    sum as f64 / f64::from(image.height() * (image.width() - 1))
}

/// Every documented blur sigma blurs, from the smallest (0.3) up, and a larger one blurs more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_blur_sigmas_blur_and_more_blurs_more() {
    let b = bench(&[]).await;
    b.write("noise.png", &encode(&noise(), ImageFormat::Png));
    let decode = |body: &[u8]| image::load_from_memory(body).expect("a PNG").to_rgba8();
    let mut before = detail(&decode(&b.ok("src=noise.png&w=64&fm=png").await.body));
    for sigma in ["0.3", "0.4", "0.5", "0.55", "0.6", "0.8", "1", "2", "5"] {
        let out = decode(
            &b.ok(&format!("src=noise.png&w=64&fm=png&blur={sigma}"))
                .await
                .body,
        );
        let now = detail(&out);
        assert!(
            now < before,
            "blur={sigma}: detail {now:.3}, not below {before:.3}"
        );
        before = now;
    }
}

/// The column range (first, last) of ink (pixels darker than 128) in each line of a dark-on-white
/// image, the lines being the bands of inked rows between blank ones.
fn line_extents(image: &RgbaImage) -> Vec<(u32, u32)> {
    let inked = |x: u32, y: u32| image.get_pixel(x, y).0[0] < 128;
    let mut lines = Vec::new();
    let mut current: Option<(u32, u32)> = None;
    for y in 0..image.height() {
        let row = (0..image.width()).filter(|&x| inked(x, y));
        let span = row.fold(None, |span: Option<(u32, u32)>, x| match span {
            None => Some((x, x)),
            Some((a, b)) => Some((a.min(x), b.max(x))),
        });
        current = match (current, span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (None, span) => span,
            (Some(line), None) => {
                lines.push(line);
                None
            }
        };
    }
    lines.extend(current);
    lines
}

/// Asserts that the lines' ink lines up as `align` says (edges or centres within a few pixels), and
/// that the lines really differ in length (so a wrong alignment would show).
fn assert_aligned(lines: &[(u32, u32)], align: &str, what: &str) {
    let widths: Vec<u32> = lines.iter().map(|&(a, b)| b - a).collect();
    let (shortest, longest) = (widths.iter().min(), widths.iter().max());
    assert!(
        lines.len() >= 2 && longest.zip(shortest).is_some_and(|(l, s)| l - s > 40),
        "{what}: lines of different lengths expected, got {lines:?}"
    );
    let anchor = |&(a, b): &(u32, u32)| match align {
        "left" => a,
        "right" => b,
        _ => (a + b) / 2,
    };
    let anchors: Vec<u32> = lines.iter().map(anchor).collect();
    let spread = anchors.iter().max().zip(anchors.iter().min());
    assert!(
        spread.is_some_and(|(max, min)| max - min <= 6),
        "{what}: {align}-aligned lines at {lines:?}"
    );
}

/// `txtalign` is where the lines go on the page, whatever their script's direction: Arabic and
/// Hebrew lines align like English ones, also mixed with them, also when wrapped, on `/text` and
/// on `/resize`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_alignment_holds_for_right_to_left_lines() {
    let b = bench(&[]).await;
    let white = RgbaImage::from_pixel(500, 300, Rgba([255, 255, 255, 255]));
    b.write("white.png", &encode(&white, ImageFormat::Png));
    let texts = [
        ("english", "Hello big wide world\nHello", ""),
        ("arabic", "مرحبا بالعالم الكبير\nمرحبا", ""),
        ("hebrew", "שלום עולם גדול ורחב\nשלום", ""),
        ("mixed", "Summer sale\nتخفيض كبير جدا اليوم\n50%", ""),
        ("wrapped", "مرحبا بالعالم الكبير جدا اليوم", "&txtwidth=300"),
    ];
    for (name, text, extra) in texts {
        let txt: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
        for align in ["left", "center", "right"] {
            let style = format!("txt={txt}&txtalign={align}&txtsize=30{extra}&fm=png");
            let banner = b.server.get(&format!("/text?{style}&w=500&h=300")).await;
            assert_eq!(banner.status, StatusCode::OK, "{name}: {}", banner.text());
            let image = image::load_from_memory(&banner.body)
                .expect("PNG")
                .to_rgba8();
            assert_aligned(&line_extents(&image), align, &format!("/text {name}"));
            let overlay = b.ok(&format!("src=white.png&txtpos=center&{style}")).await;
            let image = image::load_from_memory(&overlay.body)
                .expect("PNG")
                .to_rgba8();
            assert_aligned(&line_extents(&image), align, &format!("/resize {name}"));
        }
    }
}
