//! Post-encode clean-up of WebP files. libvips 8.14's webpsave ignores `strip` and always writes an
//! EXIF chunk (orientation, resolution: ~190 bytes, 5-10% of a small thumbnail), so the chunks are
//! dropped from the RIFF container here, where no encoder setting can bring them back.

/// VP8X feature flags for the chunks we drop.
const VP8X_EXIF: u8 = 1 << 3;
const VP8X_XMP: u8 = 1 << 2;

/// `webp` without EXIF and XMP chunks (and with their VP8X flags cleared). Anything that does not
/// parse as a RIFF WebP file is returned unchanged.
pub fn drop_webp_metadata(webp: Vec<u8>) -> Vec<u8> {
    if webp.len() < 12 || &webp[0..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return webp;
    }
    let mut out = Vec::with_capacity(webp.len());
    out.extend_from_slice(&webp[..12]);
    let mut at = 12;
    while at < webp.len() {
        let Some(header) = webp.get(at..at + 8) else {
            return webp;
        };
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let end = at + 8 + size + (size & 1);
        if end > webp.len() {
            return webp;
        }
        match &header[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" if size >= 1 => {
                let start = out.len();
                out.extend_from_slice(&webp[at..end]);
                out[start + 8] &= !(VP8X_EXIF | VP8X_XMP);
            }
            _ => out.extend_from_slice(&webp[at..end]),
        }
        at = end;
    }
    let Ok(riff_size) = u32::try_from(out.len() - 8) else {
        return webp;
    };
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut c = fourcc.to_vec();
        c.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        c.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        file.extend_from_slice(b"WEBP");
        file.extend_from_slice(&body);
        file
    }

    #[test]
    fn exif_and_xmp_chunks_and_flags_are_removed() {
        let vp8x = chunk(
            b"VP8X",
            &[VP8X_EXIF | VP8X_XMP | 0x10, 0, 0, 0, 9, 0, 0, 9, 0, 0],
        );
        let image = chunk(b"VP8 ", &[1, 2, 3]);
        let input = riff(&[
            vp8x,
            image.clone(),
            chunk(b"EXIF", b"Exif\0\0secret"),
            chunk(b"XMP ", b"<x/>"),
        ]);
        let output = drop_webp_metadata(input);
        let expected = riff(&[chunk(b"VP8X", &[0x10, 0, 0, 0, 9, 0, 0, 9, 0, 0]), image]);
        assert_eq!(output, expected);
    }

    #[test]
    fn anything_else_is_left_alone() {
        for input in [b"not a webp".to_vec(), riff(&[]), {
            let mut truncated = riff(&[chunk(b"VP8 ", &[1, 2, 3, 4])]);
            truncated.truncate(truncated.len() - 2);
            truncated
        }] {
            assert_eq!(drop_webp_metadata(input.clone()), input);
        }
    }
}
