//! The cases of the malformed corpus, grouped as the tests in `malformed.rs` use them, each with the
//! answer it must get and why.

use image::ImageFormat;

use crate::common;
use crate::corpus::{self, case, encoded, noise, Case, Expect, TOO_MANY_PIXELS, UNDECODABLE};

/// A valid file cut in half, and cut right after its header (`header_bytes`).
fn truncated(format: ImageFormat, ext: &str, header_bytes: usize) -> Vec<Case> {
    let whole = encoded(format, 256, 192);
    vec![
        case(
            &format!("half.{ext}"),
            whole[..whole.len() / 2].to_vec(),
            UNDECODABLE,
        ),
        case(
            &format!("header-only.{ext}"),
            whole[..header_bytes].to_vec(),
            UNDECODABLE,
        ),
    ]
}

pub(crate) fn truncated_jpegs() -> Vec<Case> {
    let jpeg = encoded(ImageFormat::Jpeg, 256, 192);
    // Cut right after the start-of-scan header: every table is there, no entropy-coded data.
    let sos = corpus::jpeg_marker(&jpeg, 0xDA);
    let scan_header = usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    truncated(ImageFormat::Jpeg, "jpg", sos + 2 + scan_header)
}

pub(crate) fn truncated_pngs() -> Vec<Case> {
    // Signature and IHDR only.
    truncated(ImageFormat::Png, "png", 33)
}

pub(crate) fn truncated_gifs() -> Vec<Case> {
    // Header and logical screen descriptor only.
    truncated(ImageFormat::Gif, "gif", 13)
}

pub(crate) fn truncated_webps() -> Vec<Case> {
    // RIFF header and the VP8L chunk header with its size fields.
    truncated(ImageFormat::WebP, "webp", 30)
}

pub(crate) fn garbage() -> Vec<Case> {
    let junk = noise(4096, 42);
    let with = |prefix: &[u8]| [prefix, &junk[..]].concat();
    // A GIF screen of 64x48 with no palette, then noise where the blocks should be.
    let gif_head = [b"GIF89a".as_slice(), &[64, 0, 48, 0, 0, 0, 0]].concat();
    vec![
        case("noise.jpg", junk.clone(), UNDECODABLE),
        case(
            "jpeg-soi-noise.jpg",
            with(&[0xFF, 0xD8, 0xFF, 0xE0]),
            UNDECODABLE,
        ),
        case(
            "png-signature-noise.png",
            with(b"\x89PNG\r\n\x1a\n"),
            UNDECODABLE,
        ),
        case("gif-screen-noise.gif", with(&gif_head), UNDECODABLE),
        case(
            "webp-riff-noise.webp",
            corpus::webp_container(&junk),
            UNDECODABLE,
        ),
    ]
}

pub(crate) fn empty() -> Vec<Case> {
    vec![
        case("empty.jpg", Vec::new(), UNDECODABLE),
        case("empty.png", Vec::new(), UNDECODABLE),
        case("empty", Vec::new(), UNDECODABLE),
        case("one-byte.jpg", vec![0xFF], UNDECODABLE),
    ]
}

pub(crate) fn wrong_magic() -> Vec<Case> {
    let jpeg = encoded(ImageFormat::Jpeg, 64, 48);
    vec![
        // The content decides, not the name: a real PNG called .jpg is a PNG.
        case(
            "png-bytes.jpg",
            encoded(ImageFormat::Png, 64, 48),
            Expect::Served(ImageFormat::Png),
        ),
        case(
            "text.png",
            b"just some text, named like a picture\n".to_vec(),
            UNDECODABLE,
        ),
        case(
            "jpeg-body-png-signature.png",
            [b"\x89PNG\r\n\x1a\n".as_slice(), &jpeg[2..]].concat(),
            UNDECODABLE,
        ),
    ]
}

pub(crate) fn huge_declared_sizes() -> Vec<Case> {
    vec![
        case(
            "png-65000.png",
            common::png_declaring(65_000, 65_000),
            TOO_MANY_PIXELS,
        ),
        case(
            "jpeg-65000.jpg",
            corpus::jpeg_declaring(65_000, 65_000),
            TOO_MANY_PIXELS,
        ),
        // libnsgif does not believe an absurd screen around a 1x1 frame and reports the frame's
        // extent (1x1, as `vipsheader` shows): harmless either way.
        case(
            "gif-screen-65535.gif",
            corpus::gif((65_535, 65_535), &[(0, 0, 1, 1)]),
            Expect::ServedOrRefused,
        ),
        case(
            "gif-frame-65535.gif",
            corpus::gif((65_535, 65_535), &[(0, 0, 65_535, 65_535)]),
            TOO_MANY_PIXELS,
        ),
        case(
            "gif-frame-over-screen.gif",
            corpus::gif((1, 1), &[(0, 0, 65_535, 65_535)]),
            TOO_MANY_PIXELS,
        ),
        // TIFF is an accepted loader too.
        case(
            "tiff-65000.tif",
            corpus::tiff(65_000, 65_000, &[0; 16]),
            TOO_MANY_PIXELS,
        ),
    ]
}

/// Below the pixel cap, so it gets decoded, but the data ends long before the declared size.
pub(crate) fn large_sizes_without_data() -> Vec<Case> {
    vec![
        case(
            "png-7000.png",
            common::png_declaring(7_000, 7_000),
            UNDECODABLE,
        ),
        case(
            "tiff-7000.tif",
            corpus::tiff(7_000, 7_000, &[0; 16]),
            UNDECODABLE,
        ),
        // The same TIFF builder with all its data: proves the refusals above are about the data.
        case(
            "tiff-8x8.tif",
            corpus::tiff(8, 8, &[128; 64]),
            Expect::Served(ImageFormat::Jpeg),
        ),
    ]
}

/// JPEGs whose entropy-coded data stops early but whose end marker is present: libjpeg calls that a
/// warning ("Corrupt JPEG data: premature end of data segment"), so `fail_on=error` lets it through
/// and the rest of the picture is filled with grey. Kept apart so the other tests stay green.
pub(crate) fn jpegs_ending_early_with_an_end_marker() -> Vec<Case> {
    let whole = encoded(ImageFormat::Jpeg, 256, 192);
    let cut_then_eoi = [&whole[..whole.len() / 2], &[0xFF, 0xD9]].concat();
    vec![
        case("half-then-eoi.jpg", cut_then_eoi, UNDECODABLE),
        // A 64x48 scan under a header that says 7000x7000 (under the pixel cap).
        case(
            "jpeg-7000.jpg",
            corpus::jpeg_declaring(7_000, 7_000),
            UNDECODABLE,
        ),
    ]
}

pub(crate) fn bad_checksums() -> Vec<Case> {
    vec![
        case(
            "bad-ihdr-crc.png",
            corpus::png_with_bad_crc(b"IHDR"),
            UNDECODABLE,
        ),
        case(
            "bad-idat-crc.png",
            corpus::png_with_bad_crc(b"IDAT"),
            UNDECODABLE,
        ),
    ]
}

pub(crate) fn broken_jpeg_segments() -> Vec<Case> {
    let exif = corpus::absurd_exif();
    let exif_len = u16::try_from(exif.len() + 2).expect("small");
    vec![
        // The segment claims 64 KiB, far past the end of the file.
        case(
            "app1-65535.jpg",
            corpus::jpeg_with_app1(0xFFFF, b"Exif\0\0"),
            UNDECODABLE,
        ),
        // A length below 2 cannot even cover itself; libjpeg skips nothing and reads on, and the
        // picture behind it is intact.
        case(
            "app1-length-1.jpg",
            corpus::jpeg_with_app1(1, b""),
            Expect::Served(ImageFormat::Jpeg),
        ),
        // Well framed, nonsense inside: metadata is dropped anyway, the pixels are intact.
        case(
            "absurd-exif.jpg",
            corpus::jpeg_with_app1(exif_len, &exif),
            Expect::Served(ImageFormat::Jpeg),
        ),
    ]
}

pub(crate) fn frame_bomb() -> Vec<Case> {
    vec![
        // 2000 frames on a 1000x1000 screen: 2 gigapixels if every frame were composed; refused
        // from the header by the default `--max-frames` of 1000.
        case(
            "frame-bomb.gif",
            corpus::gif_frame_bomb(1000, 2000),
            Expect::Refused(422, "source_too_many_frames"),
        ),
        // The same construction under the cap: served, still animated, as a GIF.
        case(
            "twenty-frames.gif",
            corpus::gif_frame_bomb(1000, 20),
            Expect::Served(ImageFormat::Gif),
        ),
    ]
}

/// A progressive JPEG of 1891 valid scans (4000×4000, 180 KB): libjpeg decodes every scan in one
/// call the kill flag cannot reach (~3 s of CPU here), so it is refused from its markers.
pub(crate) fn scan_heavy() -> Vec<Case> {
    vec![case(
        "scan-heavy.jpg",
        imgshield::samples::scan_heavy_jpeg(4000, 4000, 9),
        Expect::Refused(422, "source_too_complex"),
    )]
}

pub(crate) fn all_cases() -> Vec<Case> {
    [
        truncated_jpegs(),
        truncated_pngs(),
        truncated_gifs(),
        truncated_webps(),
        garbage(),
        empty(),
        wrong_magic(),
        huge_declared_sizes(),
        large_sizes_without_data(),
        bad_checksums(),
        broken_jpeg_segments(),
        frame_bomb(),
        scan_heavy(),
    ]
    .concat()
}
