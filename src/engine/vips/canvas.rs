//! A small RGBA canvas in memory for text: a label's `txtbg` box and a `/text` banner are filled
//! and composited here, in one pass over pixels we own, instead of as a libvips pipeline (whose
//! set-up and float compositing cost more than the text itself for a banner-sized image). The
//! arithmetic is libvips' (`composite` "over" on unpremultiplied 8-bit RGBA, truncated; `flatten`
//! in integers), so the pixels match those of the pipeline it replaces.

use crate::vips::TextPixels;

/// `width`×`height` 8-bit RGBA pixels, not premultiplied.
#[derive(Clone, Debug)]
pub(super) struct Canvas {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) rgba: Vec<u8>,
}

impl Canvas {
    /// A canvas of one colour.
    pub(super) fn filled(width: u32, height: u32, color: [u8; 4]) -> Canvas {
        let pixels = width as usize * height as usize;
        Canvas {
            width,
            height,
            rgba: color.repeat(pixels),
        }
    }

    /// `over` drawn over the canvas with its top-left corner at (`x`, `y`); whatever falls outside
    /// is clipped.
    pub(super) fn draw(&mut self, over: &TextPixels, x: i64, y: i64) {
        let clip = |at: i64, len: u32, room: u32| -> Option<(usize, usize, usize)> {
            // (first source index, first destination index, count) along one axis.
            let start = at.max(0);
            let end = (at + i64::from(len)).min(i64::from(room));
            (end > start).then(|| {
                (
                    (start - at) as usize,
                    start as usize,
                    (end - start) as usize,
                )
            })
        };
        let (Some((sx, dx, w)), Some((sy, dy, h))) = (
            clip(x, over.width, self.width),
            clip(y, over.height, self.height),
        ) else {
            return;
        };
        let (src_row, dst_row) = (over.width as usize * 4, self.width as usize * 4);
        for row in 0..h {
            let src = &over.rgba[(sy + row) * src_row + sx * 4..][..w * 4];
            let dst = &mut self.rgba[(dy + row) * dst_row + dx * 4..][..w * 4];
            for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(4)) {
                blend_over(s, d);
            }
        }
    }

    /// The canvas as interleaved pixels of `bands` bands: 4 as it is, 3 without its alpha (for a
    /// canvas known to be opaque), or 3 flattened onto white.
    pub(super) fn into_bands(self, bands: Bands) -> Vec<u8> {
        if bands == Bands::Rgba {
            return self.rgba;
        }
        let mut out = vec![0u8; self.rgba.len() / 4 * 3];
        let pairs = out.chunks_exact_mut(3).zip(self.rgba.chunks_exact(4));
        match bands {
            Bands::Rgb | Bands::Rgba => pairs.for_each(|(o, p)| o.copy_from_slice(&p[..3])),
            Bands::RgbOnWhite => pairs.for_each(|(o, p)| {
                // vips_flatten on uchar: (a * v + (255 - a) * background) / 255.
                let a = u32::from(p[3]);
                for (o, v) in o.iter_mut().zip(p) {
                    *o = ((a * u32::from(*v) + (255 - a) * 255) / 255) as u8;
                }
            }),
        }
        out
    }
}

/// What [`Canvas::into_bands`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bands {
    Rgba,
    Rgb,
    RgbOnWhite,
}

impl From<Canvas> for TextPixels {
    fn from(canvas: Canvas) -> TextPixels {
        TextPixels {
            width: canvas.width,
            height: canvas.height,
            rgba: canvas.rgba,
        }
    }
}

/// Porter-Duff "over" of one unpremultiplied RGBA pixel `s` onto `d`, as libvips' `composite`
/// computes it: premultiplied in floats, unpremultiplied and truncated back to 8 bits (its vector
/// code rounds a few values the other way: at most 1 apart, tested).
fn blend_over(s: &[u8], d: &mut [u8]) {
    match s[3] {
        0 => {}
        255 => d.copy_from_slice(s),
        sa => {
            // libvips' order of operations, so the rounding is the same too.
            let (a_s, a_d) = (
                f32::from(sa) * (1.0 / 255.0),
                f32::from(d[3]) * (1.0 / 255.0),
            );
            let t = 1.0 - a_s;
            let a_r = a_s + a_d * t;
            for b in 0..3 {
                let v = (f32::from(s[b]) * a_s + t * (f32::from(d[b]) * a_d)) * (1.0 / a_r);
                d[b] = v.clamp(0.0, 255.0) as u8;
            }
            d[3] = (a_r * 255.0).clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(width: u32, height: u32, color: [u8; 4]) -> TextPixels {
        Canvas::filled(width, height, color).into()
    }

    #[test]
    fn drawing_clips_at_every_edge() {
        let mut canvas = Canvas::filled(4, 3, [0, 0, 0, 255]);
        canvas.draw(&pixels(2, 2, [255, 0, 0, 255]), -1, 2);
        canvas.draw(&pixels(2, 2, [0, 255, 0, 255]), 3, -1);
        canvas.draw(&pixels(9, 9, [0, 0, 255, 255]), 9, 0);
        let at = |x: usize, y: usize| canvas.rgba[(y * 4 + x) * 4..][..4].to_vec();
        assert_eq!(at(0, 2), [255, 0, 0, 255]);
        assert_eq!(at(1, 2), [0, 0, 0, 255]);
        assert_eq!(at(3, 0), [0, 255, 0, 255]);
        assert_eq!(at(3, 1), [0, 0, 0, 255]);
        assert_eq!(at(2, 0), [0, 0, 0, 255]);
    }

    /// Every alpha of a few colours, drawn over opaque and translucent bases, by us and by
    /// libvips' composite (and flatten onto white).
    #[test]
    fn over_and_flatten_follow_libvips() {
        use crate::vips::Image;
        let over = TextPixels {
            width: 256,
            height: 3,
            rgba: [[255, 0, 0], [17, 200, 90], [0, 0, 0]]
                .iter()
                .flat_map(|rgb| (0..=255u8).flat_map(move |a| [rgb[0], rgb[1], rgb[2], a]))
                .collect(),
        };
        let overlay = Image::from_pixels(&over.rgba, 256, 3, 4).expect("overlay");
        for base in [
            [200, 200, 200, 255],
            [30, 60, 250, 255],
            [0, 0, 0, 0],
            [90, 200, 10, 100],
        ] {
            let mut canvas = Canvas::filled(256, 3, base);
            canvas.draw(&over, 0, 0);
            let theirs = Image::solid(256, 3, base)
                .and_then(|b| b.composite_over(&overlay, 0, 0, 1.0))
                .expect("composite");
            let flat = theirs
                .flatten(&[255.0; 3])
                .and_then(|f| f.decode_to_memory());
            let theirs = theirs.decode_to_memory().expect("pixels");
            let worst = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max();
            assert!(worst(&canvas.rgba, &theirs) <= Some(1), "over {base:?}");
            let ours = canvas.into_bands(Bands::RgbOnWhite);
            assert!(
                worst(&ours, &flat.expect("flat")) <= Some(1),
                "flatten {base:?}"
            );
        }
    }
}
