//! The pipeline, one small function per step, in the order `transform` applies them. Geometry and
//! effects run per frame ([`per_frame`]) so an animation keeps its frames apart: a blur must not
//! bleed from one frame into the next, a crop must cut every frame the same way.

use super::jpeg_load::{self, JpegDecoder};
use super::{internal, undecodable, Image, Intermediate, ThumbnailSize};
use crate::engine::{Clock, Crop, EngineError, OutputFormat, Overlay, Plan, Rect, Strictness};
use crate::types::{Interesting, Rotation};
use crate::vips;

/// The engine's smart-crop choice as libvips' own.
fn smart(interesting: Interesting) -> vips::Interesting {
    match interesting {
        Interesting::Attention => vips::Interesting::Attention,
        Interesting::Entropy => vips::Interesting::Entropy,
    }
}

/// How a load step decodes: who decodes JPEGs, how damaged a source may be, and the time limit.
#[derive(Clone, Copy)]
pub(super) struct Loading<'c> {
    pub(super) decoder: JpegDecoder,
    pub(super) strictness: Strictness,
    pub(super) clock: &'c Clock,
}

/// Shrink-on-load to the plan's exact resize box (thumbnail auto-orients as it loads); every frame
/// of an animation when the plan keeps them. A JPEG's shrink-on-load is the JPEG load step's.
pub(super) fn load<'s>(
    source: &'s [u8],
    plan: &Plan,
    loading: Loading<'_>,
) -> Result<Image<'s>, EngineError> {
    let (width, height) = (plan.resize.width, plan.resize.height);
    let strictness = loading.strictness;
    if plan.animated {
        return Image::thumbnail_frames_from_buffer(source, width, height, strictness.into())
            .map_err(undecodable);
    }
    let (decoder, clock) = (loading.decoder, loading.clock);
    if let Some(image) = jpeg_load::thumbnail(source, (width, height), decoder, strictness, clock)?
    {
        return Ok(image);
    }
    Image::thumbnail_from_buffer(
        source,
        width,
        height,
        ThumbnailSize::Force,
        strictness.into(),
    )
    .map_err(undecodable)
}

/// A JPEG decoded at 1/`shrink` in the DCT domain (the JPEG load step) and reduced (Lanczos3) to
/// the plan's size: a coarser decode than thumbnail's rule picks.
pub(super) fn load_draft<'s>(
    source: &'s [u8],
    shrink: u32,
    plan: &Plan,
    loading: Loading<'_>,
) -> Result<Image<'s>, EngineError> {
    let Loading {
        decoder,
        strictness,
        clock,
    } = loading;
    jpeg_load::load_jpeg(source, shrink, decoder, strictness, clock)?
        .reduce_in_memory(plan.resize.width, plan.resize.height, clock.remaining())
        .map_err(|e| clock.explain(undecodable(e)))
}

/// Resize from a cached (or just made) decode: the part of thumbnail after shrink-on-load. The
/// decode is bare pixels, so `meta=keep` takes the metadata from `source`'s header, as the
/// thumbnail path would have it: everything but the orientation (the pixels are upright).
pub(super) fn load_decoded<'s>(
    decoded: &'s Intermediate,
    source: &[u8],
    plan: &Plan,
) -> Result<Image<'s>, EngineError> {
    let image = Image::from_pixels_borrowed(
        &decoded.pixels,
        decoded.width,
        decoded.height,
        decoded.bands,
    )
    .and_then(|image| image.reduce_in_memory(plan.resize.width, plan.resize.height, None))
    .map_err(internal)?;
    if plan.strip_metadata {
        return Ok(image);
    }
    let header = Image::header_from_buffer(source).map_err(undecodable)?;
    image.with_upright_metadata_of(&header).map_err(internal)
}

/// CMYK, 16-bit and other colour spaces become 8-bit sRGB so every encoder gets what it expects.
pub(super) fn to_srgb(image: Image<'_>) -> Result<Image<'_>, EngineError> {
    if image.needs_srgb_conversion() {
        image.to_srgb().map_err(undecodable)
    } else {
        Ok(image)
    }
}

/// Applies `step` to each frame of an animation (and once to a still image), then stacks the frames
/// again.
pub(super) fn per_frame<'s>(
    image: Image<'s>,
    plan: &Plan,
    clock: &Clock,
    step: impl Fn(Image<'s>, &Plan, &Clock) -> Result<Image<'s>, EngineError>,
) -> Result<Image<'s>, EngineError> {
    if !plan.animated || image.page_height() == image.height() {
        return step(image, plan, clock);
    }
    let frames = image
        .frames()
        .map_err(internal)?
        .into_iter()
        .map(|frame| step(frame, plan, clock))
        .collect::<Result<Vec<_>, _>>()?;
    // arrayjoin keeps the first input's metadata: frame delays and loop count come along.
    let joined = Image::join_frames(&frames).map_err(internal)?;
    Ok(joined)
}

/// Everything that shapes one frame: region, rotation, flip, crop, effects, padding.
pub(super) fn shape<'s>(
    image: Image<'s>,
    plan: &Plan,
    clock: &Clock,
) -> Result<Image<'s>, EngineError> {
    let image = region(image, plan)?;
    let image = rotate(image, plan, clock)?;
    let image = flip(image, plan, clock)?;
    let image = crop(image, plan, clock)?;
    let image = effects(image, plan)?;
    pad(image, plan)
}

fn extract<'s>(image: Image<'s>, rect: Rect) -> Result<Image<'s>, EngineError> {
    image
        .extract_area(rect.left, rect.top, rect.width, rect.height)
        .map_err(internal)
}

/// `crop=` and `trim`: the part of the scaled source that the rest of the plan works on.
fn region<'s>(image: Image<'s>, plan: &Plan) -> Result<Image<'s>, EngineError> {
    match plan.region {
        Some(rect) => extract(image, rect),
        None => Ok(image),
    }
}

/// Rotation, a vertical flip and smartcrop read their input out of order, which the sequential
/// loaders behind thumbnail refuse: they get the (already resized, so bounded) image from memory.
/// The decode runs here, so the time limit must reach into it.
fn random_access<'s>(image: Image<'s>, clock: &Clock) -> Result<Image<'s>, EngineError> {
    clock.check()?;
    if let Some(remaining) = clock.remaining() {
        image.set_time_limit(remaining);
    }
    image.in_memory().map_err(|e| clock.explain(undecodable(e)))
}

fn rotate<'s>(image: Image<'s>, plan: &Plan, clock: &Clock) -> Result<Image<'s>, EngineError> {
    match plan.rotation {
        Rotation::None => Ok(image),
        r => random_access(image, clock)?
            .rotate(r.degrees())
            .map_err(internal),
    }
}

fn flip<'s>(image: Image<'s>, plan: &Plan, clock: &Clock) -> Result<Image<'s>, EngineError> {
    let image = if plan.flip.horizontal {
        image.flip(true).map_err(internal)?
    } else {
        image
    };
    if plan.flip.vertical {
        random_access(image, clock)?.flip(false).map_err(internal)
    } else {
        Ok(image)
    }
}

/// The cover crop. A smart crop looks at each frame alone, which would make an animation's frames
/// jump around, so animations take the centre instead.
fn crop<'s>(image: Image<'s>, plan: &Plan, clock: &Clock) -> Result<Image<'s>, EngineError> {
    match plan.crop {
        None => Ok(image),
        Some(Crop::Fixed(rect)) => extract(image, rect),
        Some(Crop::Smart { width, height, .. }) if plan.animated => {
            let left = image.width().saturating_sub(width) / 2;
            let top = image.height().saturating_sub(height) / 2;
            extract(
                image,
                Rect {
                    left,
                    top,
                    width,
                    height,
                },
            )
        }
        Some(Crop::Smart {
            width,
            height,
            interesting,
        }) => random_access(image, clock)?
            .smartcrop(width, height, smart(interesting))
            .map_err(internal),
    }
}

/// Blur, sharpen and greyscale, on the resized image (so sigmas are in output pixels).
fn effects<'s>(image: Image<'s>, plan: &Plan) -> Result<Image<'s>, EngineError> {
    let fx = plan.effects;
    let image = match fx.blur {
        Some(sigma) => image.gaussblur(sigma.get()).map_err(internal)?,
        None => image,
    };
    let image = match fx.sharpen {
        Some(sigma) => image.sharpen(sigma.get()).map_err(internal)?,
        None => image,
    };
    // sharpen works in LAB and gives back 16-bit sRGB: return to 8 bits for the savers.
    let image = to_srgb(image)?;
    if fx.gray {
        image.to_gray().map_err(internal)
    } else {
        Ok(image)
    }
}

/// Places the image on the plan's canvas. A transparent canvas gets an alpha band first.
fn pad<'s>(image: Image<'s>, plan: &Plan) -> Result<Image<'s>, EngineError> {
    let Some(placement) = plan.pad else {
        return Ok(image);
    };
    let [r, g, b, a] = plan.background.0.map(f64::from);
    let image = if a < 255.0 && !image.has_alpha() {
        image.add_alpha().map_err(internal)?
    } else {
        image
    };
    let grey = luma(plan.background);
    let background: Vec<f64> = match (image.bands(), image.has_alpha()) {
        (1, _) => vec![grey],
        (2, true) => vec![grey, a],
        (3, _) => vec![r, g, b],
        _ => vec![r, g, b, a],
    };
    let canvas = placement.canvas;
    let x = placement
        .left
        .min(canvas.width.saturating_sub(image.width()));
    let y = placement
        .top
        .min(canvas.height.saturating_sub(image.height()));
    image
        .embed(x, y, canvas.width, canvas.height, &background)
        .map_err(internal)
}

/// The watermark, sized as the plan says: `wmscale` of the output width, else its own size, and
/// never beyond the room the margins leave. Auto-oriented and in sRGB like any source. An animation
/// lays it on every frame, reading it once per frame, which its sequential loader refuses past a
/// few hundred rows ("out of order read"): it is then decoded into memory first (it is at most one
/// output frame).
pub(super) fn load_watermark<'s>(
    overlay: &'s Overlay,
    plan: &Plan,
    clock: &Clock,
    strictness: Strictness,
) -> Result<Image<'s>, EngineError> {
    let header = Image::header_from_buffer(&overlay.source).map_err(undecodable)?;
    let (w, h) = if (5..=8).contains(&header.orientation()) {
        (header.height(), header.width())
    } else {
        (header.width(), header.height())
    };
    let (w, h) = (f64::from(w.max(1)), f64::from(h.max(1)));
    let room = overlay.max_size;
    let wanted = overlay
        .width
        .map_or(1.0_f64.min(f64::from(room.width) / w), |target| {
            f64::from(target) / w
        });
    let scale = wanted.min(f64::from(room.height) / h);
    let size = |side: f64| ((side * scale).round() as u32).max(1);
    let image = Image::thumbnail_from_buffer(
        &overlay.source,
        size(w),
        size(h),
        ThumbnailSize::Force,
        strictness.into(),
    )
    .map_err(undecodable)?;
    let image = to_srgb(image)?;
    if plan.animated {
        random_access(image, clock)
    } else {
        Ok(image)
    }
}

/// The watermark, then the text, over the shaped frame.
pub(super) fn overlay<'s>(
    image: Image<'s>,
    plan: &Plan,
    watermark: Option<&Image<'s>>,
) -> Result<Image<'s>, EngineError> {
    let image = match (&plan.overlay, watermark) {
        (Some(overlay), Some(mark)) => {
            let (x, y) = overlay.position.place(
                (image.width(), image.height()),
                (mark.width(), mark.height()),
                overlay.margin,
            );
            image
                .composite_over(mark, x, y, overlay.opacity.get())
                .map_err(internal)?
        }
        _ => image,
    };
    match &plan.text {
        Some(spec) => super::draw_text(image, spec).map_err(internal),
        None => Ok(image),
    }
}

/// Formats without alpha get the image composited onto the background colour.
pub(super) fn flatten<'s>(image: Image<'s>, plan: &Plan) -> Result<Image<'s>, EngineError> {
    if plan.format.supports_alpha() || !image.has_alpha() {
        return Ok(image);
    }
    let [r, g, b, _] = plan.background.0.map(f64::from);
    let grey = [luma(plan.background)];
    let background: &[f64] = if image.bands() <= 2 {
        &grey
    } else {
        &[r, g, b]
    };
    image.flatten(background).map_err(internal)
}

/// The grey a colour becomes on a one-band (greyscale) image: Rec. 709 luma, as `gray=1` makes it.
fn luma(colour: crate::types::Rgba) -> f64 {
    let [r, g, b, _] = colour.0.map(f64::from);
    (0.2126 * r + 0.7152 * g + 0.0722 * b).round()
}

/// Metadata goes before the save: libvips 8.14's webpsave ignores `strip` and would leak EXIF
/// (GPS positions included) from the source. Kept metadata still loses its orientation: the pixels
/// are upright now, and a viewer honouring the old tag would turn them again.
pub(super) fn metadata<'s>(image: Image<'s>, plan: &Plan) -> Result<Image<'s>, EngineError> {
    if plan.strip_metadata {
        image.without_metadata().map_err(internal)
    } else {
        image.with_upright_orientation().map_err(internal)
    }
}

/// Saves as `format` (the plan's, with the effort `encode_budget` chose).
pub(super) fn encode(
    image: &Image<'_>,
    plan: &Plan,
    format: vips::SaveFormat,
) -> Result<Vec<u8>, EngineError> {
    let bytes = image.save(format).map_err(undecodable)?;
    Ok(match plan.format {
        OutputFormat::Webp if plan.strip_metadata => crate::engine::drop_webp_metadata(bytes),
        _ => bytes,
    })
}
