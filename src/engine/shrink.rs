//! How far a JPEG is shrunk in the DCT domain while decoding (by 8, 4, 2 or 1) for a target size:
//! the one choice both engines make before resizing, so they decode alike; and the box shrink that
//! makes a coarser level from a finer decode, as the DCT scaling would.

/// The libvips thumbnail rule for JPEG shrink-on-load: the largest s in {8, 4, 2} with
/// factor >= 2s, where the factor is how many times the source exceeds the target on the side that
/// needs more; otherwise 1.
pub fn jpeg_shrink((width, height): (u32, u32), (target_w, target_h): (u32, u32)) -> u32 {
    let factor = reduction((width, height), (target_w, target_h));
    [8, 4, 2]
        .into_iter()
        .find(|&s| factor >= f64::from(2 * s))
        .unwrap_or(1)
}

/// The draft rule (Pillow's `draft()`): the largest s in {8, 4, 2} whose decode is still at least
/// as large as the target on the side that needs more; otherwise 1.
pub fn draft_shrink((width, height): (u32, u32), (target_w, target_h): (u32, u32)) -> u32 {
    let factor = reduction((width, height), (target_w, target_h));
    [8, 4, 2]
        .into_iter()
        .find(|&s| factor >= f64::from(s))
        .unwrap_or(1)
}

/// How many times larger than the target the source is on the side that needs more.
fn reduction((width, height): (u32, u32), (target_w, target_h): (u32, u32)) -> f64 {
    (f64::from(width) / f64::from(target_w.max(1)))
        .min(f64::from(height) / f64::from(target_h.max(1)))
}

/// Interleaved 8-bit pixels shrunk by block means of `factor` × `factor`, as libvips'
/// `vips_shrink` makes them (bit for bit): sides divided by `factor` and rounded to the nearest,
/// a partial block at the right or bottom edge filled by repeating the last column or row, the
/// rows averaged first and rounded, then the columns. `None` when the sizes do not match the
/// pixels or the result would be empty.
pub fn box_shrink(
    pixels: &[u8],
    (width, height, bands): (u32, u32, u32),
    factor: u32,
) -> Option<(Vec<u8>, u32, u32)> {
    let (w, h, b, f) = (
        usize::try_from(width).ok()?,
        usize::try_from(height).ok()?,
        usize::try_from(bands).ok()?,
        usize::try_from(factor).ok()?,
    );
    if f == 0 || pixels.len() != w.checked_mul(h)?.checked_mul(b)? {
        return None;
    }
    let (out_w, out_h) = ((w + f / 2) / f, (h + f / 2) / f);
    if out_w == 0 || out_h == 0 {
        return None;
    }
    let half = u32::try_from(f / 2).ok()?;
    let divisor = u32::try_from(f).ok()?;
    let row_len = w * b;
    let mut sums = vec![0u32; row_len];
    let mut column = vec![0u8; row_len];
    let mut out = Vec::with_capacity(out_w * out_h * b);
    for oy in 0..out_h {
        sums.fill(0);
        for y in (oy * f..oy * f + f).map(|y| y.min(h - 1)) {
            let row = pixels.get(y * row_len..(y + 1) * row_len)?;
            for (sum, &p) in sums.iter_mut().zip(row) {
                *sum += u32::from(p);
            }
        }
        for (c, &sum) in column.iter_mut().zip(&sums) {
            *c = u8::try_from((sum + half) / divisor).unwrap_or(u8::MAX);
        }
        for ox in 0..out_w {
            for band in 0..b {
                let sum: u32 = (ox * f..ox * f + f)
                    .map(|x| u32::from(column[x.min(w - 1) * b + band]))
                    .sum();
                out.push(u8::try_from((sum + half) / divisor).unwrap_or(u8::MAX));
            }
        }
    }
    Some((out, u32::try_from(out_w).ok()?, u32::try_from(out_h).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shrink_rule_leaves_twice_the_target() {
        assert_eq!(jpeg_shrink((6000, 4000), (300, 200)), 8);
        assert_eq!(jpeg_shrink((6000, 4000), (700, 467)), 4);
        assert_eq!(jpeg_shrink((6000, 4000), (1000, 667)), 2);
        assert_eq!(jpeg_shrink((6000, 4000), (1920, 1280)), 1);
        assert_eq!(jpeg_shrink((6000, 4000), (3000, 2000)), 1);
        // The side that needs more decides (a cover crop keeps the full height).
        assert_eq!(jpeg_shrink((6000, 4000), (300, 2000)), 1);
    }

    #[test]
    fn the_draft_rule_keeps_the_target_size_only() {
        assert_eq!(draft_shrink((6000, 4000), (750, 500)), 8);
        assert_eq!(draft_shrink((6000, 4000), (751, 501)), 4);
        assert_eq!(draft_shrink((4000, 3000), (640, 480)), 4);
        assert_eq!(jpeg_shrink((4000, 3000), (640, 480)), 2);
        assert_eq!(draft_shrink((6000, 4000), (3001, 2001)), 1);
    }
}
