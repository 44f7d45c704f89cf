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

use std::f64::consts::PI;

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

/// Pixels with less alpha than this (a quarter of full) do not vote for the dominant colour.
const MIN_ALPHA: u8 = 64;
/// Bins per channel of the dominant-colour histogram: 16 levels of 16 values each, as sharp.
const BINS: usize = 16;

/// The average colour of the fullest 16×16×16 histogram bin; `None` when every pixel is (nearly)
/// transparent. Ties go to the lower bin (darker, then by channel order), so the answer is stable.
pub fn dominant_color(pixels: &Pixels<'_>) -> Option<Rgb> {
    #[derive(Clone, Copy, Default)]
    struct Bin {
        count: u64,
        sum: [u64; 3],
    }
    let mut bins = vec![Bin::default(); BINS * BINS * BINS];
    for i in 0..pixels.len() {
        let [r, g, b, a] = pixels.rgba(i);
        if a < MIN_ALPHA {
            continue;
        }
        let index = (usize::from(r) / 16 * BINS + usize::from(g) / 16) * BINS + usize::from(b) / 16;
        let bin = &mut bins[index];
        bin.count += 1;
        for (sum, v) in bin.sum.iter_mut().zip([r, g, b]) {
            *sum += u64::from(v);
        }
    }
    // `max_by_key` keeps the last of equal maxima; reversing makes the first bin win ties.
    let best = bins.iter().rev().max_by_key(|bin| bin.count)?;
    if best.count == 0 {
        return None;
    }
    let mean = |sum: u64| ((sum + best.count / 2) / best.count) as u8;
    Some(Rgb(best.sum.map(mean)))
}

/// BlurHash component counts, each 1 to 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Components {
    x: u8,
    y: u8,
}

impl Components {
    /// 4×3: blurha.sh's default for landscape images; 28 characters.
    pub const DEFAULT: Components = Components { x: 4, y: 3 };

    /// `None` unless both counts are 1 to 9.
    pub fn new(x: u8, y: u8) -> Option<Components> {
        ((1..=9).contains(&x) && (1..=9).contains(&y)).then_some(Components { x, y })
    }

    pub fn x(self) -> u8 {
        self.x
    }

    pub fn y(self) -> u8 {
        self.y
    }
}

impl Default for Components {
    fn default() -> Self {
        Components::DEFAULT
    }
}

/// The BlurHash of `pixels` (composited onto white): `4 + 2·x·y` characters.
pub fn blurhash(pixels: &Pixels<'_>, components: Components) -> String {
    let (w, h) = (pixels.width, pixels.height);
    let (cx, cy) = (u32::from(components.x), u32::from(components.y));
    // Linear-light RGB of every pixel, computed once.
    let linear: Vec<[f64; 3]> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| pixels.rgb_over_white(x, y).map(srgb_to_linear))
        .collect();
    // NOTE(perf): the cosines of every (component, coordinate) pair, not one per pixel per factor.
    let cosines = |n: u32, size: u32| -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                (0..size)
                    .map(|p| (PI * f64::from(i) * f64::from(p) / f64::from(size)).cos())
                    .collect()
            })
            .collect()
    };
    let (cos_x, cos_y) = (cosines(cx, w), cosines(cy, h));
    let mut factors = Vec::with_capacity((cx * cy) as usize);
    for (j, cos_j) in cos_y.iter().enumerate() {
        for (i, cos_i) in cos_x.iter().enumerate() {
            let mut sum = [0.0f64; 3];
            for (row, cy_j) in linear.chunks_exact(w as usize).zip(cos_j) {
                for (px, cx_i) in row.iter().zip(cos_i) {
                    let basis = cx_i * cy_j;
                    for (s, v) in sum.iter_mut().zip(px) {
                        *s += basis * v;
                    }
                }
            }
            let norm = if i == 0 && j == 0 { 1.0 } else { 2.0 };
            let scale = norm / (f64::from(w) * f64::from(h));
            factors.push(sum.map(|s| s * scale));
        }
    }

    let mut hash = String::with_capacity(4 + 2 * factors.len());
    base83(
        u32::from(components.x - 1) + u32::from(components.y - 1) * 9,
        1,
        &mut hash,
    );
    let (dc, ac) = factors
        .split_first()
        .map_or(([0.0; 3], &[][..]), |(dc, ac)| (*dc, ac));
    let max_ac = ac
        .iter()
        .flat_map(|f| f.iter().map(|v| v.abs()))
        .fold(0.0f64, f64::max);
    let ac_scale = if ac.is_empty() {
        base83(0, 1, &mut hash);
        1.0
    } else {
        let quantised = (max_ac * 166.0 - 0.5).floor().clamp(0.0, 82.0) as u32;
        base83(quantised, 1, &mut hash);
        f64::from(quantised + 1) / 166.0
    };
    let [r, g, b] = dc.map(|v| u32::from(linear_to_srgb(v)));
    base83((r << 16) | (g << 8) | b, 4, &mut hash);
    for factor in ac {
        let [r, g, b] = factor.map(|v| {
            let q = (sign_pow(v / ac_scale, 0.5) * 9.0 + 9.5).floor();
            q.clamp(0.0, 18.0) as u32
        });
        base83(r * 19 * 19 + g * 19 + b, 2, &mut hash);
    }
    hash
}

fn srgb_to_linear(value: u8) -> f64 {
    let v = f64::from(value) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(value: f64) -> u8 {
    let v = value.clamp(0.0, 1.0);
    let srgb = if v <= 0.003_130_8 {
        v * 12.92 * 255.0 + 0.5
    } else {
        (1.055 * v.powf(1.0 / 2.4) - 0.055) * 255.0 + 0.5
    };
    srgb as u8
}

fn sign_pow(value: f64, exponent: f64) -> f64 {
    value.abs().powf(exponent).copysign(value)
}

const BASE83: &[u8; 83] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/// Appends `value` as `digits` base-83 characters, most significant first.
fn base83(value: u32, digits: u32, out: &mut String) {
    for d in (0..digits).rev() {
        let digit = (value / 83u32.pow(d)) % 83;
        out.push(char::from(BASE83[digit as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .flat_map(|(x, y)| f(x, y))
            .collect()
    }

    fn gradient(x: u32, y: u32) -> [u8; 4] {
        [
            (x * 8 % 256) as u8,
            (y * 10 % 256) as u8,
            (x * y % 256) as u8,
            255,
        ]
    }

    fn decode83(text: &str) -> u32 {
        text.bytes().fold(0, |acc, c| {
            let digit = BASE83
                .iter()
                .position(|b| *b == c)
                .expect("a base-83 digit");
            acc * 83 + digit as u32
        })
    }

    #[test]
    fn a_uniform_image_is_its_own_dominant_colour() {
        let px = image(20, 10, |_, _| [18, 52, 86, 255]);
        let pixels = Pixels::new(&px, 20, 10, 4).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([18, 52, 86])));
        assert_eq!(Rgb([18, 52, 86]).hex(), "#123456");
    }

    #[test]
    fn the_larger_area_wins_over_the_mean() {
        // 70% red, 30% blue: the answer is the red, not the purple mean.
        let px = image(10, 10, |x, _| {
            if x < 7 {
                [200, 30, 40, 255]
            } else {
                [20, 60, 220, 255]
            }
        });
        let pixels = Pixels::new(&px, 10, 10, 4).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([200, 30, 40])));
        // And 30/70 flips it: the rule is not "the first colour seen".
        let px = image(10, 10, |x, _| {
            if x < 3 {
                [200, 30, 40, 255]
            } else {
                [20, 60, 220, 255]
            }
        });
        let pixels = Pixels::new(&px, 10, 10, 4).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([20, 60, 220])));
    }

    #[test]
    fn the_fullest_bin_is_averaged() {
        // Two shades in one 16-level bin (200 and 202 red) average to 201; a third colour outside
        // it, with fewer pixels, is ignored.
        let px = image(10, 1, |x, _| match x {
            0..=3 => [200, 30, 40, 255],
            4..=6 => [202, 30, 40, 255],
            _ => [0, 0, 0, 255],
        });
        let pixels = Pixels::new(&px, 10, 1, 4).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([201, 30, 40])));
    }

    #[test]
    fn transparent_pixels_do_not_vote() {
        // 80% fully or nearly transparent black, 20% opaque orange: a logo on nothing.
        let px = image(10, 10, |x, y| match (x, y) {
            (0..=1, _) => [255, 128, 0, 255],
            (_, 0..=4) => [0, 0, 0, 0],
            _ => [0, 0, 0, 40],
        });
        let pixels = Pixels::new(&px, 10, 10, 4).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([255, 128, 0])));
        let clear = image(4, 4, |_, _| [10, 20, 30, 0]);
        assert_eq!(
            dominant_color(&Pixels::new(&clear, 4, 4, 4).expect("pixels")),
            None
        );
    }

    #[test]
    fn grey_images_are_read_as_grey() {
        let px = [90u8, 255, 90, 255, 90, 0];
        let pixels = Pixels::new(&px, 3, 1, 2).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([90, 90, 90])));
        let pixels = Pixels::new(&[7, 7, 7, 7], 2, 2, 1).expect("pixels");
        assert_eq!(dominant_color(&pixels), Some(Rgb([7, 7, 7])));
    }

    #[test]
    fn pixel_buffers_must_match_their_size() {
        assert!(Pixels::new(&[0; 12], 2, 2, 3).is_ok());
        assert!(Pixels::new(&[0; 11], 2, 2, 3).is_err());
        assert!(Pixels::new(&[0; 10], 2, 1, 5).is_err());
        assert!(Pixels::new(&[], 0, 0, 3).is_err());
    }

    #[test]
    fn component_counts_are_bounded() {
        assert_eq!(Components::new(4, 3), Some(Components::DEFAULT));
        assert!(Components::new(1, 9).is_some());
        assert!(Components::new(0, 3).is_none());
        assert!(Components::new(4, 10).is_none());
    }

    /// Hashes computed by woltapp's C encoder (`encode.c`, as bundled in the PyPI package
    /// blurhash-python 1.2.2, called through its cffi binding `create_hash_from_pixels`) on the
    /// same pixels. The `split` and `uniform` ones are also what woltapp's TypeScript encoder
    /// (npm `blurhash` 2.0.5) gives; for `gradient` it gives a different second character (`D`, not
    /// `x`), because it scales the AC terms by the largest signed value (see the module doc).
    #[test]
    fn blurhash_matches_the_reference_encoder() {
        let gradient_px = image(32, 24, gradient);
        let gradient_pixels = Pixels::new(&gradient_px, 32, 24, 4).expect("pixels");
        let cases = [
            (4, 3, "LxH27h2lwtX3mAWUjwfAgFfmfTfi"),
            (1, 1, "00H27h"),
            (5, 2, "DxH27h2lwtX3a^mAWUjwfAfT"),
            (
                9,
                9,
                "|xH27h2lwtX3a^ofWroeWnmAWUjwfAfTf6fNf8fRgFfmfTfifNfifTfjfPn$WsjsfNfTfTfOfPfQe-fTfNfTfSfNfSfRfRofWojrfTfNfSfSfOfPe?fNfTfOfSfSfOfRfPoeWpjufPfRfOfQfRfSeofRfPfQfRfPfPfRfO",
            ),
        ];
        for (x, y, expected) in cases {
            let components = Components::new(x, y).expect("valid");
            assert_eq!(blurhash(&gradient_pixels, components), expected, "{x}x{y}");
        }
        let split = image(10, 10, |x, _| {
            if x < 7 {
                [200, 30, 40, 255]
            } else {
                [20, 60, 220, 255]
            }
        });
        let split = Pixels::new(&split, 10, 10, 4).expect("pixels");
        assert_eq!(
            blurhash(&split, Components::DEFAULT),
            "L$JpO0{[OHssw}s8a~jufQfQfQfQ"
        );
        // RGB input (3 bands) reads the same as opaque RGBA.
        let uniform = image(8, 8, |_, _| [18, 52, 86, 255]);
        let rgb: Vec<u8> = uniform.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        for pixels in [Pixels::new(&uniform, 8, 8, 4), Pixels::new(&rgb, 8, 8, 3)] {
            let pixels = pixels.expect("pixels");
            assert_eq!(
                blurhash(&pixels, Components::DEFAULT),
                "L327F4pMfQpMpMkDfQkDfQfQfQfQ"
            );
        }
    }

    #[test]
    fn blurhash_structure_holds_for_every_component_count() {
        let px = image(17, 11, gradient);
        let pixels = Pixels::new(&px, 17, 11, 4).expect("pixels");
        for x in 1..=9u8 {
            for y in 1..=9u8 {
                let hash = blurhash(&pixels, Components::new(x, y).expect("valid"));
                assert_eq!(
                    hash.len(),
                    4 + 2 * usize::from(x) * usize::from(y),
                    "{x}x{y}"
                );
                // The first character says the component counts.
                assert_eq!(
                    decode83(&hash[..1]),
                    u32::from(x - 1) + u32::from(y - 1) * 9
                );
            }
        }
    }

    #[test]
    fn the_dc_term_is_the_mean_colour_and_alpha_is_flattened_onto_white() {
        // Half transparent, half mid-grey: over white, the mean is between white and the grey in
        // linear light; the DC term (characters 2..6) holds it in sRGB.
        let px = image(8, 8, |x, _| {
            if x < 4 {
                [0, 0, 0, 0]
            } else {
                [119, 119, 119, 255]
            }
        });
        let hash = blurhash(
            &Pixels::new(&px, 8, 8, 4).expect("pixels"),
            Components::DEFAULT,
        );
        let dc = decode83(&hash[2..6]);
        let mean = (srgb_to_linear(255) + srgb_to_linear(119)) / 2.0;
        let expected = u32::from(linear_to_srgb(mean));
        assert_eq!(dc, expected << 16 | expected << 8 | expected, "{hash}");
    }
}
