//! A valid progressive JPEG with as many scans as the standard allows, written byte by byte: the
//! hostile case of the processing deadline (docs/SECURITY.md, "Processing deadline"). libjpeg
//! decodes every scan of a progressive file in one uninterruptible call, and each scan walks every
//! block of its component, so the decode costs scans × blocks however small the file is.
//!
//! `cjpeg -scans` and `jpegtran -scans` stop at 100 scans, so the file is written here: a flat grey
//! 4:2:0 frame, one DC scan, then for each component and each of the 63 AC coefficients a first
//! scan at bit `refinements` and one refinement scan per lower bit, each a run of end-of-band
//! codes. Every scan is legal (spectral selection and successive approximation as ITU T.81 G.1.1
//! allows), so the decoder raises no warning.

/// Huffman table of the DC scan: one symbol (difference category 0), code `0`.
const DC_TABLE: [u8; 17] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00];
/// The 15 EOB-run symbols EOB0..EOB14 (0x00, 0x10, .., 0xE0), each a 4-bit code equal to its index.
const EOB_SYMBOLS: usize = 15;

/// A `width`×`height` grey progressive JPEG with `1 + 3 × 63 × (1 + refinements)` scans (1891 for
/// 9 refinements; `refinements` is capped at 13, the deepest successive approximation allowed).
pub fn scan_heavy_jpeg(width: u16, height: u16, refinements: u8) -> Vec<u8> {
    let refinements = refinements.min(13);
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xDB, &[[0u8].as_slice(), &[1u8; 64]].concat());
    let [h1, h0] = height.to_be_bytes();
    let [w1, w0] = width.to_be_bytes();
    let frame = [8, h1, h0, w1, w0, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0];
    segment(&mut out, 0xC2, &frame);
    segment(&mut out, 0xC4, &huffman_tables());
    // The DC scan: every block's difference is category 0, one `0` bit each.
    segment(&mut out, 0xDA, &[3, 1, 0, 2, 0, 3, 0, 0, 0, 0]);
    let mcus = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    let mut bits = Bits::default();
    for _ in 0..mcus * 6 {
        bits.put(0, 1);
    }
    out.extend(bits.finish());
    let (w, h) = (u64::from(width), u64::from(height));
    let blocks = [
        w.div_ceil(8) * h.div_ceil(8),
        w.div_ceil(2).div_ceil(8) * h.div_ceil(2).div_ceil(8),
        w.div_ceil(2).div_ceil(8) * h.div_ceil(2).div_ceil(8),
    ];
    for (component, blocks) in (1u8..).zip(blocks) {
        for k in 1..=63u8 {
            let mut ah = 0;
            for al in (0..=refinements).rev() {
                segment(&mut out, 0xDA, &[1, component, 0, k, k, (ah << 4) | al]);
                out.extend(eob_runs(blocks));
                ah = al;
            }
        }
    }
    out.extend([0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    let length = u16::try_from(body.len() + 2).unwrap_or(u16::MAX);
    out.extend([0xFF, marker]);
    out.extend(length.to_be_bytes());
    out.extend(body);
}

/// DC table 0 and AC table 0 in one DHT body.
fn huffman_tables() -> Vec<u8> {
    let mut body = vec![0x00];
    body.extend(DC_TABLE);
    body.push(0x10);
    let mut counts = [0u8; 16];
    counts[3] = EOB_SYMBOLS as u8;
    body.extend(counts);
    body.extend((0..EOB_SYMBOLS as u8).map(|n| n << 4));
    body
}

/// End-of-band runs covering `blocks` blocks: EOBn codes run `2^n + extra` blocks (at most 32767).
fn eob_runs(mut blocks: u64) -> Vec<u8> {
    let mut bits = Bits::default();
    while blocks > 0 {
        let run = blocks.min(32_767);
        let n = 63 - run.leading_zeros();
        bits.put(u32::from(n as u8), 4);
        bits.put((run - (1 << n)) as u32, n);
        blocks -= run;
    }
    bits.finish()
}

/// An entropy-coded segment's bit writer: most significant bit first, `0xFF` stuffed with `0x00`,
/// the last byte padded with ones.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    acc: u32,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.used += 1;
            if self.used == 8 {
                self.flush_byte();
            }
        }
    }

    fn flush_byte(&mut self) {
        let byte = (self.acc & 0xFF) as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
        self.acc = 0;
        self.used = 0;
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            let pad = 8 - self.used;
            self.acc = (self.acc << pad) | ((1 << pad) - 1);
            self.flush_byte();
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::jpeg_layout;
    use crate::vips::Image;

    #[test]
    fn every_scan_is_there_and_libjpeg_decodes_it_without_a_warning() {
        let jpeg = scan_heavy_jpeg(100, 60, 2);
        let layout = jpeg_layout(&jpeg).expect("a jpeg");
        assert_eq!((layout.width, layout.height), (100, 60));
        assert!(layout.progressive);
        assert_eq!(layout.scans, 1 + 3 * 63 * 3);
        let image = Image::thumbnail_from_buffer(
            &jpeg,
            100,
            60,
            crate::vips::ThumbnailSize::Force,
            crate::vips::FailOn::Warning,
        )
        .expect("loads");
        let pixels = image
            .decode_to_memory()
            .expect("decodes under fail_on=warning");
        assert!(pixels.iter().all(|&v| v.abs_diff(128) <= 1), "flat grey");
    }
}
