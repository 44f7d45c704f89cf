//! A JPEG file's layout read from its markers alone, before any decoder sees it: the frame (size,
//! components, sampling, progressive or not) and how many scans follow. The cost of a decode is
//! bounded from this before the decode starts: libjpeg decodes a progressive file's scans in one
//! uninterruptible call, so the number of scans and the coefficient buffer must be judged up front.
//!
//! The walk is linear in the file size, allocates nothing and never fails: anything that does not
//! parse ends the walk with what was seen so far (the decoder itself reports broken files).

/// What the markers of a JPEG file say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JpegLayout {
    /// Width and height as stored (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Colour components in the frame (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
    /// Largest horizontal and vertical sampling factors of the frame's components (1..=4).
    pub max_sampling: (u8, u8),
    /// Sum over the components of `h × v`: coefficient blocks per MCU.
    pub blocks_per_mcu: u32,
    /// A progressive (SOF2/SOF6/SOF10/SOF14) frame.
    pub progressive: bool,
    /// Start-of-scan markers seen (1 for a baseline single-scan file).
    pub scans: u32,
}

impl JpegLayout {
    /// Coefficients a full decode keeps in memory for a progressive frame (each is an `i16`): every
    /// component's blocks padded to whole MCUs. Baseline frames need no such buffer (0).
    pub fn coefficient_bytes(&self) -> u64 {
        if !self.progressive || self.components == 0 {
            return 0;
        }
        let (h, v) = (
            u64::from(self.max_sampling.0.max(1)) * 8,
            u64::from(self.max_sampling.1.max(1)) * 8,
        );
        let mcus = u64::from(self.width).div_ceil(h) * u64::from(self.height).div_ceil(v);
        mcus * u64::from(self.blocks_per_mcu) * 64 * 2
    }
}

/// The layout of `bytes`, or `None` when they do not start like a JPEG file or carry no frame.
pub fn jpeg_layout(bytes: &[u8]) -> Option<JpegLayout> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return None;
    }
    let mut layout = JpegLayout::default();
    let mut seen_frame = false;
    let mut at = 2;
    while let Some((marker, body_at)) = next_marker(bytes, at) {
        match marker {
            0xD9 => break,
            0x01 | 0xD0..=0xD7 => {
                at = body_at;
                continue;
            }
            _ => {}
        }
        let Some(length) = segment_length(bytes, body_at) else {
            break;
        };
        let body = bytes.get(body_at + 2..body_at + length)?;
        if is_frame(marker) && !seen_frame {
            seen_frame = read_frame(marker, body, &mut layout);
        }
        at = body_at + length;
        if marker == 0xDA {
            layout.scans += 1;
            at = skip_entropy_data(bytes, at);
        }
    }
    seen_frame.then_some(layout)
}

/// The next marker at or after `at` (fill bytes skipped) and where its segment starts.
fn next_marker(bytes: &[u8], mut at: usize) -> Option<(u8, usize)> {
    while *bytes.get(at)? != 0xFF {
        at += 1;
    }
    while *bytes.get(at)? == 0xFF {
        at += 1;
    }
    Some((*bytes.get(at)?, at + 1))
}

pub(super) fn segment_length(bytes: &[u8], at: usize) -> Option<usize> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    (length >= 2).then_some(length)
}

/// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
fn is_frame(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn read_frame(marker: u8, body: &[u8], layout: &mut JpegLayout) -> bool {
    let [_precision, h0, h1, w0, w1, components, rest @ ..] = body else {
        return false;
    };
    layout.height = u32::from(u16::from_be_bytes([*h0, *h1]));
    layout.width = u32::from(u16::from_be_bytes([*w0, *w1]));
    layout.components = *components;
    layout.progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
    for component in rest.chunks_exact(3).take(usize::from(*components)) {
        let (h, v) = (component[1] >> 4, component[1] & 0x0F);
        layout.max_sampling = (layout.max_sampling.0.max(h), layout.max_sampling.1.max(v));
        layout.blocks_per_mcu += u32::from(h) * u32::from(v);
    }
    true
}

/// Where the entropy-coded data starting at `at` ends: at the first marker that is neither a
/// stuffed zero nor a restart marker.
pub(super) fn skip_entropy_data(bytes: &[u8], mut at: usize) -> usize {
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        at += offset;
        match bytes.get(at + 1) {
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => at += 1,
            _ => return at,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(progressive: bool) -> Vec<u8> {
        let pixels = vec![128u8; 100 * 60 * 3];
        let image = crate::vips::Image::from_pixels(&pixels, 100, 60, 3).expect("an image");
        let format = crate::vips::SaveFormat::Jpeg {
            quality: 80,
            progressive,
            strip: true,
        };
        image.save(format).expect("a jpeg")
    }

    #[test]
    fn baseline_has_one_scan() {
        let layout = jpeg_layout(&encode(false)).expect("a layout");
        assert_eq!(
            (layout.width, layout.height, layout.components),
            (100, 60, 3)
        );
        assert!(!layout.progressive);
        assert_eq!(layout.scans, 1);
        assert_eq!(layout.coefficient_bytes(), 0);
    }

    #[test]
    fn progressive_counts_every_scan() {
        let layout = jpeg_layout(&encode(true)).expect("a layout");
        assert!(layout.progressive);
        // libjpeg's default progressive script for a 3-component file has 10 scans.
        assert_eq!(layout.scans, 10);
        // 4:2:0: 6 blocks per 16×16 MCU; 7×4 MCUs.
        assert_eq!(layout.blocks_per_mcu, 6);
        assert_eq!(layout.coefficient_bytes(), 7 * 4 * 6 * 64 * 2);
    }

    #[test]
    fn garbage_and_truncation_never_panic() {
        assert_eq!(jpeg_layout(b"not a jpeg"), None);
        assert_eq!(jpeg_layout(&[0xFF, 0xD8]), None);
        let jpeg = encode(true);
        for cut in 0..jpeg.len() {
            let _ = jpeg_layout(&jpeg[..cut]);
        }
    }
}
