//! The [`Plan`]: everything an engine needs to make the output, with exact geometry, so every
//! engine produces the same dimensions. `render` resolves it from a request and a source header.

use std::time::Duration;

use crate::types::{
    Effects, Encoding, Flip, Gravity, Interesting, Milli, OutputFormat, Rect, Rgba, Rotation, Size,
    TextSpec,
};

/// How `fit=cover` cuts the overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crop {
    /// This rectangle (gravity or focal point, resolved here).
    Fixed(Rect),
    /// A `width`×`height` window chosen by libvips' smartcrop.
    Smart {
        width: u32,
        height: u32,
        interesting: Interesting,
    },
}

impl Crop {
    pub fn size(self) -> Size {
        match self {
            Crop::Fixed(rect) => Size {
                width: rect.width,
                height: rect.height,
            },
            Crop::Smart { width, height, .. } => Size { width, height },
        }
    }
}

/// Where the image goes on a padded canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub canvas: Size,
    pub left: u32,
    pub top: u32,
}

/// A watermark, resolved against the output it is laid on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlay {
    /// The watermark's encoded bytes (fetched like a source).
    pub source: bytes::Bytes,
    /// Fit the watermark inside this box (never enlarged beyond its own size unless `scale` says).
    pub max_size: Size,
    /// Scale the watermark to this exact width (`wmscale`), keeping its aspect ratio.
    pub width: Option<u32>,
    pub position: Gravity,
    pub margin: u32,
    pub opacity: Milli,
}

/// Everything an engine needs to produce the output, in the order it is applied:
/// auto-orient and scale to `resize`, cut `region`, rotate and flip, cut `crop`, apply `effects`,
/// place on the `pad` canvas, lay the watermark over it, flatten, encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Scale the auto-oriented source to exactly this size.
    pub resize: Size,
    /// Then keep only this part of it (`crop=` and `trim`, scaled).
    pub region: Option<Rect>,
    pub rotation: Rotation,
    pub flip: Flip,
    /// Then keep only this part of the rotated image (`fit=cover`).
    pub crop: Option<Crop>,
    pub effects: Effects,
    /// Then place the image on a canvas, filled with `background`.
    pub pad: Option<Placement>,
    /// Canvas colour for `pad`, and what alpha is flattened onto for formats without alpha.
    pub background: Rgba,
    pub overlay: Option<Overlay>,
    /// Text drawn over the result, after the watermark.
    pub text: Option<TextSpec>,
    pub format: OutputFormat,
    pub quality: u8,
    pub encoding: Encoding,
    /// Keep every frame: the source is animated and the format can hold it. Every geometric step
    /// then applies per frame.
    pub animated: bool,
    /// Drop EXIF/XMP/IPTC (orientation has already been applied, and its tag is always dropped).
    pub strip_metadata: bool,
    /// Wall-clock budget for the whole transform; the engine aborts the work (not only the wait)
    /// when it runs out. `None`: unlimited.
    pub time_limit: Option<Duration>,
    /// Whether a decode made for this plan may be kept for later sizes (the derivative cache):
    /// not when the source's origin forbade keeping it (`no-store`, `private`).
    pub keep_decode: bool,
}

impl Plan {
    /// The plainest plan: scale to `resize` and encode, nothing else.
    pub fn scale_to(resize: Size, format: OutputFormat) -> Plan {
        Plan {
            resize,
            region: None,
            rotation: Rotation::None,
            flip: Flip::default(),
            crop: None,
            effects: Effects::default(),
            pad: None,
            background: if format.supports_alpha() {
                Rgba::TRANSPARENT
            } else {
                Rgba::WHITE
            },
            overlay: None,
            text: None,
            format,
            quality: format.default_quality(),
            encoding: Encoding::default(),
            animated: false,
            strip_metadata: true,
            time_limit: None,
            keep_decode: true,
        }
    }

    pub fn with_time_limit(mut self, limit: Duration) -> Plan {
        self.time_limit = Some(limit);
        self
    }

    /// The size after `region`, rotation and flip: what `crop` and `pad` refer to.
    pub fn oriented_size(&self) -> Size {
        let size = self.region.map_or(self.resize, |r| Size {
            width: r.width,
            height: r.height,
        });
        if self.rotation.swaps_axes() {
            Size {
                width: size.height,
                height: size.width,
            }
        } else {
            size
        }
    }

    /// The size of one output frame.
    pub fn output_size(&self) -> Size {
        if let Some(pad) = self.pad {
            pad.canvas
        } else if let Some(crop) = self.crop {
            crop.size()
        } else {
            self.oriented_size()
        }
    }

    /// Whether the plan needs anything beyond scale, centre crop, pad and flatten: what the simplest
    /// engines can do. Names the first such operation.
    pub fn beyond_basics(&self) -> Option<&'static str> {
        let checks = [
            (
                matches!(self.crop, Some(Crop::Smart { .. })),
                "pos=attention/entropy",
            ),
            (self.effects.blur.is_some(), "blur"),
            (self.effects.sharpen.is_some(), "sharpen"),
            (self.overlay.is_some(), "wm"),
            (self.text.is_some(), "txt"),
            (self.encoding.palette, "palette"),
            (self.animated, "animation"),
            (!self.strip_metadata, "meta=keep"),
        ];
        checks
            .iter()
            .find(|(needed, _)| *needed)
            .map(|(_, name)| *name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the output would be {width}x{height} pixels, more than the {max} allowed")]
    OutputTooLarge { width: u64, height: u64, max: u64 },
    #[error("the crop {width}x{height}+{left}+{top} lies outside the {image_width}x{image_height} image")]
    CropOutside {
        left: u32,
        top: u32,
        width: u32,
        height: u32,
        image_width: u32,
        image_height: u32,
    },
    #[error("{format} cannot hold an image of {width}x{height}; at most {max} pixels per side")]
    TooLargeForFormat {
        format: &'static str,
        width: u32,
        height: u32,
        max: u32,
    },
}
