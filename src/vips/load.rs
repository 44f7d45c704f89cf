//! Opening images: a header-only read, shrink-on-load thumbnails (one frame or all), a JPEG at a
//! DCT scale, and interleaved pixels (borrowed or copied).

use std::ffi::{CStr, CString};
use std::os::raw::c_int;

use vips_sys as ffi;

use super::error::c_dim;
use super::image::{produce, wrap};
use super::{init, Image, VipsError};

/// How broken a source may be before a load fails: libvips' `fail_on`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailOn {
    /// Loader warnings fail too (a JPEG scan that ends early, a GIF frame with invalid LZW data).
    #[default]
    Warning,
    /// Only what the loader cannot get through (truncation, corrupt headers).
    Error,
}

impl FailOn {
    /// The option as libvips' option strings spell it.
    fn option(self) -> &'static str {
        match self {
            FailOn::Warning => "fail_on=warning",
            FailOn::Error => "fail_on=error",
        }
    }
}

/// `VipsSize`: how thumbnail treats the requested box.
#[derive(Clone, Copy, Debug)]
pub enum ThumbnailSize {
    /// Exactly width×height, ignoring the aspect ratio (our Plan has already decided the geometry).
    Force,
    /// Within width×height, keeping the aspect ratio, never enlarging.
    Down,
}

/// Buffer loads: header only, thumbnails.
impl<'src> Image<'src> {
    /// Opens `buffer` and reads only its header; pixels are decoded lazily, if ever.
    pub fn header_from_buffer(buffer: &'src [u8]) -> Result<Image<'src>, VipsError> {
        init()?;
        // SAFETY: buffer is valid for 'src, which the returned image cannot outlive; the option
        // string is a static empty C string.
        let raw = unsafe {
            ffi::imgshield_image_new_from_buffer(buffer.as_ptr().cast(), buffer.len(), c"".as_ptr())
        };
        wrap(raw, "unable to read the image header")
    }

    /// Shrink-on-load thumbnail of `buffer` (JPEG DCT scaling, WebP/PNG reduce), auto-oriented.
    /// Loader errors (truncation, corruption), and with [`FailOn::Warning`] loader warnings too,
    /// fail the pipeline instead of grey-filling it.
    pub fn thumbnail_from_buffer(
        buffer: &'src [u8],
        width: u32,
        height: u32,
        size: ThumbnailSize,
        fail_on: FailOn,
    ) -> Result<Image<'src>, VipsError> {
        let size = match size {
            ThumbnailSize::Force => ffi::VIPS_SIZE_FORCE,
            ThumbnailSize::Down => ffi::VIPS_SIZE_DOWN,
        };
        Image::thumbnail(buffer, (width, height), size, fail_on, false)
    }

    /// Like [`Image::thumbnail_from_buffer`], loading every frame: `width`×`height` is the size of
    /// one frame, and the result is the frames stacked top to bottom (`page_height` apart).
    pub fn thumbnail_frames_from_buffer(
        buffer: &'src [u8],
        width: u32,
        height: u32,
        fail_on: FailOn,
    ) -> Result<Image<'src>, VipsError> {
        Image::thumbnail(buffer, (width, height), ffi::VIPS_SIZE_FORCE, fail_on, true)
    }

    /// Shrink-on-load thumbnail of the first page of `buffer` that fits within `max_side`×`max_side`,
    /// keeping the aspect ratio and never enlarging, auto-oriented. Loader errors (and with
    /// [`FailOn::Warning`] loader warnings) fail the pipeline, as in
    /// [`Image::thumbnail_from_buffer`].
    pub fn thumbnail_within(
        buffer: &'src [u8],
        max_side: u32,
        fail_on: FailOn,
    ) -> Result<Image<'src>, VipsError> {
        Image::thumbnail(
            buffer,
            (max_side, max_side),
            ffi::VIPS_SIZE_DOWN,
            fail_on,
            false,
        )
    }

    /// The one call behind every thumbnail: the first frame, or every frame stacked top to bottom.
    fn thumbnail(
        buffer: &'src [u8],
        (width, height): (u32, u32),
        size: c_int,
        fail_on: FailOn,
        all_frames: bool,
    ) -> Result<Image<'src>, VipsError> {
        init()?;
        let (width, height) = (c_dim(width)?, c_dim(height)?);
        let options = thumbnail_options(fail_on, all_frames);
        let export_srgb = Image::export_srgb(buffer)?;
        produce("thumbnail failed", |out| {
            // SAFETY: buffer outlives the image ('src); out is a valid out-pointer; the option string
            // is static and NUL-terminated.
            unsafe {
                ffi::imgshield_thumbnail_buffer(
                    buffer.as_ptr().cast(),
                    buffer.len(),
                    out,
                    width,
                    height,
                    size,
                    export_srgb,
                    options.as_ptr(),
                )
            }
        })
    }

    /// Whether thumbnail should convert `buffer` to sRGB through its embedded ICC profile: only
    /// when it has one (a header read; pixels are not decoded).
    fn export_srgb(buffer: &[u8]) -> Result<c_int, VipsError> {
        Ok(c_int::from(
            Image::header_from_buffer(buffer)?.has_icc_profile(),
        ))
    }
}

/// thumbnail's load options: `fail_on`, and `n=-1` for every frame.
fn thumbnail_options(fail_on: FailOn, all_frames: bool) -> &'static CStr {
    match (fail_on, all_frames) {
        (FailOn::Warning, false) => c"fail_on=warning",
        (FailOn::Error, false) => c"fail_on=error",
        (FailOn::Warning, true) => c"n=-1,fail_on=warning",
        (FailOn::Error, true) => c"n=-1,fail_on=error",
    }
}

/// A JPEG at a DCT scale, and pixels in memory.
impl<'src> Image<'src> {
    /// Opens a JPEG at 1/`shrink` scale (DCT-domain, 1, 2, 4 or 8), auto-oriented when
    /// `autorotate`; pixels are decoded when [`Image::decode_to_memory`] (or a save) asks for them.
    pub fn jpeg_shrunk(
        buffer: &'src [u8],
        shrink: u32,
        autorotate: bool,
        fail_on: FailOn,
    ) -> Result<Image<'src>, VipsError> {
        init()?;
        let options = CString::new(format!(
            "shrink={shrink},autorotate={autorotate},{}",
            fail_on.option()
        ))
        .map_err(|e| VipsError(e.to_string()))?;
        // SAFETY: buffer is valid for 'src, which the returned image cannot outlive; options is a
        // NUL-terminated string that lives through the call.
        let raw = unsafe {
            ffi::imgshield_image_new_from_buffer(
                buffer.as_ptr().cast(),
                buffer.len(),
                options.as_ptr(),
            )
        };
        wrap(raw, "unable to open the JPEG")
    }

    /// Wraps interleaved 8-bit pixels without copying them; the image borrows them for 'src.
    pub fn from_pixels_borrowed(
        pixels: &'src [u8],
        width: u32,
        height: u32,
        bands: u32,
    ) -> Result<Image<'src>, VipsError> {
        let (w, h, b) = pixel_dims(pixels, width, height, bands)?;
        // SAFETY: pixels is valid for its length (checked against w*h*bands) and for 'src, which
        // the image cannot outlive; libvips only reads it.
        let raw = unsafe {
            ffi::vips_image_new_from_memory(
                pixels.as_ptr().cast(),
                pixels.len(),
                w,
                h,
                b,
                ffi::VIPS_FORMAT_UCHAR,
            )
        };
        wrap(raw, "unable to wrap pixels")
    }
}

impl Image<'static> {
    /// Copies interleaved 8-bit pixels (1 to 4 bands) into a new image that owns its memory.
    pub fn from_pixels(
        pixels: &[u8],
        width: u32,
        height: u32,
        bands: u32,
    ) -> Result<Image<'static>, VipsError> {
        let (w, h, b) = pixel_dims(pixels, width, height, bands)?;
        // SAFETY: pixels is valid for its length, which we checked matches w*h*bands; libvips copies it.
        let raw = unsafe {
            ffi::vips_image_new_from_memory_copy(
                pixels.as_ptr().cast(),
                pixels.len(),
                w,
                h,
                b,
                ffi::VIPS_FORMAT_UCHAR,
            )
        };
        wrap(raw, "unable to wrap pixels")
    }
}

/// Checks that `pixels` holds exactly width×height×bands bytes (1 to 4 bands) and converts the
/// dimensions for libvips; initialises libvips first.
fn pixel_dims(
    pixels: &[u8],
    width: u32,
    height: u32,
    bands: u32,
) -> Result<(c_int, c_int, c_int), VipsError> {
    init()?;
    let expected = u64::from(width) * u64::from(height) * u64::from(bands);
    if !(1..=4).contains(&bands) || expected != pixels.len() as u64 {
        return Err(VipsError(format!(
            "{} bytes do not make a {width}x{height}x{bands} image",
            pixels.len()
        )));
    }
    Ok((c_dim(width)?, c_dim(height)?, c_dim(bands)?))
}
