//! How far a JPEG is shrunk in the DCT domain while decoding (by 8, 4, 2 or 1) for a target size:
//! the one choice both engines make before resizing, so they decode alike.

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
