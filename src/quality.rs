//! Image similarity for comparing engines: SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) on luma,
//! the measure the engine tests, `imgshield compare` and the benchmarks report.
//!
//! Windows are 8x8 with a stride of 4 and uniform weights (the common fast variant; the Gaussian
//! 11x11 one differs in the third decimal on photographs), constants K1 = 0.01, K2 = 0.03 for
//! 8-bit data. The result is the mean SSIM over all windows: 1.0 for identical images.

/// An 8-bit single-channel image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Luma {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Luma {
    /// Rec. 601 luma from interleaved 8-bit pixels with `channels` of 1 to 4 (alpha ignored).
    pub fn from_interleaved(width: u32, height: u32, channels: usize, data: &[u8]) -> Luma {
        let data = data
            .chunks_exact(channels.max(1))
            .map(|p| match p {
                [r, g, b, ..] => {
                    ((299 * u32::from(*r) + 587 * u32::from(*g) + 114 * u32::from(*b) + 500) / 1000)
                        as u8
                }
                [v, ..] => *v,
                [] => 0,
            })
            .collect();
        Luma {
            width,
            height,
            data,
        }
    }

    /// The luma a viewer sees of interleaved RGBA: alpha composited over white first, since what
    /// lies under fully transparent pixels is invisible (and differs between resizers).
    pub fn from_rgba_over_white(width: u32, height: u32, rgba: &[u8]) -> Luma {
        let over_white: Vec<u8> = rgba
            .chunks_exact(4)
            .flat_map(|p| {
                let a = u32::from(p[3]);
                let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
                [mix(p[0]), mix(p[1]), mix(p[2])]
            })
            .collect();
        Luma::from_interleaved(width, height, 3, &over_white)
    }
}

const WINDOW: usize = 8;
const STRIDE: usize = 4;

/// Mean SSIM of `a` and `b`; `None` when their sizes differ or they are smaller than one window.
pub fn ssim(a: &Luma, b: &Luma) -> Option<f64> {
    if (a.width, a.height) != (b.width, b.height) {
        return None;
    }
    let (w, h) = (a.width as usize, a.height as usize);
    if w < WINDOW || h < WINDOW || a.data.len() != w * h || b.data.len() != w * h {
        return None;
    }
    let c1 = (0.01_f64 * 255.0).powi(2);
    let c2 = (0.03_f64 * 255.0).powi(2);
    let n = (WINDOW * WINDOW) as f64;
    let (mut total, mut count) = (0.0, 0_u64);
    for y in (0..=h - WINDOW).step_by(STRIDE) {
        for x in (0..=w - WINDOW).step_by(STRIDE) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for row in y..y + WINDOW {
                let start = row * w + x;
                for (&pa, &pb) in a.data[start..start + WINDOW]
                    .iter()
                    .zip(&b.data[start..start + WINDOW])
                {
                    let (pa, pb) = (f64::from(pa), f64::from(pb));
                    sa += pa;
                    sb += pb;
                    saa += pa * pa;
                    sbb += pb * pb;
                    sab += pa * pb;
                }
            }
            let (ma, mb) = (sa / n, sb / n);
            // Sample (co)variances, as in the reference implementation.
            let va = (saa - n * ma * ma) / (n - 1.0);
            let vb = (sbb - n * mb * mb) / (n - 1.0);
            let cov = (sab - n * ma * mb) / (n - 1.0);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    Some(total / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic textured image: gradients plus a pseudo-random pattern.
    fn texture(width: u32, height: u32) -> Luma {
        let mut state = 0x2545_F491_u32;
        let data = (0..width * height)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let (x, y) = (i % width, i / width);
                ((x * 3 + y * 2) % 200 + (state % 56)) as u8
            })
            .collect();
        Luma {
            width,
            height,
            data,
        }
    }

    fn map(image: &Luma, f: impl Fn(u32, u32, u8) -> u8) -> Luma {
        let data = image
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| f(i as u32 % image.width, i as u32 / image.width, v))
            .collect();
        Luma {
            data,
            ..image.clone()
        }
    }

    /// 3x3 box blur, edges clamped.
    fn blur(image: &Luma) -> Luma {
        let (w, h) = (image.width as i64, image.height as i64);
        map(image, |x, y, _| {
            let mut sum = 0_u32;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let sx = (i64::from(x) + dx).clamp(0, w - 1);
                    let sy = (i64::from(y) + dy).clamp(0, h - 1);
                    sum += u32::from(image.data[(sy * w + sx) as usize]);
                }
            }
            ((sum + 4) / 9) as u8
        })
    }

    #[test]
    fn identical_images_score_one() {
        let a = texture(64, 48);
        let score = ssim(&a, &a).expect("same size");
        assert!((score - 1.0).abs() < 1e-12, "{score}");
    }

    #[test]
    fn a_uniform_brightness_shift_barely_matters_but_noise_and_blur_do() {
        let a = texture(128, 96);
        let shifted = map(&a, |_, _, v| v.saturating_add(5));
        let blurred = blur(&a);
        // Deterministic noise from a hash of the position.
        let noisy = map(&a, |x, y, v| {
            let h = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663))
                .wrapping_mul(2_654_435_761);
            v.saturating_add(((h >> 16) % 61) as u8).saturating_sub(30)
        });
        let s_shift = ssim(&a, &shifted).expect("size");
        let s_blur = ssim(&a, &blurred).expect("size");
        let s_noise = ssim(&a, &noisy).expect("size");
        // A small shift of the mean keeps structure and contrast: SSIM stays near 1.
        assert!(s_shift > 0.99, "shift {s_shift}");
        // A 3x3 blur of a noisy texture loses much of its fine structure.
        assert!((0.3..0.9).contains(&s_blur), "blur {s_blur}");
        // Uniform noise of +-30 on this texture: clearly worse than the shift.
        assert!((0.2..0.9).contains(&s_noise), "noise {s_noise}");
        // Inverting the image is as far from similar as it gets.
        let inverted = map(&a, |_, _, v| 255 - v);
        assert!(ssim(&a, &inverted).expect("size") < 0.0);
    }

    #[test]
    fn different_sizes_and_tiny_images_have_no_score() {
        assert_eq!(ssim(&texture(16, 16), &texture(16, 17)), None);
        assert_eq!(ssim(&texture(4, 4), &texture(4, 4)), None);
    }

    #[test]
    fn luma_weights_follow_rec_601() {
        let luma = Luma::from_interleaved(3, 1, 3, &[255, 0, 0, 0, 255, 0, 0, 0, 255]);
        assert_eq!(luma.data, [76, 150, 29]);
        let grey_alpha = Luma::from_interleaved(1, 1, 2, &[77, 0]);
        assert_eq!(grey_alpha.data, [77]);
    }
}
