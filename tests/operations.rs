//! Every operation parameter of `/resize` against real libvips: the output is decoded (by the `image`
//! crate, not by the code under test) and checked by geometry, colour at known places, frame count
//! and format markers, always with tolerances, never byte-for-byte.

mod common;

use common::{with_exif, Server};
use http::StatusCode;
use image::{AnimationDecoder, ImageFormat, Rgba, RgbaImage};

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 30];
const BLUE: [u8; 3] = [30, 30, 220];
const YELLOW: [u8; 3] = [230, 220, 30];

/// Four flat quadrants: red top-left, green top-right, blue bottom-left, yellow bottom-right.
fn quadrants(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let c = match (x < width / 2, y < height / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => YELLOW,
        };
        Rgba([c[0], c[1], c[2], 255])
    })
}

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

/// A skin-toned checkerboard (high entropy, and what libvips' attention looks for: skin, edges)
/// near the right edge of a flat grey field.
fn busy_right(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let inside = x > width * 3 / 4 - 10 && x < width - 10 && y > 10 && y < height - 10;
        match (inside, (x / 8 + y / 8) % 2) {
            (true, 1) => Rgba([230, 150, 120, 255]),
            (true, _) => Rgba([40, 20, 10, 255]),
            (false, _) => Rgba([128, 128, 128, 255]),
        }
    })
}

/// A three-frame animated GIF: red, green, blue frames of 60×40.
fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .expect("repeat");
        for c in [RED, GREEN, BLUE] {
            let frame = RgbaImage::from_pixel(60, 40, Rgba([c[0], c[1], c[2], 255]));
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
    _dir: tempfile::TempDir,
    server: Server,
}

async fn bench(extra: &[&str]) -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).expect("write fixture");
    };
    let q = quadrants(200, 200);
    write("quad.png", &encode(&q, ImageFormat::Png));
    let stored = encode(&quadrants(64, 32), ImageFormat::Jpeg);
    for orientation in 1..=8u16 {
        write(
            &format!("orient-{orientation}.jpg"),
            &with_exif(&stored, orientation, Some("secret place")),
        );
    }
    let halves = RgbaImage::from_fn(200, 100, |x, _| {
        let c = if x < 100 { RED } else { BLUE };
        Rgba([c[0], c[1], c[2], 255])
    });
    write("halves.png", &encode(&halves, ImageFormat::Png));
    write("busy.png", &encode(&busy_right(400, 100), ImageFormat::Png));
    let framed = RgbaImage::from_fn(200, 200, |x, y| {
        if (60..110).contains(&x) && (70..110).contains(&y) {
            Rgba([0, 0, 0, 255])
        } else {
            Rgba([255, 255, 255, 255])
        }
    });
    write("framed.png", &encode(&framed, ImageFormat::Png));
    write("anim.gif", &animated_gif());
    write("photo.jpg", &common::photo_jpeg(600, 400));
    let white = RgbaImage::from_pixel(200, 100, Rgba([255, 255, 255, 255]));
    write("white.png", &encode(&white, ImageFormat::Png));
    let mark = RgbaImage::from_pixel(40, 20, Rgba([255, 0, 255, 255]));
    write("mark.png", &encode(&mark, ImageFormat::Png));
    let server = Server::start(dir.path(), extra).await;
    Bench { _dir: dir, server }
}

impl Bench {
    async fn ok(&self, query: &str) -> common::Reply {
        let reply = self.server.get(&format!("/resize?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        reply
    }

    async fn rgba(&self, query: &str) -> RgbaImage {
        let reply = self.ok(query).await;
        image::load_from_memory(&reply.body)
            .expect("decodable output")
            .to_rgba8()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exif_orientation_is_applied_and_the_tag_dropped() {
    let b = bench(&[]).await;
    // Which stored corner ends up top-left for each EXIF orientation.
    let top_left = [RED, GREEN, YELLOW, BLUE, RED, BLUE, YELLOW, GREEN];
    for (orientation, expected) in (1..=8).zip(top_left) {
        let query = format!("src=orient-{orientation}.jpg&w=32&fm=png");
        let out = b.rgba(&query).await;
        let (w, h) = if orientation >= 5 { (32, 64) } else { (32, 16) };
        assert_eq!(out.dimensions(), (w, h), "orientation {orientation}");
        assert_colour(&out, 2, 2, expected, &format!("orientation {orientation}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rot_and_flip_turn_the_auto_oriented_image() {
    let b = bench(&[]).await;
    let cases = [
        ("rot=90", BLUE),
        ("rot=180", YELLOW),
        ("rot=270", GREEN),
        ("flip=h", GREEN),
        ("flip=v", BLUE),
        ("flip=hv", YELLOW),
        ("rot=90&flip=h", RED),
    ];
    for (ops, expected) in cases {
        let out = b.rgba(&format!("src=quad.png&w=100&{ops}")).await;
        assert_eq!(out.dimensions(), (100, 100), "{ops}");
        assert_colour(&out, 5, 5, expected, ops);
    }
    // A rotation swaps the box: a 64×32 source at rot=90 is 32 wide, 64 high.
    let out = b.rgba("src=orient-1.jpg&rot=90&fm=png").await;
    assert_eq!(out.dimensions(), (32, 64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crop_cuts_the_source_before_resizing() {
    let b = bench(&[]).await;
    let out = b.rgba("src=quad.png&crop=100,0,100,100").await;
    assert_eq!(out.dimensions(), (100, 100));
    assert_colour(&out, 5, 5, GREEN, "top-right quadrant");
    assert_colour(&out, 95, 95, GREEN, "top-right quadrant");
    // Then resized: the 100×100 crop at w=40.
    let out = b.rgba("src=quad.png&crop=0,100,100,100&w=40").await;
    assert_eq!(out.dimensions(), (40, 40));
    assert_colour(&out, 20, 20, BLUE, "bottom-left quadrant");
    // A crop reaching past the edge keeps what there is.
    let out = b.rgba("src=quad.png&crop=150,150,100,100").await;
    assert_eq!(out.dimensions(), (50, 50));
    let reply = b.server.get("/resize?src=quad.png&crop=300,0,10,10").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "crop_outside_image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cover_keeps_the_part_pos_names() {
    let b = bench(&[]).await;
    // halves.png: red left half, blue right half, 200×100; a 50×50 cover keeps a 100×100 window.
    for (pos, expected) in [
        ("pos=left", RED),
        ("pos=right", BLUE),
        ("pos=top-left", RED),
        ("pos=east", BLUE),
        ("fx=0.95&fy=0.5", BLUE),
        ("fx=0.05", RED),
    ] {
        let out = b
            .rgba(&format!("src=halves.png&w=50&h=50&fit=cover&{pos}"))
            .await;
        assert_eq!(out.dimensions(), (50, 50), "{pos}");
        assert_colour(&out, 5, 25, expected, pos);
        assert_colour(&out, 45, 25, expected, pos);
    }
    // The focal point is marked on the image before rot/flip: it follows the pixels.
    let flipped = b
        .rgba("src=halves.png&w=50&h=50&fit=cover&fx=0.05&flip=h")
        .await;
    assert_colour(&flipped, 5, 25, RED, "flipped, left edge");
    assert_colour(&flipped, 45, 25, RED, "flipped, right edge");
    let turned = b
        .rgba("src=halves.png&w=50&h=50&fit=cover&fx=0.05&rot=90")
        .await;
    assert_colour(&turned, 25, 5, RED, "turned, top");
    assert_colour(&turned, 25, 45, RED, "turned, bottom");
    let centre = b.rgba("src=halves.png&w=50&h=50&fit=cover").await;
    assert_colour(&centre, 5, 25, RED, "centre, left edge");
    assert_colour(&centre, 45, 25, BLUE, "centre, right edge");
}

/// Mean absolute difference between horizontal neighbours: a measure of detail.
fn detail(image: &RgbaImage) -> f64 {
    let mut total = 0u64;
    let mut count = 0u64;
    for y in 0..image.height() {
        for x in 1..image.width() {
            let (a, b) = (image.get_pixel(x - 1, y), image.get_pixel(x, y));
            total += u64::from(a.0[0].abs_diff(b.0[0])) + u64::from(a.0[1].abs_diff(b.0[1]));
            count += 1;
        }
    }
    total as f64 / count as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smart_crops_find_the_busy_part() {
    let b = bench(&[]).await;
    let flat = b.rgba("src=busy.png&w=100&h=100&fit=cover").await;
    for strategy in ["entropy", "attention"] {
        let smart = b
            .rgba(&format!(
                "src=busy.png&w=100&h=100&fit=cover&pos={strategy}"
            ))
            .await;
        assert_eq!(smart.dimensions(), (100, 100));
        assert!(
            detail(&smart) > 4.0 * detail(&flat).max(1.0),
            "{strategy}: detail {} vs centre {}",
            detail(&smart),
            detail(&flat)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contain_padding_and_background() {
    let b = bench(&[]).await;
    let out = b
        .rgba("src=halves.png&w=100&h=100&fit=contain&bg=00ff00&fm=png")
        .await;
    assert_eq!(out.dimensions(), (100, 100));
    assert_colour(&out, 50, 2, [0, 255, 0], "canvas above");
    assert_colour(&out, 25, 50, RED, "image in the middle");
    let top = b
        .rgba("src=halves.png&w=100&h=100&fit=contain&bg=00ff00&pos=top&fm=png")
        .await;
    assert_colour(&top, 20, 2, RED, "image at the top");
    assert_colour(&top, 20, 97, [0, 255, 0], "canvas below");
    let translucent = b
        .rgba("src=halves.png&w=100&h=100&fit=contain&bg=0000ff80&fm=png")
        .await;
    assert!(translucent.get_pixel(50, 2).0[3].abs_diff(128) <= 2);
    // pad: 10 px all round, dpr doubles it.
    let padded = b.rgba("src=quad.png&w=50&pad=10&bg=ffffff&fm=png").await;
    assert_eq!(padded.dimensions(), (70, 70));
    assert_colour(&padded, 2, 2, [255, 255, 255], "padding");
    assert_colour(&padded, 12, 12, RED, "image");
    let padded = b
        .rgba("src=quad.png&w=50&pad=1,2,3,4&dpr=2&bg=fff&fm=png")
        .await;
    assert_eq!(padded.dimensions(), (100 + 12, 100 + 8));
    // JPEG has no alpha: a transparent canvas is flattened onto bg's colour.
    let jpeg = b.rgba("src=quad.png&w=50&pad=10&bg=ff000000&fm=jpeg").await;
    assert_colour(&jpeg, 2, 2, [255, 0, 0], "flattened onto bg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trim_removes_a_uniform_border() {
    let b = bench(&[]).await;
    let out = b.rgba("src=framed.png&trim=true").await;
    let (w, h) = out.dimensions();
    assert!(
        (50..=52).contains(&w) && (40..=42).contains(&h),
        "trimmed to {w}x{h}, expected about 50x40"
    );
    assert_colour(&out, w / 2, h / 2, [0, 0, 0], "content");
    // Then resized relative to the trimmed image.
    let out = b.rgba("src=framed.png&trim=10&w=25").await;
    assert_eq!(out.width(), 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blur_sharpen_and_gray_change_the_pixels() {
    let b = bench(&[]).await;
    let plain = b.rgba("src=photo.jpg&w=300&fm=png").await;
    let blurred = b.rgba("src=photo.jpg&w=300&fm=png&blur=3").await;
    let sharpened = b.rgba("src=photo.jpg&w=300&fm=png&sharpen=2").await;
    assert!(
        detail(&blurred) < 0.7 * detail(&plain),
        "blur lowers detail"
    );
    assert!(detail(&sharpened) > detail(&plain), "sharpen raises detail");
    // A greyscale image's canvas is the background's luma, not one of its channels.
    let canvas = b
        .rgba("src=halves.png&w=100&h=100&fit=contain&bg=00ff00&gray=1&fm=png")
        .await;
    assert_colour(&canvas, 50, 2, [182, 182, 182], "green canvas in grey");
    let gray = b.rgba("src=quad.png&w=50&gray=1&fm=png").await;
    for pixel in gray.pixels() {
        let [r, g, bl, _] = pixel.0;
        assert!(r == g && g == bl, "gray output has colour: {:?}", pixel.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpr_multiplies_the_box() {
    let b = bench(&[]).await;
    assert_eq!(b.ok("src=photo.jpg&w=100&dpr=2").await.image().1, 200);
    assert_eq!(b.ok("src=photo.jpg&w=100&dpr=1.5").await.image().1, 150);
    let reply = b.server.get("/resize?src=photo.jpg&w=5000&dpr=2").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("'dpr'"), "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoder_options_reach_the_file() {
    let b = bench(&[]).await;
    let baseline = b.ok("src=photo.jpg&w=200").await.body;
    let progressive = b.ok("src=photo.jpg&w=200&prog=1").await.body;
    let has_sof2 = |bytes: &[u8]| bytes.windows(2).any(|w| w == [0xFF, 0xC2]);
    assert!(has_sof2(&progressive) && !has_sof2(&baseline));
    // PNG colour type (byte 25): 3 is indexed.
    let palette = b.ok("src=quad.png&w=50&fm=png&palette=1").await.body;
    let truecolour = b.ok("src=quad.png&w=50&fm=png").await.body;
    assert_eq!((palette[25], truecolour[25] != 3), (3, true));
    let lossless = b.ok("src=quad.png&w=50&fm=webp&lossless=1").await.body;
    let lossy = b.ok("src=quad.png&w=50&fm=webp").await.body;
    let has = |bytes: &[u8], chunk: &[u8]| bytes.windows(4).any(|w| w == chunk);
    assert!(has(&lossless, b"VP8L") && !has(&lossy, b"VP8L"));
    let gif = b.ok("src=quad.png&w=50&fm=gif").await;
    assert_eq!(gif.header("content-type"), Some("image/gif"));
    assert_eq!(gif.image(), (ImageFormat::Gif, 50, 50));
}

fn gif_frames(bytes: &[u8]) -> Vec<RgbaImage> {
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).expect("a GIF");
    decoder
        .into_frames()
        .collect_frames()
        .expect("frames")
        .into_iter()
        .map(|f| f.into_buffer())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn animations_stay_animated_unless_anim_0() {
    let b = bench(&[]).await;
    let reply = b.ok("src=anim.gif&w=30").await;
    assert_eq!(reply.header("content-type"), Some("image/gif"));
    let frames = gif_frames(&reply.body);
    assert_eq!(frames.len(), 3);
    for (frame, colour) in frames.iter().zip([RED, GREEN, BLUE]) {
        assert_eq!(frame.dimensions(), (30, 20));
        assert_colour(frame, 15, 10, colour, "frame colour");
    }
    // Per-frame geometry: a cover crop and a rotation cut every frame alike.
    let frames = gif_frames(&b.ok("src=anim.gif&w=20&h=20&fit=cover&rot=90").await.body);
    assert_eq!(frames.len(), 3);
    assert!(frames.iter().all(|f| f.dimensions() == (20, 20)));
    // WebP holds animation too, and fm=auto picks it when the client takes WebP.
    let webp = b
        .server
        .get_with(
            "/resize?src=anim.gif&w=30&fm=auto",
            &[("accept", "image/webp,*/*")],
        )
        .await;
    assert_eq!(webp.header("content-type"), Some("image/webp"));
    assert!(webp.body.windows(4).any(|w| w == b"ANIM"), "animated WebP");
    // anim=0, or a format without animation, keeps the first frame only.
    let still = b.ok("src=anim.gif&w=30&anim=0").await;
    assert_eq!(gif_frames(&still.body).len(), 1);
    let png = b.rgba("src=anim.gif&w=30&fm=png").await;
    assert_eq!(png.dimensions(), (30, 20));
    assert_colour(&png, 15, 10, RED, "first frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_stripped_unless_kept() {
    let b = bench(&[]).await;
    let contains = |bytes: &[u8], text: &[u8]| bytes.windows(text.len()).any(|w| w == text);
    let stripped = b.ok("src=orient-6.jpg&w=32").await.body;
    assert!(!contains(&stripped, b"secret place"));
    let kept = b.ok("src=orient-6.jpg&w=32&meta=keep").await.body;
    assert!(contains(&kept, b"secret place"), "EXIF kept");
    // The pixels are upright already: the image crate (which ignores EXIF) sees a portrait.
    let (_, w, h) = b.ok("src=orient-6.jpg&w=32&meta=keep").await.image();
    assert_eq!((w, h), (32, 64));
    assert!(
        !contains(
            &kept,
            &[0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06]
        ),
        "the orientation tag no longer says 6"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_qualities_are_configurable_and_explicit_defaults_share_an_entry() {
    let b = bench(&[]).await;
    let low = bench(&["--quality-jpeg", "30"]).await;
    let default = b.ok("src=photo.jpg&w=300").await.body.len();
    let lowered = low.ok("src=photo.jpg&w=300").await.body.len();
    assert!(lowered < default * 3 / 4, "{lowered} vs {default} bytes");
    // q=80 on a fixed JPEG is the default: the same cache entry as no q.
    b.ok("src=photo.jpg&w=300&fm=jpeg").await;
    let again = b.ok("src=photo.jpg&w=300&fm=jpeg&q=80").await;
    assert_eq!(again.header("x-cache"), Some("HIT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_expand_and_can_be_required() {
    let b = bench(&[
        "--preset",
        "thumb=w=50&h=50&fit=cover",
        "--preset",
        "wide=w=120",
    ])
    .await;
    assert_eq!(b.ok("src=photo.jpg&p=thumb").await.image().1, 50);
    let (_, w, h) = b.ok("src=photo.jpg&p=thumb&w=80").await.image();
    assert_eq!((w, h), (80, 50), "the request overrides its preset");
    let reply = b.server.get("/resize?src=photo.jpg&p=nope").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("'p'"));

    let strict = bench(&["--preset", "wide=w=120", "--presets-only"]).await;
    assert_eq!(strict.ok("src=photo.jpg&p=wide").await.image().1, 120);
    let reply = strict.server.get("/resize?src=photo.jpg&w=10").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("'w'"), "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_are_refused_naming_the_parameter() {
    let b = bench(&[]).await;
    let cases = [
        ("w", "0"),
        ("h", "abc"),
        ("dpr", "0.5"),
        ("dpr", "5"),
        ("fit", "crop"),
        ("pos", "middle"),
        ("fx", "1.5"),
        ("fy", "-0.1"),
        ("enlarge", "yes"),
        ("crop", "1,2,3"),
        ("crop", "0,0,0,10"),
        ("trim", "255"),
        ("pad", "1,2"),
        ("pad", "5000"),
        ("bg", "red"),
        ("bg", "12345"),
        ("rot", "45"),
        ("flip", "d"),
        ("blur", "0.1"),
        ("blur", "1e3"),
        ("sharpen", "-1"),
        ("gray", "2"),
        ("fm", "bmp"),
        ("q", "0"),
        ("prog", "maybe"),
        ("palette", "x"),
        ("lossless", "2"),
        ("anim", "no"),
        ("meta", "all"),
        ("wm", "../x.png"),
        ("wmpos", "middle"),
        ("wmscale", "2"),
        ("wmopacity", "1.5"),
        ("wmmargin", "-3"),
        ("p", "missing"),
        ("engine", "gpu"),
    ];
    for (name, value) in cases {
        let extra = if name.starts_with("wm") && name != "wm" {
            "&wm=quad.png"
        } else {
            ""
        };
        let query = format!("/resize?src=quad.png&{name}={value}{extra}");
        let reply = b.server.get(&query).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            reply.text().contains(&format!("'{name}'")),
            "{query}: {}",
            reply.text()
        );
    }
}

/// Colour-managed sources come out in sRGB: a CMYK JPEG (jpeg-encoder, Adobe convention), a Display
/// P3 PNG (made by the vips CLI from an sRGB colour) and a 16-bit PNG.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_managed_sources_come_out_in_srgb() {
    let b = bench(&[]).await;
    let dir = b._dir.path();
    let mut cmyk = Vec::new();
    jpeg_encoder::Encoder::new(&mut cmyk, 95)
        .encode(
            &[255u8, 0, 0, 0].repeat(64 * 64),
            64,
            64,
            jpeg_encoder::ColorType::Cmyk,
        )
        .expect("cmyk jpeg");
    std::fs::write(dir.join("cmyk.jpg"), &cmyk).expect("write");
    let teal = RgbaImage::from_pixel(64, 64, Rgba([0, 200, 120, 255]));
    std::fs::write(dir.join("teal.png"), encode(&teal, ImageFormat::Png)).expect("write");
    let status = std::process::Command::new("vips")
        .args([
            "icc_transform",
            "teal.png",
            "p3.png",
            "p3",
            "--input-profile",
            "srgb",
        ])
        .current_dir(dir)
        .status()
        .expect("the vips CLI (libvips-tools) runs");
    assert!(status.success());
    let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
        64,
        64,
        image::Rgb([0, 200 * 257, 120 * 257]),
    );
    deep.save(dir.join("deep.png")).expect("16-bit png");
    // The P3 file really holds other numbers than the sRGB colour it shows.
    let raw = image::open(dir.join("p3.png")).expect("p3").to_rgba8();
    assert!(
        !near(raw.get_pixel(5, 5), [0, 200, 120], 20),
        "{:?}",
        raw.get_pixel(5, 5)
    );

    // SWOP/FOGRA process cyan is about (0, 158, 224) in sRGB.
    for fm in ["png", "jpeg", "webp"] {
        let out = b.rgba(&format!("src=cmyk.jpg&w=32&fm={fm}")).await;
        assert_colour(&out, 5, 5, [0, 158, 224], &format!("CMYK cyan as {fm}"));
        for src in ["p3.png", "deep.png"] {
            let out = b.rgba(&format!("src={src}&w=32&fm={fm}")).await;
            let pixel = out.get_pixel(5, 5);
            assert!(
                near(pixel, [0, 200, 120], 8),
                "{src} as {fm}: {:?}",
                pixel.0
            );
        }
    }
    // Kept metadata keeps a (now sRGB) profile; either way the numbers are sRGB.
    let kept = b.ok("src=p3.png&w=32&fm=png&meta=keep").await.body;
    assert!(kept.windows(4).any(|w| w == b"iCCP"));
}

/// The share of pixels in the rectangle that differ from white by more than `threshold`.
fn ink(image: &RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let mut inked = 0u32;
    for y in y0..y1 {
        for x in x0..x1 {
            if !near(image.get_pixel(x, y), [255, 255, 255], 60) {
                inked += 1;
            }
        }
    }
    f64::from(inked) / f64::from((x1 - x0) * (y1 - y0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermarks_are_placed_sized_and_faded() {
    let b = bench(&["--allow-engine-param"]).await;
    const MAGENTA: [u8; 3] = [255, 0, 255];
    // white.png is 200x100, mark.png a 40x20 magenta block.
    let out = b
        .rgba("src=white.png&wm=mark.png&wmpos=bottom-right&wmmargin=10&fm=png")
        .await;
    assert_eq!(out.dimensions(), (200, 100));
    assert_colour(&out, 170, 80, MAGENTA, "inside the mark");
    assert_colour(&out, 145, 80, [255, 255, 255], "left of the mark");
    assert_colour(&out, 195, 95, [255, 255, 255], "in the margin");
    let top_left = b
        .rgba("src=white.png&wm=mark.png&wmpos=top-left&fm=png")
        .await;
    assert_colour(&top_left, 2, 2, MAGENTA, "top-left, no margin");
    let faded = b
        .rgba("src=white.png&wm=mark.png&wmpos=center&wmopacity=0.5&fm=png")
        .await;
    assert_colour(&faded, 100, 50, [255, 128, 255], "half opacity");
    // wmscale: half the output width, keeping the mark's aspect ratio.
    let scaled = b
        .rgba("src=white.png&wm=mark.png&wmscale=0.5&wmpos=bottom-right&fm=png")
        .await;
    assert_colour(&scaled, 105, 55, MAGENTA, "scaled mark's top-left corner");
    assert_colour(&scaled, 95, 45, [255, 255, 255], "outside the scaled mark");
    // A missing watermark file is answered like a missing source: the client named it.
    let reply = b.server.get("/resize?src=white.png&wm=nope.png").await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    // The Rust engine names what it cannot do.
    let reply = b
        .server
        .get("/resize?src=white.png&wm=mark.png&engine=rust")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    assert!(reply.text().contains("wm"), "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_is_drawn_onto_resized_images_and_every_frame() {
    let b = bench(&[]).await;
    let out = b
        .rgba("src=white.png&txt=%E4%BD%A0%E5%A5%BD&txtsize=40&txtcolor=ff0000&txtpos=top-left&txtmargin=4&fm=png")
        .await;
    assert_eq!(out.dimensions(), (200, 100));
    assert!(ink(&out, 0, 0, 100, 50) > 0.05, "ink top-left");
    assert_eq!(ink(&out, 120, 60, 200, 100), 0.0, "no ink bottom-right");
    let red = out
        .pixels()
        .filter(|p| !near(p, [255, 255, 255], 60))
        .all(|p| p.0[0] > p.0[1].saturating_add(60));
    assert!(red, "the ink is red");
    let frames = gif_frames(&b.ok("src=anim.gif&w=60&txt=Hi&txtsize=12").await.body);
    assert_eq!(frames.len(), 3, "text keeps the animation");
    let reply = b.server.get("/resize?src=white.png&txtsize=20").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text().contains("'txtsize'"), "{}", reply.text());
}

/// TIFF and HEIF/AVIF sources load where libvips can read them (files made by the vips CLI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiff_and_heif_sources_are_read() {
    let b = bench(&[]).await;
    let dir = b._dir.path();
    let made = |args: &[&str]| {
        std::process::Command::new("vips")
            .args(args)
            .current_dir(dir)
            .status()
            .expect("the vips CLI (libvips-tools) runs")
            .success()
    };
    assert!(made(&["copy", "quad.png", "quad.tif"]));
    let out = b.rgba("src=quad.tif&w=100&fm=png").await;
    assert_eq!(out.dimensions(), (100, 100));
    assert_colour(&out, 5, 5, RED, "TIFF top-left");
    assert_colour(&out, 95, 95, YELLOW, "TIFF bottom-right");
    // A TIFF has no web family of its own: JPEG, or PNG when it has alpha (this one has a band).
    assert_eq!(b.ok("src=quad.tif&w=50").await.image().0, ImageFormat::Png);
    if made(&[
        "heifsave",
        "quad.png",
        "quad.avif",
        "--compression",
        "av1",
        "--effort",
        "0",
    ]) {
        let out = b.rgba("src=quad.avif&w=100&fm=png").await;
        assert_eq!(out.dimensions(), (100, 100));
        assert_colour(&out, 5, 5, RED, "AVIF top-left");
    }
}
