//! The colour-histogram distance between two outputs (defined in the parent module's doc).

const BINS: usize = 32;

/// Mean over R, G, B of the total-variation distance between 32-bin histograms, colours
/// composited over white.
pub fn histogram_distance(a_rgba: &[u8], b_rgba: &[u8]) -> f64 {
    fn histograms(rgba: &[u8]) -> [[f64; BINS]; 3] {
        let mut h = [[0.0; BINS]; 3];
        let mut n = 0.0;
        for p in rgba.chunks_exact(4) {
            let a = u32::from(p[3]);
            for (c, hist) in h.iter_mut().enumerate() {
                let v = (u32::from(p[c]) * a + 255 * (255 - a) + 127) / 255;
                hist[(v as usize * BINS) / 256] += 1.0;
            }
            n += 1.0;
        }
        if n > 0.0 {
            for hist in &mut h {
                hist.iter_mut().for_each(|v| *v /= n);
            }
        }
        h
    }
    let (ha, hb) = (histograms(a_rgba), histograms(b_rgba));
    ha.iter()
        .zip(&hb)
        .map(|(x, y)| 0.5 * x.iter().zip(y).map(|(p, q)| (p - q).abs()).sum::<f64>())
        .sum::<f64>()
        / 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(pixels: &[[u8; 4]]) -> Vec<u8> {
        pixels.iter().flatten().copied().collect()
    }

    #[test]
    fn histogram_distance_is_zero_for_equal_and_one_for_disjoint_colours() {
        let red = rgba(&[[255, 0, 0, 255]; 16]);
        assert_eq!(histogram_distance(&red, &red), 0.0);
        let black = rgba(&[[0, 0, 0, 255]; 16]);
        // R differs completely; G and B are 0 in both.
        assert!((histogram_distance(&red, &black) - 1.0 / 3.0).abs() < 1e-12);
        let white = rgba(&[[255, 255, 255, 255]; 16]);
        assert!((histogram_distance(&black, &white) - 1.0).abs() < 1e-12);
        // Transparent black is white once composited.
        let clear = rgba(&[[0, 0, 0, 0]; 16]);
        assert_eq!(histogram_distance(&clear, &white), 0.0);
    }

    #[test]
    fn half_the_pixels_moved_is_half_the_distance() {
        let grey = rgba(&[[128, 128, 128, 255]; 8]);
        let mut mixed = rgba(&[[128, 128, 128, 255]; 4]);
        mixed.extend(rgba(&[[0, 0, 0, 255]; 4]));
        assert!((histogram_distance(&grey, &mixed) - 0.5).abs() < 1e-12);
    }
}
