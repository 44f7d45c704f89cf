//! Decoded pixels in the one layout the pure-Rust pipeline works in: interleaved 8-bit RGB or RGBA
//! (grey, or grey and alpha, after `gray`), row-major, no padding. Decoders convert into it; the
//! geometry steps (crop, pad, flatten) work on it.

use crate::engine::{Placement, Rect, Rgba};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pixels {
    pub width: u32,
    pub height: u32,
    /// 3 (RGB) or 4 (RGBA); 1 (grey) or 2 (grey and alpha) after `gray`.
    pub channels: u8,
    pub data: Vec<u8>,
}

impl Pixels {
    pub(super) fn has_alpha(&self) -> bool {
        matches!(self.channels, 2 | 4)
    }

    /// Greyscale as libvips' `colourspace(B_W)` makes it from sRGB: a luminance of the linear
    /// light with libvips' own weights (0.2, 0.7, 0.1; measured: pure red, green and blue become
    /// 124, 218 and 89), encoded back with the sRGB curve; alpha kept.
    pub(super) fn into_grey(self) -> Pixels {
        if self.channels < 3 {
            return self;
        }
        let linear: Vec<f32> = (0..=255u8)
            .map(|v| srgb_to_linear(f32::from(v) / 255.0))
            .collect();
        let grey = |p: &[u8]| {
            let y = 0.2 * linear[usize::from(p[0])]
                + 0.7 * linear[usize::from(p[1])]
                + 0.1 * linear[usize::from(p[2])];
            (linear_to_srgb(y) * 255.0).round().clamp(0.0, 255.0) as u8
        };
        let c = usize::from(self.channels);
        let data = if self.has_alpha() {
            self.data
                .chunks_exact(c)
                .flat_map(|p| [grey(p), p[3]])
                .collect()
        } else {
            self.data.chunks_exact(c).map(grey).collect()
        };
        Pixels {
            width: self.width,
            height: self.height,
            channels: if self.has_alpha() { 2 } else { 1 },
            data,
        }
    }

    /// RGB from grey, grey+alpha to RGBA, anything else unchanged.
    pub(super) fn from_grey(width: u32, height: u32, grey: &[u8], with_alpha: bool) -> Pixels {
        let data = if with_alpha {
            grey.chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect()
        } else {
            grey.iter().flat_map(|&v| [v, v, v]).collect()
        };
        Pixels {
            width,
            height,
            channels: if with_alpha { 4 } else { 3 },
            data,
        }
    }

    /// RGBA whose alpha is opaque everywhere becomes RGB: smaller to resize and encode, and the
    /// same choice libvips makes for a GIF without transparency.
    pub(super) fn drop_opaque_alpha(self) -> Pixels {
        if self.channels != 4 || self.data.chunks_exact(4).any(|p| p[3] != 255) {
            return self;
        }
        Pixels {
            width: self.width,
            height: self.height,
            channels: 3,
            data: self
                .data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        }
    }

    /// Keeps only `rect` (which the plan keeps inside the image).
    pub(super) fn crop(self, rect: Rect) -> Pixels {
        let c = usize::from(self.channels);
        let (left, top) = (rect.left.min(self.width), rect.top.min(self.height));
        let width = rect.width.min(self.width - left);
        let height = rect.height.min(self.height - top);
        if (left, top, width, height) == (0, 0, self.width, self.height) {
            return self;
        }
        let stride = self.width as usize * c;
        let row = width as usize * c;
        let mut data = Vec::with_capacity(row * height as usize);
        for y in top..top + height {
            let start = y as usize * stride + left as usize * c;
            data.extend_from_slice(&self.data[start..start + row]);
        }
        Pixels {
            width,
            height,
            channels: self.channels,
            data,
        }
    }

    /// Places the image on a canvas filled with `background`; a background that is not opaque
    /// gives the image an alpha channel first.
    pub(super) fn pad(self, placement: Placement, background: Rgba) -> Pixels {
        let canvas = placement.canvas;
        let image = if background.0[3] < 255 {
            self.with_alpha()
        } else {
            self
        };
        let c = usize::from(image.channels);
        let fill = match c {
            1 => vec![luma(background)],
            2 => vec![luma(background), background.0[3]],
            _ => background.0[..c].to_vec(),
        };
        let (cw, ch) = (
            canvas.width.max(image.width),
            canvas.height.max(image.height),
        );
        let mut data: Vec<u8> = fill
            .iter()
            .copied()
            .cycle()
            .take(cw as usize * ch as usize * c)
            .collect();
        let x = placement.left.min(cw - image.width);
        let y = placement.top.min(ch - image.height);
        let row = image.width as usize * c;
        for (i, src) in image.data.chunks_exact(row.max(1)).enumerate() {
            let start = ((y as usize + i) * cw as usize + x as usize) * c;
            data[start..start + row].copy_from_slice(src);
        }
        Pixels {
            width: cw,
            height: ch,
            channels: image.channels,
            data,
        }
    }

    pub(super) fn with_alpha(self) -> Pixels {
        if self.has_alpha() {
            return self;
        }
        let c = usize::from(self.channels);
        Pixels {
            width: self.width,
            height: self.height,
            channels: self.channels + 1,
            data: self
                .data
                .chunks_exact(c)
                .flat_map(|p| p.iter().copied().chain([255]))
                .collect(),
        }
    }

    /// Composites RGBA (or grey and alpha) over an opaque `background`, giving RGB (or grey).
    pub(super) fn flatten(self, background: Rgba) -> Pixels {
        if !self.has_alpha() {
            return self;
        }
        let [br, bg, bb, _] = background.0.map(u32::from);
        let over = |c: u8, b: u32, a: u32| ((u32::from(c) * a + b * (255 - a) + 127) / 255) as u8;
        if self.channels == 2 {
            let grey = u32::from(luma(background));
            return Pixels {
                width: self.width,
                height: self.height,
                channels: 1,
                data: self
                    .data
                    .chunks_exact(2)
                    .map(|p| over(p[0], grey, u32::from(p[1])))
                    .collect(),
            };
        }
        Pixels {
            width: self.width,
            height: self.height,
            channels: 3,
            data: self
                .data
                .chunks_exact(4)
                .flat_map(|p| {
                    let a = u32::from(p[3]);
                    [over(p[0], br, a), over(p[1], bg, a), over(p[2], bb, a)]
                })
                .collect(),
        }
    }
}

/// The grey a colour becomes on a greyscale canvas: Rec. 709 weights on the sRGB values, as the
/// libvips engine fills one with (`steps::luma`).
fn luma(colour: Rgba) -> u8 {
    let [r, g, b, _] = colour.0.map(f64::from);
    (0.2126 * r + 0.7152 * g + 0.0722 * b).round() as u8
}

fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Size;

    fn rgb(width: u32, height: u32) -> Pixels {
        let data = (0..width * height)
            .flat_map(|i| [i as u8, 0, 0])
            .collect::<Vec<_>>();
        Pixels {
            width,
            height,
            channels: 3,
            data,
        }
    }

    #[test]
    fn crop_keeps_the_rectangle() {
        let out = rgb(4, 3).crop(Rect {
            left: 1,
            top: 1,
            width: 2,
            height: 2,
        });
        assert_eq!((out.width, out.height), (2, 2));
        let reds: Vec<u8> = out.data.chunks_exact(3).map(|p| p[0]).collect();
        assert_eq!(reds, [5, 6, 9, 10]);
    }

    #[test]
    fn pad_places_on_the_canvas() {
        let out = rgb(2, 1).pad(
            Placement {
                canvas: Size {
                    width: 4,
                    height: 3,
                },
                left: 1,
                top: 1,
            },
            Rgba([9, 9, 9, 255]),
        );
        assert_eq!((out.width, out.height, out.channels), (4, 3, 3));
        let reds: Vec<u8> = out.data.chunks_exact(3).map(|p| p[0]).collect();
        assert_eq!(reds, [9, 9, 9, 9, 9, 0, 1, 9, 9, 9, 9, 9]);
        let clear = rgb(1, 1).pad(
            Placement {
                canvas: Size {
                    width: 1,
                    height: 3,
                },
                left: 0,
                top: 1,
            },
            Rgba::TRANSPARENT,
        );
        assert_eq!(clear.channels, 4);
        assert_eq!(clear.data, [0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0]);
    }

    #[test]
    fn flatten_composites_over_the_background() {
        let half = Pixels {
            width: 2,
            height: 1,
            channels: 4,
            data: vec![0, 0, 0, 128, 200, 100, 50, 255],
        };
        let out = half.flatten(Rgba::WHITE);
        assert_eq!(out.channels, 3);
        assert_eq!(out.data, [127, 127, 127, 200, 100, 50]);
    }

    #[test]
    fn grey_images_crop_pad_and_flatten_with_one_or_two_channels() {
        // Pure red, green and blue become libvips' greys (0.2/0.7/0.1 of linear light).
        let colours = Pixels {
            width: 3,
            height: 1,
            channels: 3,
            data: vec![255, 0, 0, 0, 255, 0, 0, 0, 255],
        };
        let grey = colours.into_grey();
        assert_eq!(
            (grey.channels, grey.data.as_slice()),
            (1, [124, 218, 89].as_slice())
        );
        let cropped = grey.clone().crop(Rect {
            left: 1,
            top: 0,
            width: 2,
            height: 1,
        });
        assert_eq!(cropped.data, [218, 89]);
        // A translucent canvas gives grey and alpha: the canvas is the background's luma at its
        // alpha, the image opaque.
        let placement = Placement {
            canvas: Size {
                width: 4,
                height: 1,
            },
            left: 1,
            top: 0,
        };
        let padded = grey.pad(placement, Rgba([255, 0, 0, 128]));
        assert_eq!(padded.channels, 2);
        assert_eq!(padded.data, [54, 128, 124, 255, 218, 255, 89, 255]);
        // Flattened over white: the canvas half-way to white, the image unchanged.
        let flat = padded.flatten(Rgba::WHITE);
        assert_eq!(
            (flat.channels, flat.data.as_slice()),
            (1, [154, 124, 218, 89].as_slice())
        );
    }

    #[test]
    fn opaque_alpha_is_dropped_and_real_alpha_kept() {
        let opaque = rgb(2, 2).with_alpha();
        assert_eq!(opaque.clone().drop_opaque_alpha(), rgb(2, 2));
        let mut see_through = opaque;
        see_through.data[3] = 0;
        assert_eq!(see_through.drop_opaque_alpha().channels, 4);
    }
}
