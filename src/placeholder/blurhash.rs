//! BlurHash (<https://blurha.sh>): the DCT factors of the linear-light image, then their base-83
//! encoding. The parent module says where this follows the C encoder rather than the TypeScript one.

use std::f64::consts::PI;

use super::Pixels;

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
    let factors = factors(pixels, components);
    encode(components, &factors)
}

/// The DCT factors in linear-light RGB, DC first, then row by row of components.
fn factors(pixels: &Pixels<'_>, components: Components) -> Vec<[f64; 3]> {
    let (w, h) = (pixels.width, pixels.height);
    let (cx, cy) = (u32::from(components.x), u32::from(components.y));
    // Linear-light RGB of every pixel, computed once.
    let linear: Vec<[f64; 3]> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| pixels.rgb_over_white(x, y).map(srgb_to_linear))
        .collect();
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
    factors
}

/// NOTE(perf): the cosines of every (component, coordinate) pair, not one per pixel per factor.
fn cosines(n: u32, size: u32) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            (0..size)
                .map(|p| (PI * f64::from(i) * f64::from(p) / f64::from(size)).cos())
                .collect()
        })
        .collect()
}

/// The hash text: component counts, AC scale, DC colour, then the quantised AC terms.
fn encode(components: Components, factors: &[[f64; 3]]) -> String {
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

pub(super) fn srgb_to_linear(value: u8) -> f64 {
    let v = f64::from(value) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

pub(super) fn linear_to_srgb(value: f64) -> u8 {
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

pub(super) const BASE83: &[u8; 83] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/// Appends `value` as `digits` base-83 characters, most significant first.
fn base83(value: u32, digits: u32, out: &mut String) {
    for d in (0..digits).rev() {
        let digit = (value / 83u32.pow(d)) % 83;
        out.push(char::from(BASE83[digit as usize]));
    }
}
