//! [`Renderer::estimate`]: a job's expected peak memory, worked out from its header and plan before
//! any pixel is decoded (see [`super::memory`]). It runs the same header checks and plan
//! resolution as the render itself, so a job that would fail fails here, before it waits for memory.

use super::memory::{peak_bytes, MemoryFacts};
use super::*;
use crate::engine::jpeg_layout;
use crate::types::SourceFormat;

/// An `/info` job decodes a thumbnail for its placeholders: about this many pixels.
const INFO_THUMBNAIL_PIXELS: u64 = 64 * 64;

/// A `/text` banner's estimate: its canvas is at most the output limit, but its real size is known
/// only once the text is laid out; this covers banners up to about 2 MP.
const BANNER_BYTES: u64 = 48 << 20;

impl Renderer {
    /// The expected peak memory of `job`, in bytes; the errors the render would report from the
    /// header or the plan.
    pub fn estimate(&self, job: &Job<'_>) -> Result<u64, RenderError> {
        match job {
            Job::Resize {
                source,
                params,
                accept,
                watermark,
                ..
            } => {
                let primary = self.primary();
                let info = primary.probe(source)?;
                self.check_source(&info)?;
                let format =
                    choose_format_animated(params.format, *accept, &info, params.animated, |f| {
                        primary.can_encode(f)
                    })?;
                let plan =
                    resolve_trimmed(params, &info, None, format, self.limits.max_output_pixels)?;
                let frames = if plan.animated { info.pages } else { 1 };
                let facts = facts(source, &info, frames, &plan);
                let watermark = watermark.as_ref().map_or(0, |w| w.len() as u64);
                Ok(peak_bytes(&facts).saturating_add(watermark))
            }
            Job::Info { source, .. } => {
                let info = self.primary().probe(source)?;
                self.check_source(&info)?;
                let facts = MemoryFacts {
                    resize_pixels: INFO_THUMBNAIL_PIXELS,
                    output_pixels: INFO_THUMBNAIL_PIXELS,
                    output: OutputFormat::Png,
                    ..facts_of_source(source, &info, 1)
                };
                Ok(peak_bytes(&facts))
            }
            Job::Banner { .. } => Ok(BANNER_BYTES),
        }
    }
}

fn facts(source: &[u8], info: &SourceInfo, frames: u32, plan: &crate::engine::Plan) -> MemoryFacts {
    let pixels = |size: crate::types::Size| u64::from(size.width) * u64::from(size.height);
    MemoryFacts {
        resize_pixels: pixels(plan.resize),
        output_pixels: pixels(plan.output_size()),
        output: plan.format,
        ..facts_of_source(source, info, frames)
    }
}

fn facts_of_source(source: &[u8], info: &SourceInfo, frames: u32) -> MemoryFacts {
    let coefficient_bytes = match info.format {
        SourceFormat::Jpeg => jpeg_layout(source).map_or(0, |layout| layout.coefficient_bytes()),
        _ => 0,
    };
    MemoryFacts {
        source_bytes: source.len() as u64,
        format: info.format,
        source_pixels: info.pixels(),
        frames,
        coefficient_bytes,
        resize_pixels: 0,
        output_pixels: 0,
        output: OutputFormat::Jpeg,
    }
}
