//! The safe layer over `vips-sys`: process-wide initialisation, RAII image handles, operations,
//! encoders and error reporting. This folder and `sys/` are the only places in imgshield where
//! `unsafe` is allowed; everything above it (the libvips engine, `/info`, the samples) calls only
//! the safe API below.
//!
//! It depends on `vips-sys` and std alone, never on the rest of imgshield: it has its own small
//! vocabulary ([`FailOn`], [`Interesting`], [`Align`], RGBA colours as `[u8; 4]`), and the engine
//! converts its own types into it.
//!
//! Ownership rules:
//! - [`Image`] owns one GObject reference: `Drop` unrefs, `Clone` refs (never derived).
//! - An image opened from a buffer reads that buffer lazily for as long as it (or any image derived
//!   from it) lives, so `Image<'src>` borrows the buffer and every derived image carries the same
//!   lifetime.
//! - `Image` is deliberately not `Send`: a pipeline is built and consumed inside one blocking closure
//!   and never crosses an `.await` or a thread.
//!
//! Files, by concern: [`error`](VipsError), `runtime` (init and process policy), `image` (the
//! handle), `load`, `jpeg` (our own JPEG decode), `compute` (running a pipeline), `resize`,
//! `geometry`, `colour`, `frames`, `ops` (filters and metadata), `save`, `draw` (canvases,
//! compositing), `text` (Pango text, a font map per thread), `text_jpeg` (small banners' one-call
//! JPEG encode), `bidi` (paragraph directions for text alignment), `introspect`.

mod bidi;
mod colour;
mod compute;
mod draw;
mod error;
mod frames;
mod geometry;
mod image;
mod introspect;
mod jpeg;
mod load;
mod ops;
mod resize;
mod runtime;
mod save;
mod text;
mod text_jpeg;

pub use draw::Align;
pub use error::VipsError;
pub use geometry::Interesting;
pub use image::Image;
pub use jpeg::{JpegDecode, JpegDecodeError};
pub use load::{FailOn, ThumbnailSize};
pub use runtime::{allow_jxl_loader, init, Runtime};
pub use save::SaveFormat;
pub use text::{render_text, TextPixels};
pub use text_jpeg::encode_rgb_jpeg;
