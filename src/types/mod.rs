//! The vocabulary every layer speaks: formats, sizes, rectangles, colours, gravities, operations
//! and the text spec. It imports nothing of ours, so the parser (`params`), the render use-case
//! (`render`) and the engines all depend on it and never on each other, the role
//! `imageflow_types` plays between imageflow's parser and its core.

mod caching;
mod color;
mod format;
mod geometry;
mod ops;
pub mod text;

pub use caching::{Caching, Store};
pub use color::{color_str, parse_color, Rgba};
pub use format::{AcceptClass, OutputFormat, SourceFormat};
pub use geometry::{Gravity, Rect, Size};
pub use ops::{Effects, Encoding, EngineChoice, Flip, Interesting, Milli, Rotation};
pub use text::{TextAlign, TextSpec, TextTooLarge};
