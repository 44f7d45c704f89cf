//! The embedded default image set: generated, not downloaded, so a fresh machine can run the demo
//! with no network and no configuration. The same generators feed tests and benchmarks.
//!
//! Images are synthetic but photo-like (gradients, shapes, fine noise) so that JPEG sizes and decode
//! costs resemble real photographs rather than flat test cards.

use std::path::{Path, PathBuf};

use crate::vips::{Image, SaveFormat, VipsError};

mod scan_heavy;
pub use scan_heavy::scan_heavy_jpeg;

/// The files of the sample set, with the size each is generated at.
pub const SAMPLES: [(&str, u32, u32); 4] = [
    ("sample.jpg", 4000, 3000),
    ("portrait.jpg", 2000, 3000),
    ("sample.webp", 1600, 1200),
    ("logo.png", 800, 800),
];

/// A deterministic xorshift generator: reproducible images without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Interleaved RGB pixels of a landscape: sky gradient, sun, rolling hills, textured ground.
pub fn photo_pixels(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (w, h) = (f64::from(width), f64::from(height));
    let phase = (seed % 97) as f64 * 0.37;
    let (sun_x, sun_y, sun_r) = (
        w * (0.2 + (seed % 5) as f64 * 0.12),
        h * 0.25,
        w.min(h) * 0.08,
    );
    let mut px = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        let fy = f64::from(y);
        for x in 0..width {
            let fx = f64::from(x);
            let horizon = h * 0.6
                + (fx / w * 6.0 + phase).sin() * h * 0.08
                + (fx / w * 23.0 + phase * 2.0).sin() * h * 0.02;
            let grain = (noise.next() % 25) as f64 - 12.0;
            let (r, g, b) = if fy < horizon {
                let t = fy / horizon;
                let d = ((fx - sun_x).powi(2) + (fy - sun_y).powi(2)).sqrt();
                let glow = (1.0 - d / (sun_r * 3.0)).max(0.0) * 120.0;
                let sun = if d < sun_r { 255.0 } else { 0.0 };
                (
                    70.0 + 130.0 * t + glow + sun,
                    130.0 + 90.0 * t + glow * 0.8 + sun,
                    200.0 + 40.0 * t + glow * 0.3 + sun,
                )
            } else {
                let depth = (fy - horizon) / (h - horizon + 1.0);
                let stripes = ((fx * 0.05 + fy * 0.11).sin() * 0.5 + 0.5) * 30.0;
                (
                    60.0 + 80.0 * depth + stripes,
                    110.0 + 40.0 * (1.0 - depth) + stripes * 0.5,
                    40.0 + 20.0 * depth,
                )
            };
            px.extend([r + grain, g + grain, b + grain].map(|v| v.clamp(0.0, 255.0) as u8));
        }
    }
    px
}

/// Interleaved RGBA pixels of a logo: a ring and a disc on a transparent background.
pub fn logo_pixels(size: u32) -> Vec<u8> {
    let c = f64::from(size) / 2.0;
    let mut px = Vec::with_capacity(size as usize * size as usize * 4);
    for y in 0..size {
        for x in 0..size {
            let d = ((f64::from(x) - c).powi(2) + (f64::from(y) - c).powi(2)).sqrt() / c;
            let rgba = if d < 0.45 {
                [230, 80, 40, 255]
            } else if (0.6..0.9).contains(&d) {
                [40, 90, 200, 200]
            } else {
                [0, 0, 0, 0]
            };
            px.extend(rgba);
        }
    }
    px
}

/// A photo-like JPEG of the given size.
pub fn photo_jpeg(width: u32, height: u32, seed: u64, quality: u8) -> Result<Vec<u8>, VipsError> {
    Image::from_pixels(&photo_pixels(width, height, seed), width, height, 3)?.save(
        SaveFormat::Jpeg {
            quality,
            progressive: false,
            strip: true,
        },
    )
}

/// A logo PNG with alpha.
pub fn logo_png(size: u32) -> Result<Vec<u8>, VipsError> {
    Image::from_pixels(&logo_pixels(size), size, size, 4)?.save(SaveFormat::Png {
        compression: 6,
        palette: false,
        strip: true,
    })
}

fn sample_bytes(name: &str, width: u32, height: u32) -> Result<Vec<u8>, VipsError> {
    let seed = u64::from(width) * 31 + u64::from(height);
    match name.rsplit('.').next() {
        Some("png") => logo_png(width),
        Some("webp") => Image::from_pixels(&photo_pixels(width, height, seed), width, height, 3)?
            .save(SaveFormat::Webp {
                quality: 85,
                lossless: false,
                effort: 4,
                strip: true,
            }),
        _ => photo_jpeg(width, height, seed, 90),
    }
}

/// The default root: generated once per version in the user's cache directory
/// (`$XDG_CACHE_HOME` or `~/.cache`), not in a shared, world-writable temp directory where another
/// user could plant files first.
pub fn default_root() -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set: give --root")?;
    let dir = base
        .join("imgshield")
        .join(concat!("samples-", env!("CARGO_PKG_VERSION")));
    ensure_samples(&dir)?;
    Ok(dir)
}

/// Writes any missing sample into `dir`, each atomically (temp file + rename).
pub fn ensure_samples(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, width, height) in SAMPLES {
        let path = dir.join(name);
        if path.is_file() {
            continue;
        }
        let bytes =
            sample_bytes(name, width, height).map_err(|e| format!("generating {name}: {e}"))?;
        let partial = dir.join(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&partial, &bytes).map_err(|e| format!("{}: {e}", partial.display()))?;
        std::fs::rename(&partial, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
