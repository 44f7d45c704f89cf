//! `trim`: the bounding box of everything that is not the border colour. Pure, on decoded pixels,
//! so every engine finds the same box.
//!
//! The border colour is the top-left pixel (weserv's and imgproxy's rule); a pixel belongs to the
//! content when any band, alpha included, differs from it by more than the threshold.

use super::Rect;

/// The content box of `width`×`height` interleaved 8-bit pixels with `bands` bands, or `None` when
/// there is nothing to trim (no border, or nothing but border).
pub fn content_box(
    pixels: &[u8],
    width: u32,
    height: u32,
    bands: u32,
    threshold: u8,
) -> Option<Rect> {
    let (w, h, b) = (width as usize, height as usize, bands as usize);
    if w == 0 || h == 0 || b == 0 || pixels.len() < w * h * b {
        return None;
    }
    let background = &pixels[..b];
    let differs = |px: &[u8]| {
        px.iter()
            .zip(background)
            .any(|(p, bg)| p.abs_diff(*bg) > threshold)
    };
    let (mut left, mut right, mut top, mut bottom) = (w, 0, h, 0);
    for (y, row) in pixels.chunks_exact(w * b).take(h).enumerate() {
        let mut columns = row
            .chunks_exact(b)
            .enumerate()
            .filter(|(_, px)| differs(px))
            .map(|(x, _)| x);
        if let Some(first) = columns.next() {
            let last = columns.next_back().unwrap_or(first);
            left = left.min(first);
            right = right.max(last + 1);
            top = top.min(y);
            bottom = y + 1;
        }
    }
    if left >= right || top >= bottom || (right - left, bottom - top) == (w, h) {
        return None;
    }
    Some(Rect {
        left: left as u32,
        top: top as u32,
        width: (right - left) as u32,
        height: (bottom - top) as u32,
    })
}

/// Maps a box found on an image scaled by `scale` back to the original, rounding outwards so no
/// content is lost, and clamped to `size`.
pub fn unscale(found: Rect, scale: f64, size: (u32, u32)) -> Rect {
    let left = (f64::from(found.left) / scale).floor() as u32;
    let top = (f64::from(found.top) / scale).floor() as u32;
    let right = ((f64::from(found.left + found.width) / scale).ceil() as u32).min(size.0);
    let bottom = ((f64::from(found.top + found.height) / scale).ceil() as u32).min(size.1);
    let left = left.min(right.saturating_sub(1));
    let top = top.min(bottom.saturating_sub(1));
    Rect {
        left,
        top,
        width: (right - left).max(1),
        height: (bottom - top).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white 10×8 RGB image with a grey 3×2 block at (4, 5).
    fn framed() -> Vec<u8> {
        let mut px = vec![255u8; 10 * 8 * 3];
        for y in 5..7 {
            for x in 4..7 {
                let i = (y * 10 + x) * 3;
                px[i..i + 3].copy_from_slice(&[100, 100, 100]);
            }
        }
        px
    }

    #[test]
    fn finds_the_content_inside_a_uniform_border() {
        assert_eq!(
            content_box(&framed(), 10, 8, 3, 10),
            Some(Rect {
                left: 4,
                top: 5,
                width: 3,
                height: 2
            })
        );
    }

    #[test]
    fn the_threshold_ignores_faint_noise() {
        let mut px = framed();
        px[3] = 250; // one nearly white pixel at (1, 0)
        assert_eq!(content_box(&px, 10, 8, 3, 10).map(|r| r.left), Some(4));
        assert_eq!(content_box(&px, 10, 8, 3, 2).map(|r| r.left), Some(1));
    }

    #[test]
    fn nothing_to_trim_gives_none() {
        assert_eq!(content_box(&[255; 4 * 4 * 3], 4, 4, 3, 10), None);
        let mut noisy = vec![0u8; 4 * 4];
        noisy[15] = 200;
        noisy[0] = 0;
        noisy[3] = 200;
        noisy[12] = 200;
        // Content touching all four edges: the box is the whole image.
        assert_eq!(content_box(&noisy, 4, 4, 1, 10), None);
        assert_eq!(content_box(&[1, 2], 4, 4, 1, 10), None);
    }

    #[test]
    fn unscaling_rounds_outwards_and_clamps() {
        let found = Rect {
            left: 3,
            top: 3,
            width: 2,
            height: 2,
        };
        assert_eq!(
            unscale(found, 0.25, (19, 100)),
            Rect {
                left: 12,
                top: 12,
                width: 7,
                height: 8
            }
        );
    }
}
