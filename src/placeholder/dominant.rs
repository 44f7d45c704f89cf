//! The dominant colour: the average colour of the fullest bin of a 16×16×16 sRGB histogram, as
//! sharp's `stats().dominant` defines it (see the parent module for why not the mean).

use super::{Pixels, Rgb};

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
