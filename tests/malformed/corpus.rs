//! The malformed-input corpus, built in memory from images the `image` crate encodes (not the code
//! under test), so no binary file is committed and every case says how it was broken.

use image::{ImageFormat, RgbImage};

/// What a case must get from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// This status and JSON error code, never cached.
    Refused(u16, &'static str),
    /// 200 with a valid image of this format: the content, not the name, decides (or only broken
    /// metadata was dropped).
    Served(ImageFormat),
    /// Either a valid image or a 4xx error with a code: both are safe, as long as it is prompt.
    ServedOrRefused,
}

/// One file of the corpus: written as `name` below the server's root.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub name: String,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

pub(crate) const UNDECODABLE: Expect = Expect::Refused(422, "undecodable_source");
pub(crate) const TOO_MANY_PIXELS: Expect = Expect::Refused(422, "source_too_many_pixels");

pub(crate) fn case(name: &str, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name: name.to_string(),
        bytes,
        expect,
    }
}

/// Deterministic noise (xorshift): the same "garbage" on every run.
pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A photo-like RGB picture with edges and noise, so every encoder has real data to write.
fn picture(width: u32, height: u32) -> RgbImage {
    let grain = noise((width * height) as usize, 7);
    RgbImage::from_fn(width, height, |x, y| {
        let g = grain[(y * width + x) as usize] % 32;
        image::Rgb([
            (x * 255 / width) as u8 ^ g,
            (y * 255 / height) as u8,
            if (x / 16 + y / 16) % 2 == 0 {
                200
            } else {
                40 + g
            },
        ])
    })
}

/// `picture` encoded by the `image` crate (lossless WebP: the only WebP it writes).
pub(crate) fn encoded(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(picture(width, height))
        .write_to(&mut out, format)
        .expect("the image crate encodes the picture");
    out.into_inner()
}

/// The offset of the first JPEG marker `marker` (0xFFxx) after SOI.
pub(crate) fn jpeg_marker(jpeg: &[u8], marker: u8) -> usize {
    jpeg.windows(2)
        .skip(2)
        .position(|w| w == [0xFF, marker])
        .map(|p| p + 2)
        .expect("the marker is present")
}

/// A baseline JPEG whose SOF0 header claims `width`×`height`; the scan still holds the real data.
pub(crate) fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = encoded(ImageFormat::Jpeg, 64, 48);
    // FFC0, length (2), precision (1), then height and width, big-endian.
    let sof = jpeg_marker(&jpeg, 0xC0);
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// A JPEG with an APP1 segment right after SOI whose length field says `length` while only
/// `payload` follows it.
pub(crate) fn jpeg_with_app1(length: u16, payload: &[u8]) -> Vec<u8> {
    let jpeg = encoded(ImageFormat::Jpeg, 64, 48);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An EXIF payload that is well framed but nonsense inside: an IFD claiming 65535 entries, whose
/// orientation entry points far outside the segment.
pub(crate) fn absurd_exif() -> Vec<u8> {
    let mut exif = b"Exif\0\0II*\0".to_vec();
    exif.extend_from_slice(&8u32.to_le_bytes()); // first IFD at 8
    exif.extend_from_slice(&0xFFFFu16.to_le_bytes()); // 65535 entries (one present)
    exif.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    exif.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    exif.extend_from_slice(&0x4000_0000u32.to_le_bytes()); // a billion values
    exif.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes()); // stored at 4 GiB
    exif.extend_from_slice(&0xFFFF_FFFFu32.to_le_bytes()); // next IFD nowhere
    exif
}

/// Byte ranges of the PNG chunk `kind`: (start of the chunk, start of its CRC).
pub(crate) fn png_chunk(png: &[u8], kind: &[u8; 4]) -> (usize, usize) {
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]) as usize;
        if &png[at + 4..at + 8] == kind {
            return (at, at + 8 + len);
        }
        at += 12 + len;
    }
    panic!("no {kind:?} chunk");
}

/// A PNG whose chunk `kind` has a wrong CRC (data intact).
pub(crate) fn png_with_bad_crc(kind: &[u8; 4]) -> Vec<u8> {
    let mut png = encoded(ImageFormat::Png, 64, 48);
    let (_, crc) = png_chunk(&png, kind);
    png[crc] ^= 0x5A;
    png
}

/// One 1×1 GIF frame's LZW data (minimum code size 2: clear, index 0, end).
const ONE_PIXEL_LZW: [u8; 5] = [0x02, 0x02, 0x44, 0x01, 0x00];

/// A GIF89a with a two-colour palette, a logical screen of `screen` and one 1×1 LZW image per
/// entry of `frames` (left, top, declared width, declared height), each with a 10 ms delay.
pub(crate) fn gif(screen: (u16, u16), frames: &[(u16, u16, u16, u16)]) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&screen.0.to_le_bytes());
    gif.extend_from_slice(&screen.1.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0]); // global palette of 2 entries
    gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    if frames.len() > 1 {
        // NETSCAPE2.0 loop extension: an animation, looping forever.
        gif.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
    }
    for &(left, top, width, height) in frames {
        gif.extend_from_slice(&[0x21, 0xF9, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00]);
        gif.push(0x2C);
        for v in [left, top, width, height] {
            gif.extend_from_slice(&v.to_le_bytes());
        }
        gif.push(0);
        gif.extend_from_slice(&ONE_PIXEL_LZW);
    }
    gif.push(0x3B);
    gif
}

/// `count` 1×1 frames scattered over a `side`×`side` screen: cheap to store, expensive to render
/// if every frame were composed on a full canvas.
pub(crate) fn gif_frame_bomb(side: u16, count: usize) -> Vec<u8> {
    let frames: Vec<_> = (0..count)
        .map(|i| {
            let i = u16::try_from(i % usize::from(side)).expect("fits");
            (i, side - 1 - i, 1, 1)
        })
        .collect();
    gif((side, side), &frames)
}

/// A RIFF/WEBP container with a `VP8 ` chunk of `payload`.
pub(crate) fn webp_container(payload: &[u8]) -> Vec<u8> {
    let mut webp = b"RIFF".to_vec();
    let size = u32::try_from(4 + 8 + payload.len()).expect("small");
    webp.extend_from_slice(&size.to_le_bytes());
    webp.extend_from_slice(b"WEBPVP8 ");
    webp.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_le_bytes());
    webp.extend_from_slice(payload);
    webp
}

/// A minimal little-endian, uncompressed, 8-bit grey TIFF declaring `width`×`height` in one strip,
/// of which only `data` is present.
pub(crate) fn tiff(width: u32, height: u32, data: &[u8]) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    let entries: [(u16, u16, u32); 9] = [
        (256, LONG, width),
        (257, LONG, height),
        (258, SHORT, 8),                           // bits per sample
        (259, SHORT, 1),                           // no compression
        (262, SHORT, 1),                           // black is zero
        (273, LONG, 0),                            // strip offset: patched below
        (277, SHORT, 1),                           // samples per pixel
        (278, LONG, height),                       // rows per strip
        (279, LONG, width.saturating_mul(height)), // strip byte count, as declared
    ];
    let data_at = u32::try_from(8 + 2 + entries.len() * 12 + 4).expect("small");
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&u16::try_from(entries.len()).expect("small").to_le_bytes());
    for (tag, kind, value) in entries {
        let value = if tag == 273 { data_at } else { value };
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(data);
    tiff
}

/// Found by the `decode` fuzz target (fuzz/): 85 bytes declaring a 1×27712 frame at y=21759 on a
/// 65535² screen, with no valid LZW data. libvips 8.14 sizes it 1×49471, and cropping its middle
/// (`fit=cover`) keeps the GIF loader busy for about 5 s of CPU.
pub(crate) fn slow_crop_gif() -> Vec<u8> {
    [
        b"GIF89a".as_slice(),
        &[0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0], // 65535x65535 screen, 2-colour global palette
        &[0, 0, 0x80, 0xFF, 0xFF, 0xFF],       // the global palette
        &[0x21, 0xF9, 0x04, 0, 0x01, 0, 0, 0], // graphic control extension
        &[0x2C, 0, 0, 0xFF, 0x54, 0x01, 0, 0x40, 0x6C, 0x98], // 1x27712 frame at (0, 21759)
        &[0, 0, 0, 1, 0, 1],                   // its local palette
        &[0],                                  // LZW minimum code size 0: nothing decodable
        &[0; 21],                              // the rest is the fuzzer's, kept as found
        &[0x09, 0, 0],
        &[0xFF; 9],
        &[0x7A],
        &[0xFF; 7],
    ]
    .concat()
}
