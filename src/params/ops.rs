//! Typed values of the operation parameters (geometry, orientation, effects, overlay). Each type has
//! exactly one canonical spelling, used in the cache key.

use super::Source;
use crate::types::{color_str, Gravity, Interesting, Milli, Rgba};

/// Which part of the image `fit=cover` keeps (and where `fit=contain` places the image).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Position {
    Gravity(Gravity),
    Smart(Interesting),
    /// A point of interest, as fractions of the width and height (0..=1), kept as close to the
    /// centre of the output as the image allows.
    Focal {
        x: Milli,
        y: Milli,
    },
}

impl Position {
    pub(crate) fn canonical(self) -> String {
        match self {
            Position::Gravity(g) => g.as_str().to_string(),
            Position::Smart(Interesting::Attention) => "attention".into(),
            Position::Smart(Interesting::Entropy) => "entropy".into(),
            Position::Focal { x, y } => format!("focal:{x},{y}"),
        }
    }
}

/// A rectangle of the (auto-oriented) source, in source pixels: `crop=x,y,w,h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// Extra space around the output, in output pixels (`pad=N` or `pad=top,right,bottom,left`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    pub left: u32,
}

impl Padding {
    pub fn is_zero(self) -> bool {
        self == Padding::default()
    }
}

/// A watermark image (`wm=`) laid over the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark {
    pub src: Source,
    pub position: Gravity,
    /// Watermark width as a fraction of the output width; `None`: its own size (shrunk to fit).
    pub scale: Option<Milli>,
    /// 0..=1.
    pub opacity: Milli,
    /// Distance from the edges it leans to, in output pixels.
    pub margin: u32,
}

impl Watermark {
    /// The source goes last and length-prefixed, so no source URL can be mistaken for other fields.
    pub(crate) fn canonical(&self) -> String {
        let src = self.src.identity();
        format!(
            "{},{},{},{},{}:{src}",
            self.position.as_str(),
            self.scale.map(|s| s.to_string()).unwrap_or_default(),
            self.opacity,
            self.margin,
            src.len(),
        )
    }
}

pub(super) fn background_str(color: Option<Rgba>) -> String {
    color.map(color_str).unwrap_or_default()
}
