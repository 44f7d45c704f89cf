//! EXIF orientation: reading the tag from a TIFF-structured EXIF block (as JPEG APP1, WebP's EXIF
//! chunk and PNG's eXIf chunk carry it) and applying it to decoded pixels, so the output is upright
//! and the tag can be dropped, as libvips' thumbnail does.

use super::pixels::Pixels;
use crate::types::{Flip, Rotation};

/// The EXIF orientation tag (0x0112) in IFD0, 1..=8; `None` when absent, malformed or out of range.
/// `exif` starts at the TIFF header (`II*\0` or `MM\0*`); an `Exif\0\0` prefix is skipped.
pub(super) fn exif_orientation(exif: &[u8]) -> Option<u16> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let little = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let ifd0 = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd0)?);
    (0..entries).find_map(|i| {
        let entry = ifd0.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        // Tag 0x0112, type SHORT (3), one value, stored in the first two bytes of the value field.
        if u16_at(entry)? != 0x0112 || u16_at(entry + 2)? != 3 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        (1..=8).contains(&value).then_some(value)
    })
}

/// Whether `orientation` swaps width and height (the transposed ones, 5..=8).
pub(super) fn transposes(orientation: u16) -> bool {
    (5..=8).contains(&orientation)
}

/// Returns `image` turned upright for `orientation` (1..=8, as EXIF defines them).
pub(super) fn apply(image: Pixels, orientation: u16) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return image;
    }
    let (w, h, c) = (
        image.width as usize,
        image.height as usize,
        image.channels as usize,
    );
    let (ow, oh) = if transposes(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    let mut out = vec![0u8; image.data.len()];
    for oy in 0..oh {
        for ox in 0..ow {
            // Where the output pixel (ox, oy) comes from in the stored image.
            let (sx, sy) = match orientation {
                2 => (w - 1 - ox, oy),
                3 => (w - 1 - ox, h - 1 - oy),
                4 => (ox, h - 1 - oy),
                5 => (oy, ox),
                6 => (oy, h - 1 - ox),
                7 => (w - 1 - oy, h - 1 - ox),
                _ => (w - 1 - oy, ox), // 8
            };
            let from = (sy * w + sx) * c;
            let to = (oy * ow + ox) * c;
            out[to..to + c].copy_from_slice(&image.data[from..from + c]);
        }
    }
    Pixels {
        width: ow as u32,
        height: oh as u32,
        channels: image.channels,
        data: out,
    }
}

/// Returns `image` turned clockwise by `rotation`, then mirrored by `flip` (the plan's `rot` and
/// `flip`, after auto-orientation): each is the EXIF orientation that does the same turn.
pub(super) fn turn(image: Pixels, rotation: Rotation, flip: Flip) -> Pixels {
    let image = match rotation {
        Rotation::None => image,
        Rotation::Quarter => apply(image, 6),
        Rotation::Half => apply(image, 3),
        Rotation::ThreeQuarters => apply(image, 8),
    };
    match (flip.horizontal, flip.vertical) {
        (false, false) => image,
        (true, false) => apply(image, 2),
        (false, true) => apply(image, 4),
        (true, true) => apply(image, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Writers = (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]);

    fn exif(little: bool, orientation: u16) -> Vec<u8> {
        let mut v = Vec::new();
        let (u16b, u32b): Writers = if little {
            v.extend_from_slice(b"II*\0");
            (u16::to_le_bytes, u32::to_le_bytes)
        } else {
            v.extend_from_slice(b"MM\0*");
            (u16::to_be_bytes, u32::to_be_bytes)
        };
        v.extend_from_slice(&u32b(8));
        v.extend_from_slice(&u16b(2)); // two entries: an unrelated one, then orientation
        for (tag, value) in [(0x010F_u16, 7_u16), (0x0112, orientation)] {
            v.extend_from_slice(&u16b(tag));
            v.extend_from_slice(&u16b(3));
            v.extend_from_slice(&u32b(1));
            v.extend_from_slice(&u16b(value));
            v.extend_from_slice(&[0, 0]);
        }
        v.extend_from_slice(&u32b(0));
        v
    }

    #[test]
    fn reads_the_tag_in_both_byte_orders() {
        assert_eq!(exif_orientation(&exif(true, 6)), Some(6));
        assert_eq!(exif_orientation(&exif(false, 8)), Some(8));
        let mut prefixed = b"Exif\0\0".to_vec();
        prefixed.extend(exif(false, 3));
        assert_eq!(exif_orientation(&prefixed), Some(3));
    }

    #[test]
    fn malformed_blocks_have_no_orientation() {
        assert_eq!(exif_orientation(&[]), None);
        assert_eq!(exif_orientation(b"II*\0\xff\xff\xff\xff"), None);
        assert_eq!(exif_orientation(&exif(true, 9)), None);
        let whole = exif(true, 6);
        for cut in 0..whole.len() - 2 {
            let _ = exif_orientation(&whole[..cut]);
        }
    }

    /// A 3x2 image whose pixels are their own index, one channel.
    fn numbered() -> Pixels {
        Pixels {
            width: 3,
            height: 2,
            channels: 1,
            data: vec![0, 1, 2, 3, 4, 5],
        }
    }

    #[test]
    fn every_orientation_turns_the_image_upright() {
        // Stored 3x2:  0 1 2 / 3 4 5. The expected upright images follow the EXIF definitions.
        let cases: [(u16, u32, &[u8]); 8] = [
            (1, 3, &[0, 1, 2, 3, 4, 5]),
            (2, 3, &[2, 1, 0, 5, 4, 3]),
            (3, 3, &[5, 4, 3, 2, 1, 0]),
            (4, 3, &[3, 4, 5, 0, 1, 2]),
            (5, 2, &[0, 3, 1, 4, 2, 5]),
            (6, 2, &[3, 0, 4, 1, 5, 2]),
            (7, 2, &[5, 2, 4, 1, 3, 0]),
            (8, 2, &[2, 5, 1, 4, 0, 3]),
        ];
        for (orientation, width, expected) in cases {
            let out = apply(numbered(), orientation);
            assert_eq!(
                (out.width, out.data.as_slice()),
                (width, expected),
                "orientation {orientation}"
            );
        }
    }

    #[test]
    fn rot_turns_clockwise_and_flip_mirrors_after_it() {
        // 0 1 2 / 3 4 5 turned a quarter clockwise is 3 0 / 4 1 / 5 2.
        let none = Flip::default();
        let h = Flip {
            horizontal: true,
            vertical: false,
        };
        let v = Flip {
            horizontal: false,
            vertical: true,
        };
        let hv = Flip {
            horizontal: true,
            vertical: true,
        };
        // flip after rot: 3 0 / 4 1 / 5 2 mirrored is 0 3 / 1 4 / 2 5 (flipping first would give
        // 5 2 / 4 1 / 3 0).
        let cases: [(Rotation, Flip, u32, &[u8]); 7] = [
            (Rotation::Quarter, none, 2, &[3, 0, 4, 1, 5, 2]),
            (Rotation::Quarter, h, 2, &[0, 3, 1, 4, 2, 5]),
            (Rotation::Half, none, 3, &[5, 4, 3, 2, 1, 0]),
            (Rotation::ThreeQuarters, none, 2, &[2, 5, 1, 4, 0, 3]),
            (Rotation::None, h, 3, &[2, 1, 0, 5, 4, 3]),
            (Rotation::None, v, 3, &[3, 4, 5, 0, 1, 2]),
            (Rotation::Quarter, hv, 2, &[2, 5, 1, 4, 0, 3]),
        ];
        for (rotation, flip, width, expected) in cases {
            let out = turn(numbered(), rotation, flip);
            assert_eq!(
                (out.width, out.data.as_slice()),
                (width, expected),
                "{rotation:?} {flip:?}"
            );
        }
    }
}
