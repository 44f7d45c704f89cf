//! Wrong results found by the attack on #14: requests that answered, or failed, with the wrong image.
//! Watermarks on animations, `meta=keep` on every decode path, small blur sigmas, and the alignment
//! of right-to-left text. Outputs are decoded by the `image` crate, never by the code under test.

mod common;

use common::Server;
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
    // With text as well, and with wmscale (a resized mark).
    let reply = b
        .ok("src=anim.gif&w=100&wm=mark.png&wmscale=0.3&txt=Hi&txtsize=10&txtpos=top-left")
        .await;
    assert_marked_frames(&reply.body, "scaled mark and text");
}
