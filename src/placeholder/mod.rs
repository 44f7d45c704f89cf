//! What a web page shows while an image loads: its dominant colour and a BlurHash, computed from
//! the pixels of a small thumbnail. Pure maths (no libvips, no I/O) so it is unit-tested on its own;
//! `engine::info` makes the thumbnail.
//!
//! - **Dominant colour**, as sharp's `stats().dominant` defines it rather than the mean (the mean of
//!   a red logo on a blue field is a purple that appears nowhere): pixels go into a 16×16×16
//!   histogram of their sRGB values and the answer is the average colour of the fullest bin.
//!   Pixels less than a quarter opaque are left out: the transparent parts of a logo are not its
//!   colour, whatever RGB values they happen to store.
//! - **BlurHash** (<https://blurha.sh>, woltapp/blurhash `Algorithm.md`), written here rather than
//!   taken from a crate: it is 80 lines. Where the reference implementations disagree we follow
//!   the C and Swift ones: the AC scale is the largest *absolute* AC value (the TypeScript encoder
//!   takes the largest signed value, so its hashes differ whenever that is a negative one).
//!   Transparent pixels are composited onto white first: BlurHash has no alpha, and a transparent
//!   area's stored RGB values (often black) are not what a page shows there. Sums run row by row
//!   in f64; the C encoder uses f32, so a hash can differ from its output only where a value lies
//!   within rounding of a quantisation step.

mod blurhash;
mod dominant;
#[cfg(test)]
mod tests;

pub use blurhash::{blurhash, Components};
pub use dominant::dominant_color;

/// Interleaved 8-bit pixels: 1 band (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA).
#[derive(Clone, Copy, Debug)]
pub struct Pixels<'a> {
    width: u32,
    height: u32,
    bands: usize,
    data: &'a [u8],
}

/// Why pixels could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes do not make a non-empty {width}x{height} image of {bands} band(s) (1 to 4)")]
pub struct PixelsError {
    len: usize,
    width: u32,
    height: u32,
    bands: u32,
}

impl<'a> Pixels<'a> {
    pub fn new(
        data: &'a [u8],
        width: u32,
        height: u32,
        bands: u32,
    ) -> Result<Pixels<'a>, PixelsError> {
        let expected = u64::from(width) * u64::from(height) * u64::from(bands);
        if width == 0 || height == 0 || !(1..=4).contains(&bands) || expected != data.len() as u64 {
            return Err(PixelsError {
                len: data.len(),
                width,
                height,
                bands,
            });
        }
        Ok(Pixels {
            width,
            height,
            bands: bands as usize,
            data,
        })
    }

    /// The pixel at index `i` (row-major) as RGBA.
    fn rgba(&self, i: usize) -> [u8; 4] {
        let p = &self.data[i * self.bands..(i + 1) * self.bands];
        match *p {
            [v] => [v, v, v, 255],
            [v, a] => [v, v, v, a],
            [r, g, b] => [r, g, b, 255],
            [r, g, b, a, ..] => [r, g, b, a],
            [] => [0, 0, 0, 0],
        }
    }

    /// The pixel at (x, y) composited onto white, as RGB.
    fn rgb_over_white(&self, x: u32, y: u32) -> [u8; 3] {
        let [r, g, b, a] = self.rgba(y as usize * self.width as usize + x as usize);
        let a = u32::from(a);
        // Integer rounding of v·a/255 + 255·(1 − a/255).
        let over = |v: u8| ((u32::from(v) * a + 255 * (255 - a) + 127) / 255) as u8;
        [over(r), over(g), over(b)]
    }

    fn len(&self) -> usize {
        self.width as usize * self.height as usize
    }
}

/// An opaque sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// `#rrggbb`, lower case.
    pub fn hex(self) -> String {
        let [r, g, b] = self.0;
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}
