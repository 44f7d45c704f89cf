//! The one safe wrapper over `vips-sys`: process-wide initialisation, RAII image handles and error
//! reporting. This module and `sys/` are the only places in imgshield where `unsafe` is allowed.
//!
//! Ownership rules:
//! - [`Image`] owns one GObject reference: `Drop` unrefs, `Clone` refs (never derived).
//! - An image opened from a buffer reads that buffer lazily for as long as it (or any image derived
//!   from it) lives, so `Image<'src>` borrows the buffer and every derived image carries the same
//!   lifetime.
//! - `Image` is deliberately not `Send`: a pipeline is built and consumed inside one blocking closure
//!   and never crosses an `.await` or a thread.
#![allow(unsafe_code)]

use std::ffi::{c_void, CStr, CString};
use std::marker::PhantomData;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use vips_sys as ffi;

use crate::engine::Strictness;

/// A libvips failure: the return code said so; the text is best-effort, because libvips' error
/// buffer is process-global and another thread may have cleared or extended it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VipsError(pub String);

impl VipsError {
    /// Takes (and clears) libvips' error buffer.
    fn take(context: &str) -> VipsError {
        // SAFETY: vips_error_buffer_copy returns a newly g_malloc'd NUL-terminated string (possibly
        // empty) and clears the buffer; we copy it out and free it exactly once.
        let detail = unsafe {
            let raw = ffi::vips_error_buffer_copy();
            if raw.is_null() {
                String::new()
            } else {
                let text = CStr::from_ptr(raw).to_string_lossy().trim().to_string();
                ffi::g_free(raw.cast());
                text
            }
        };
        if detail.is_empty() {
            VipsError(context.to_string())
        } else {
            VipsError(format!("{context}: {detail}"))
        }
    }
}

/// Facts about the library, fixed after [`init`].
#[derive(Debug)]
pub struct Runtime {
    pub version: String,
}

static RUNTIME: OnceLock<Result<Runtime, VipsError>> = OnceLock::new();

/// Loaders we accept. Everything else (SVG, PDF, ImageMagick, matrix, raw, ...) is blocked: those
/// parse complex untrusted formats or reach the file system, and an image proxy has no use for them.
const ALLOWED_LOADERS: [&CStr; 6] = [
    c"VipsForeignLoadJpeg",
    c"VipsForeignLoadPng",
    c"VipsForeignLoadWebp",
    c"VipsForeignLoadNsgif",
    c"VipsForeignLoadHeif",
    c"VipsForeignLoadTiff",
];

/// Initialises libvips once per process and applies our settings; later calls return the same result.
pub fn init() -> Result<&'static Runtime, VipsError> {
    RUNTIME
        .get_or_init(|| {
            limit_malloc_arenas();
            let argv0 = CString::new("imgshield").map_err(|e| VipsError(e.to_string()))?;
            // SAFETY: argv0 is NUL-terminated and outlives the call; OnceLock guarantees this runs once.
            if unsafe { ffi::imgshield_init(argv0.as_ptr()) } != 0 {
                return Err(VipsError::take("vips_init failed"));
            }
            // SAFETY: the domain is a static C string and the handler is a plain function with
            // GLogFunc's signature that lives for the whole program.
            unsafe {
                ffi::g_log_set_handler(
                    c"VIPS".as_ptr(),
                    ffi::G_LOG_LEVEL_CRITICAL
                        | ffi::G_LOG_LEVEL_WARNING
                        | ffi::G_LOG_LEVEL_MESSAGE
                        | ffi::G_LOG_LEVEL_INFO
                        | ffi::G_LOG_LEVEL_DEBUG,
                    Some(route_glib_log),
                    ptr::null_mut(),
                );
            }
            // SAFETY: plain setters on an initialised library; the names are static C strings.
            unsafe {
                // We cache results ourselves; libvips' operation cache would only hold memory.
                ffi::vips_cache_set_max(0);
                // NOTE(perf): parallelism comes from our worker pool (one operation per core); libvips'
                // own threads mostly contend with it on small machines.
                ffi::vips_concurrency_set(1);
                ffi::vips_block_untrusted_set(1);
                ffi::vips_operation_block_set(c"VipsForeignLoad".as_ptr(), 1);
                for loader in ALLOWED_LOADERS {
                    ffi::vips_operation_block_set(loader.as_ptr(), 0);
                }
            }
            // SAFETY: returns a static NUL-terminated string after init.
            let version = unsafe { CStr::from_ptr(ffi::vips_version_string()) }
                .to_string_lossy()
                .into_owned();
            Ok(Runtime { version })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Routes libvips' GLib log lines into our logs instead of raw stderr. Warnings about broken sources
/// ("error in tile ...") are expected on bad input and already surface as a 422, so they are debug.
unsafe extern "C" fn route_glib_log(
    _domain: *const std::os::raw::c_char,
    level: c_int,
    message: *const std::os::raw::c_char,
    _user_data: *mut c_void,
) {
    if message.is_null() {
        return;
    }
    // SAFETY: GLib passes a NUL-terminated message valid for the duration of the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    if level & ffi::G_LOG_LEVEL_CRITICAL != 0 {
        tracing::warn!(target: "libvips", "{text}");
    } else {
        tracing::debug!(target: "libvips", "{text}");
    }
}

/// glibc gives every thread that mallocs its own arena and keeps freed multi-megabyte pixel buffers
/// in them, which makes a long-running libvips server's RSS creep up (imgproxy issue #116). Two
/// arenas took peak RSS under 32 concurrent 24-MP misses from 108 to 84 MiB (docs/BENCHMARKS.md).
/// An explicit `MALLOC_ARENA_MAX` in the environment wins. Irrelevant, and skipped, when the binary
/// replaces malloc with jemalloc (the default `jemalloc` feature).
fn limit_malloc_arenas() {
    #[cfg(all(target_env = "gnu", not(feature = "jemalloc")))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only adjusts allocator tuning; called before libvips starts its threads.
        unsafe { ffi::mallopt(ffi::M_ARENA_MAX, 2) };
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

/// An owned reference to a `VipsImage` whose pixels may be read lazily from a buffer borrowed for `'src`.
pub struct Image<'src> {
    ptr: NonNull<ffi::VipsImage>,
    _source: PhantomData<&'src [u8]>,
}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference, taken when the handle was created or cloned.
        unsafe { ffi::g_object_unref(self.ptr.as_ptr().cast()) }
    }
}

impl Clone for Image<'_> {
    fn clone(&self) -> Self {
        // SAFETY: ptr is a live GObject; the new reference is released by the clone's Drop.
        unsafe { ffi::g_object_ref(self.ptr.as_ptr().cast()) };
        Image {
            ptr: self.ptr,
            _source: PhantomData,
        }
    }
}

/// Runs a libvips operation that writes a new image to `*out`, wrapping the result.
fn produce<'src>(
    context: &str,
    op: impl FnOnce(*mut *mut ffi::VipsImage) -> c_int,
) -> Result<Image<'src>, VipsError> {
    let mut out: *mut ffi::VipsImage = ptr::null_mut();
    let rc = op(&mut out);
    match NonNull::new(out) {
        Some(ptr) if rc == 0 => Ok(Image {
            ptr,
            _source: PhantomData,
        }),
        Some(ptr) => {
            // SAFETY: on failure libvips should not set out, but if it did we own that reference.
            unsafe { ffi::g_object_unref(ptr.as_ptr().cast()) };
            Err(VipsError::take(context))
        }
        None => Err(VipsError::take(context)),
    }
}

fn c_dim(value: u32) -> Result<c_int, VipsError> {
    c_int::try_from(value).map_err(|_| VipsError(format!("dimension {value} is out of range")))
}

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
    /// Loader errors (truncation, corruption), and with [`Strictness::Warning`] loader warnings too,
    /// fail the pipeline instead of grey-filling it.
    pub fn thumbnail_from_buffer(
        buffer: &'src [u8],
        width: u32,
        height: u32,
        size: ThumbnailSize,
        strictness: Strictness,
    ) -> Result<Image<'src>, VipsError> {
        let size = match size {
            ThumbnailSize::Force => ffi::VIPS_SIZE_FORCE,
            ThumbnailSize::Down => ffi::VIPS_SIZE_DOWN,
        };
        Image::thumbnail(buffer, (width, height), size, strictness, false)
    }

    /// The one call behind every thumbnail: the first frame, or every frame stacked top to bottom.
    fn thumbnail(
        buffer: &'src [u8],
        (width, height): (u32, u32),
        size: c_int,
        strictness: Strictness,
        all_frames: bool,
    ) -> Result<Image<'src>, VipsError> {
        init()?;
        let (width, height) = (c_dim(width)?, c_dim(height)?);
        let options = match (strictness, all_frames) {
            (Strictness::Warning, false) => c"fail_on=warning",
            (Strictness::Error, false) => c"fail_on=error",
            (Strictness::Warning, true) => c"n=-1,fail_on=warning",
            (Strictness::Error, true) => c"n=-1,fail_on=error",
        };
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
}

impl<'src> Image<'src> {
    /// Opens a JPEG at 1/`shrink` scale (DCT-domain, 1, 2, 4 or 8), auto-oriented; pixels are
    /// decoded when [`Image::decode_to_memory`] (or a save) asks for them.
    pub fn jpeg_shrunk(
        buffer: &'src [u8],
        shrink: u32,
        strictness: Strictness,
    ) -> Result<Image<'src>, VipsError> {
        init()?;
        let options = match strictness {
            Strictness::Warning => "fail_on=warning",
            Strictness::Error => "fail_on=error",
        };
        let options = CString::new(format!("shrink={shrink},autorotate=true,{options}"))
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

    /// Computes the whole image into interleaved bytes (running its pipeline, decode included).
    pub fn decode_to_memory(&self) -> Result<Vec<u8>, VipsError> {
        let mut len: usize = 0;
        // SAFETY: self is live; len is a valid out-pointer.
        let data = unsafe { ffi::vips_image_write_to_memory(self.raw(), &mut len) };
        if data.is_null() {
            return Err(VipsError::take("decoding failed"));
        }
        // SAFETY: libvips returned `len` readable bytes at `data`, which we own until g_free.
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }.to_vec();
        // SAFETY: data came from libvips' allocator and is freed exactly once.
        unsafe { ffi::g_free(data) };
        Ok(bytes)
    }

    /// Whether the image carries an ICC profile (which thumbnail may act on).
    pub fn has_icc_profile(&self) -> bool {
        // SAFETY: self is live; the name is a static C string.
        unsafe { ffi::vips_image_get_typeof(self.raw(), c"icc-profile-data".as_ptr()) != 0 }
    }

    /// Lanczos3 reduction of this image to exactly width×height: the step thumbnail takes after
    /// shrink-on-load. Never enlarges. As in `vips_resize`, a factor above 2 is first taken down by
    /// an integer block average, since `vips_reduce` is meant for small factors (its docs: "not
    /// well for shrink factors greater than three") and its kernel grows with the factor.
    pub fn resize_to(&self, width: u32, height: u32) -> Result<Image<'src>, VipsError> {
        if (width, height) == (self.width(), self.height()) {
            return Ok(self.clone());
        }
        if width > self.width() || height > self.height() {
            return Err(VipsError("resize_to only reduces".into()));
        }
        let factor = |from: u32, to: u32| f64::from(from) / f64::from(to.max(1));
        let block = |shrink: f64| (shrink / 2.0).floor().max(1.0);
        let (hblock, vblock) = (
            block(factor(self.width(), width)),
            block(factor(self.height(), height)),
        );
        let base = if hblock > 1.0 || vblock > 1.0 {
            produce("shrink failed", |out| {
                // SAFETY: self is live; out is a valid out-pointer.
                unsafe { ffi::imgshield_shrink(self.raw(), out, hblock, vblock) }
            })?
        } else {
            self.clone()
        };
        let hshrink = factor(base.width(), width);
        let vshrink = factor(base.height(), height);
        let resized = produce("resize failed", |out| {
            // SAFETY: base is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_reduce(base.raw(), out, hshrink, vshrink) }
        })?;
        if (resized.width(), resized.height()) == (width, height) {
            Ok(resized)
        } else {
            Err(VipsError(format!(
                "resize made {}x{}, not {width}x{height}",
                resized.width(),
                resized.height()
            )))
        }
    }
}

/// Operations of the URL API beyond the core thumbnail (`ops.c`).
impl<'src> Image<'src> {
    /// Like [`Image::thumbnail_from_buffer`], loading every frame: `width`×`height` is the size of
    /// one frame, and the result is the frames stacked top to bottom (`page_height` apart).
    pub fn thumbnail_frames_from_buffer(
        buffer: &'src [u8],
        width: u32,
        height: u32,
        strictness: Strictness,
    ) -> Result<Image<'src>, VipsError> {
        Image::thumbnail(
            buffer,
            (width, height),
            ffi::VIPS_SIZE_FORCE,
            strictness,
            true,
        )
    }

    /// Whether thumbnail should convert `buffer` to sRGB through its embedded ICC profile: only
    /// when it has one (a header read; pixels are not decoded).
    fn export_srgb(buffer: &[u8]) -> Result<c_int, VipsError> {
        Ok(c_int::from(
            Image::header_from_buffer(buffer)?.has_icc_profile(),
        ))
    }

    /// Clockwise rotation by 90, 180 or 270 degrees.
    pub fn rotate(&self, degrees: u16) -> Result<Image<'src>, VipsError> {
        if !matches!(degrees, 90 | 180 | 270) {
            return Err(VipsError(format!("cannot rotate by {degrees} degrees")));
        }
        produce("rotation failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the angle is one the shim maps.
            unsafe { ffi::imgshield_rot(self.raw(), out, c_int::from(degrees)) }
        })
    }

    /// Mirrors left-right (`horizontal`) or top-bottom.
    pub fn flip(&self, horizontal: bool) -> Result<Image<'src>, VipsError> {
        produce("flip failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_flip(self.raw(), out, c_int::from(horizontal)) }
        })
    }

    /// A `width`×`height` window placed where libvips finds the image most interesting.
    pub fn smartcrop(
        &self,
        width: u32,
        height: u32,
        interesting: crate::types::Interesting,
    ) -> Result<Image<'src>, VipsError> {
        let (w, h) = (c_dim(width)?, c_dim(height)?);
        let how = match interesting {
            crate::types::Interesting::Attention => ffi::VIPS_INTERESTING_ATTENTION,
            crate::types::Interesting::Entropy => ffi::VIPS_INTERESTING_ENTROPY,
        };
        produce("smart crop failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; libvips checks the size.
            unsafe { ffi::imgshield_smartcrop(self.raw(), out, w, h, how) }
        })
    }

    /// This image computed into memory (its whole pipeline runs now), so that later steps may read
    /// it in any order. Sequential loaders refuse out-of-order reads, which rotation and smartcrop make.
    pub fn in_memory(&self) -> Result<Image<'src>, VipsError> {
        produce("computing the image failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the copy owns its pixels.
            unsafe { ffi::imgshield_copy_memory(self.raw(), out) }
        })
    }

    /// Box shrink by `factor` on both axes (block means), the way a JPEG decoder's DCT scaling
    /// shrinks; the output has the integer part of each side divided by `factor`.
    pub fn box_shrink(&self, factor: u32) -> Result<Image<'src>, VipsError> {
        let f = f64::from(factor.max(1));
        produce("shrink failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_shrink(self.raw(), out, f, f) }
        })
    }

    pub fn gaussblur(&self, sigma: f64) -> Result<Image<'src>, VipsError> {
        produce("blur failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_gaussblur(self.raw(), out, sigma) }
        })
    }

    pub fn sharpen(&self, sigma: f64) -> Result<Image<'src>, VipsError> {
        produce("sharpen failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_sharpen(self.raw(), out, sigma) }
        })
    }

    /// Greyscale (one band, plus alpha if there is one).
    pub fn to_gray(&self) -> Result<Image<'src>, VipsError> {
        produce("greyscale conversion failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_colourspace(self.raw(), out, ffi::VIPS_INTERPRETATION_B_W) }
        })
    }

    /// The height of one frame (the whole height for a still image).
    pub fn page_height(&self) -> u32 {
        // SAFETY: self is live; the call only reads metadata.
        let height = unsafe { ffi::imgshield_page_height(self.raw()) };
        u32::try_from(height)
            .ok()
            .filter(|&h| h > 0 && self.height().is_multiple_of(h))
            .unwrap_or_else(|| self.height())
    }

    /// The frames of a stacked animation, each a lazy view of its part of this image.
    pub fn frames(&self) -> Result<Vec<Image<'src>>, VipsError> {
        let page = self.page_height();
        (0..self.height() / page)
            .map(|i| self.extract_area(0, i * page, self.width(), page))
            .collect()
    }

    /// Stacks equally sized frames top to bottom, keeping the first frame's metadata (delays, loop).
    pub fn join_frames(frames: &[Image<'src>]) -> Result<Image<'src>, VipsError> {
        let mut raw: Vec<*mut ffi::VipsImage> = frames.iter().map(Image::raw).collect();
        let n = c_int::try_from(raw.len()).map_err(|e| VipsError(e.to_string()))?;
        if n == 0 {
            return Err(VipsError("no frames to join".into()));
        }
        produce("joining frames failed", |out| {
            // SAFETY: raw holds n live images (borrowed from frames for the call; arrayjoin takes its
            // own references); out is a valid out-pointer.
            unsafe { ffi::imgshield_join_frames(raw.as_mut_ptr(), n, out) }
        })
    }

    /// A copy whose EXIF orientation tag says "upright" (for `meta=keep`: pixels are rotated already).
    pub fn with_upright_orientation(&self) -> Result<Image<'src>, VipsError> {
        produce("resetting orientation failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the copy's metadata is its own.
            unsafe { ffi::imgshield_reset_orientation(self.raw(), out) }
        })
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

/// Takes ownership of a new image reference, or reads libvips' error when there is none.
fn wrap<'src>(raw: *mut ffi::VipsImage, context: &str) -> Result<Image<'src>, VipsError> {
    NonNull::new(raw)
        .map(|ptr| Image {
            ptr,
            _source: PhantomData,
        })
        .ok_or_else(|| VipsError::take(context))
}

impl<'src> Image<'src> {
    fn raw(&self) -> *mut ffi::VipsImage {
        self.ptr.as_ptr()
    }

    pub fn width(&self) -> u32 {
        // SAFETY: the handle keeps the image alive; header getters do not decode.
        u32::try_from(unsafe { ffi::vips_image_get_width(self.raw()) }).unwrap_or(0)
    }

    pub fn height(&self) -> u32 {
        // SAFETY: as for width.
        u32::try_from(unsafe { ffi::vips_image_get_height(self.raw()) }).unwrap_or(0)
    }

    pub fn bands(&self) -> u32 {
        // SAFETY: as for width.
        u32::try_from(unsafe { ffi::vips_image_get_bands(self.raw()) }).unwrap_or(0)
    }

    pub fn has_alpha(&self) -> bool {
        // SAFETY: as for width.
        unsafe { ffi::vips_image_hasalpha(self.raw()) != 0 }
    }

    pub fn pages(&self) -> u32 {
        // SAFETY: as for width.
        u32::try_from(unsafe { ffi::vips_image_get_n_pages(self.raw()) }).unwrap_or(1)
    }

    /// EXIF orientation 1..=8 (1 when absent).
    pub fn orientation(&self) -> u32 {
        // SAFETY: as for width.
        u32::try_from(unsafe { ffi::vips_image_get_orientation(self.raw()) }).unwrap_or(1)
    }

    /// Whether pixels are anything but 8-bit sRGB or 8-bit greyscale.
    pub fn needs_srgb_conversion(&self) -> bool {
        // SAFETY: as for width.
        let (space, format) = unsafe {
            (
                ffi::vips_image_get_interpretation(self.raw()),
                ffi::vips_image_get_format(self.raw()),
            )
        };
        format != ffi::VIPS_FORMAT_UCHAR
            || !(space == ffi::VIPS_INTERPRETATION_sRGB || space == ffi::VIPS_INTERPRETATION_B_W)
    }

    /// Makes any evaluation of this image (a save, and the decode it pulls) fail once `limit` has
    /// passed: libvips' own kill mechanism, checked tile by tile, so the worker is freed mid-operation.
    pub fn set_time_limit(&self, limit: std::time::Duration) {
        let micros = i64::try_from(limit.as_micros()).unwrap_or(i64::MAX);
        // SAFETY: self is live; the shim allocates the deadline, connects it to the image's "eval"
        // signal and frees it when the image (and so the signal handler) is finalised.
        unsafe { ffi::imgshield_set_deadline(self.raw(), micros) };
    }

    /// The libvips loader that opened this image, e.g. `jpegload_buffer`.
    pub fn loader(&self) -> Option<String> {
        // SAFETY: the returned string is borrowed from the image's metadata, which lives as long as
        // self; we copy it before returning.
        unsafe {
            let raw = ffi::imgshield_image_loader(self.raw());
            (!raw.is_null()).then(|| CStr::from_ptr(raw).to_string_lossy().into_owned())
        }
    }

    pub fn extract_area(
        &self,
        left: u32,
        top: u32,
        width: u32,
        height: u32,
    ) -> Result<Image<'src>, VipsError> {
        let (l, t, w, h) = (c_dim(left)?, c_dim(top)?, c_dim(width)?, c_dim(height)?);
        produce("crop failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; libvips checks the bounds.
            unsafe { ffi::imgshield_extract_area(self.raw(), out, l, t, w, h) }
        })
    }

    /// Places the image at (x, y) on a width×height canvas filled with `background` (one value per band).
    pub fn embed(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        background: &[f64],
    ) -> Result<Image<'src>, VipsError> {
        let (x, y, w, h) = (c_dim(x)?, c_dim(y)?, c_dim(width)?, c_dim(height)?);
        let n = c_int::try_from(background.len()).map_err(|e| VipsError(e.to_string()))?;
        produce("pad failed", |out| {
            // SAFETY: background points to n doubles that outlive the call (libvips copies them).
            unsafe { ffi::imgshield_embed(self.raw(), out, x, y, w, h, background.as_ptr(), n) }
        })
    }

    /// Composites alpha onto `background` (one value per non-alpha band).
    pub fn flatten(&self, background: &[f64]) -> Result<Image<'src>, VipsError> {
        let n = c_int::try_from(background.len()).map_err(|e| VipsError(e.to_string()))?;
        produce("flatten failed", |out| {
            // SAFETY: as for embed.
            unsafe { ffi::imgshield_flatten(self.raw(), out, background.as_ptr(), n) }
        })
    }

    pub fn add_alpha(&self) -> Result<Image<'src>, VipsError> {
        produce("adding alpha failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_addalpha(self.raw(), out) }
        })
    }

    /// A copy without EXIF, XMP and IPTC (not every 8.14 saver honours `strip`).
    pub fn without_metadata(&self) -> Result<Image<'src>, VipsError> {
        produce("removing metadata failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the copy shares pixels, not metadata.
            unsafe { ffi::imgshield_remove_metadata(self.raw(), out) }
        })
    }

    /// Converts to 8-bit sRGB (CMYK, 16-bit, LAB, ... sources).
    pub fn to_srgb(&self) -> Result<Image<'src>, VipsError> {
        let srgb = produce("colour conversion failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer.
            unsafe { ffi::imgshield_colourspace(self.raw(), out, ffi::VIPS_INTERPRETATION_sRGB) }
        })?;
        produce("cast failed", |out| {
            // SAFETY: srgb is live for the duration of the call.
            unsafe { ffi::imgshield_cast_uchar(srgb.raw(), out) }
        })
    }

    /// Encodes the image; this is where a lazy pipeline actually runs and where decode errors surface.
    pub fn save(&self, format: SaveFormat) -> Result<Vec<u8>, VipsError> {
        let mut buf: *mut c_void = ptr::null_mut();
        let mut len: usize = 0;
        // SAFETY: self is live; buf/len are valid out-pointers; on success libvips hands us a
        // g_malloc'd buffer of len bytes that we copy and free below.
        let rc = unsafe {
            match format {
                SaveFormat::Jpeg {
                    quality,
                    progressive,
                    strip,
                } => ffi::imgshield_jpegsave_buffer(
                    self.raw(),
                    &mut buf,
                    &mut len,
                    quality.into(),
                    progressive.into(),
                    strip.into(),
                ),
                SaveFormat::Png {
                    compression,
                    palette: false,
                    strip,
                } => ffi::imgshield_pngsave_buffer(
                    self.raw(),
                    &mut buf,
                    &mut len,
                    compression.into(),
                    strip.into(),
                ),
                SaveFormat::Png {
                    compression,
                    palette: true,
                    strip,
                } => ffi::imgshield_pngsave_palette_buffer(
                    self.raw(),
                    &mut buf,
                    &mut len,
                    compression.into(),
                    strip.into(),
                ),
                SaveFormat::Gif { strip } => {
                    ffi::imgshield_gifsave_buffer(self.raw(), &mut buf, &mut len, strip.into())
                }
                SaveFormat::Webp {
                    quality,
                    lossless,
                    effort,
                    strip,
                } => ffi::imgshield_webpsave_buffer(
                    self.raw(),
                    &mut buf,
                    &mut len,
                    quality.into(),
                    lossless.into(),
                    effort.into(),
                    strip.into(),
                ),
                SaveFormat::Avif {
                    quality,
                    effort,
                    strip,
                } => ffi::imgshield_avifsave_buffer(
                    self.raw(),
                    &mut buf,
                    &mut len,
                    quality.into(),
                    effort.into(),
                    strip.into(),
                ),
            }
        };
        if rc != 0 || buf.is_null() {
            if !buf.is_null() {
                // SAFETY: a buffer returned alongside an error is still ours to free.
                unsafe { ffi::g_free(buf) };
            }
            return Err(VipsError::take("encoding failed"));
        }
        // NOTE(perf): one copy of the encoded output (tens of KB) costs far less than the encode.
        // SAFETY: buf points to len initialised bytes owned by us until g_free.
        let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len).to_vec() };
        // SAFETY: freed exactly once, after the copy.
        unsafe { ffi::g_free(buf) };
        Ok(bytes)
    }
}

/// Encoder settings, one variant per writer.
#[derive(Clone, Copy, Debug)]
pub enum SaveFormat {
    Jpeg {
        quality: u8,
        progressive: bool,
        strip: bool,
    },
    Png {
        compression: u8,
        /// Quantise to an 8-bit palette (libimagequant).
        palette: bool,
        strip: bool,
    },
    Gif {
        strip: bool,
    },
    Webp {
        quality: u8,
        lossless: bool,
        effort: u8,
        strip: bool,
    },
    Avif {
        quality: u8,
        effort: u8,
        strip: bool,
    },
}

/// How wrapped lines of text are aligned (`VipsAlign`: low, centre, high edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Low,
    Centre,
    High,
}

/// Escapes `text` for Pango markup: `vips_text` always parses markup, so without this a user's
/// `<span ...>` would style the text, and a stray `<` or `&` would make rendering fail.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Text rendering, solid canvases and compositing: the primitives of text and watermark overlays.
impl Image<'static> {
    /// Renders plain UTF-8 `text` (never interpreted as markup) in `color` as an 8-bit sRGB RGBA
    /// image just large enough for it. `font` is a Pango font description such as
    /// `"DejaVu Sans Bold 32px"`; glyphs it lacks (CJK, say) come from fontconfig's fallback fonts.
    /// Lines wrap at `wrap_width` pixels (at word boundaries, between characters for longer words),
    /// aligned by `align`. The caller bounds the cost (text length, size, wrap width): Pango lays
    /// out and rasterises the whole text here, eagerly.
    pub fn text(
        text: &str,
        font: &str,
        color: crate::engine::Rgba,
        wrap_width: Option<u32>,
        align: Align,
    ) -> Result<Image<'static>, VipsError> {
        init()?;
        let [r, g, b, a] = color.0;
        let markup = CString::new(format!(
            "<span foreground=\"#{r:02x}{g:02x}{b:02x}\">{}</span>",
            escape_markup(text)
        ))
        .map_err(|_| VipsError("the text contains a NUL character".into()))?;
        let font = CString::new(font)
            .map_err(|_| VipsError("the font name contains a NUL character".into()))?;
        let width = c_dim(wrap_width.unwrap_or(0))?;
        let align = match align {
            Align::Low => ffi::VIPS_ALIGN_LOW,
            Align::Centre => ffi::VIPS_ALIGN_CENTRE,
            Align::High => ffi::VIPS_ALIGN_HIGH,
        };
        let rendered = produce("text rendering failed", |out| {
            // SAFETY: markup and font are NUL-terminated and outlive the call, which copies them;
            // out is a valid out-pointer. The markup is well-formed: the user's text is escaped.
            unsafe { ffi::imgshield_text(out, markup.as_ptr(), font.as_ptr(), width, align) }
        })?;
        if rendered.width() == 0 || rendered.height() == 0 {
            return Err(VipsError("the text rendered no pixels".into()));
        }
        if a == 255 {
            Ok(rendered)
        } else {
            rendered.multiply_alpha(f64::from(a) / 255.0)
        }
    }

    /// A width×height image of one colour: 8-bit sRGB with alpha. Lazy, so a large canvas costs
    /// no memory until it is composited and saved.
    pub fn solid(
        width: u32,
        height: u32,
        color: crate::engine::Rgba,
    ) -> Result<Image<'static>, VipsError> {
        init()?;
        let (w, h) = (c_dim(width)?, c_dim(height)?);
        let ink = color.0.map(f64::from);
        produce("making a canvas failed", |out| {
            // SAFETY: ink holds 4 doubles that outlive the call (libvips copies them); out is a
            // valid out-pointer.
            unsafe { ffi::imgshield_solid(out, w, h, ink.as_ptr(), 4) }
        })
    }
}

impl<'src> Image<'src> {
    /// `overlay` drawn over this image with its top-left corner at (`x`, `y`) (negative, or past
    /// the edges, is clipped), its alpha first multiplied by `opacity` (clamped to 0..=1). The
    /// output keeps this image's size. Any base works: greyscale (1 or 2 bands) and non-8-bit
    /// bases are converted to 8-bit sRGB first; a base without alpha gives an output without alpha,
    /// one with alpha keeps it. An overlay without alpha covers its rectangle fully.
    pub fn composite_over(
        &self,
        overlay: &Image<'src>,
        x: i64,
        y: i64,
        opacity: f64,
    ) -> Result<Image<'src>, VipsError> {
        let opacity = if opacity.is_nan() {
            1.0
        } else {
            opacity.clamp(0.0, 1.0)
        };
        let offset = |v: i64| {
            c_int::try_from(v).map_err(|_| VipsError(format!("offset {v} is out of range")))
        };
        let (x, y) = (offset(x)?, offset(y)?);
        let base = self.as_8bit_srgb()?;
        let base_had_alpha = base.has_alpha();
        let overlay = overlay.as_8bit_srgb()?;
        let overlay = if overlay.has_alpha() {
            overlay
        } else {
            overlay.add_alpha()?
        };
        let overlay = if opacity < 1.0 {
            overlay.multiply_alpha(opacity)?
        } else {
            overlay
        };
        let composed = produce("compositing failed", |out| {
            // SAFETY: base and overlay are live for the call; composite2 takes its own references
            // to both for the lazy output; out is a valid out-pointer.
            unsafe { ffi::imgshield_composite_over(base.raw(), overlay.raw(), out, x, y) }
        })?;
        // "over" on an opaque base stays opaque: drop the alpha band composite2 always adds.
        if base_had_alpha || composed.bands() <= 3 {
            Ok(composed)
        } else {
            composed.extract_bands(0, 3)
        }
    }

    /// This image as 8-bit sRGB (3 bands, or 4 with alpha): greyscale, CMYK, 16-bit and other
    /// spaces are converted; 8-bit sRGB is returned as it is.
    pub fn as_8bit_srgb(&self) -> Result<Image<'src>, VipsError> {
        let srgb = if self.bands() >= 3 && !self.needs_srgb_conversion() {
            self.clone()
        } else {
            self.to_srgb()?
        };
        // Raw pixels (`from_pixels`) with 4 bands are "multiband", which colourspace passes through
        // unchanged and composite refuses: say what they are.
        // SAFETY: srgb is live; header getters do not decode.
        if unsafe { ffi::vips_image_get_interpretation(srgb.raw()) }
            == ffi::VIPS_INTERPRETATION_sRGB
        {
            Ok(srgb)
        } else {
            produce("setting the colour space failed", |out| {
                // SAFETY: srgb is live; out is a valid out-pointer; the copy shares the pixels.
                unsafe {
                    ffi::imgshield_set_interpretation(
                        srgb.raw(),
                        out,
                        ffi::VIPS_INTERPRETATION_sRGB,
                    )
                }
            })
        }
    }

    /// A copy whose alpha band (the last) is multiplied by `factor` (0..=1); 8-bit, 2 to 4 bands.
    pub fn multiply_alpha(&self, factor: f64) -> Result<Image<'src>, VipsError> {
        if !self.has_alpha() {
            return Err(VipsError("multiply_alpha needs an alpha band".into()));
        }
        produce("scaling alpha failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the shim checks the band count.
            unsafe { ffi::imgshield_multiply_alpha(self.raw(), out, factor) }
        })
    }

    /// Bands `first..first + n`.
    pub fn extract_bands(&self, first: u32, n: u32) -> Result<Image<'src>, VipsError> {
        let (first, n) = (c_dim(first)?, c_dim(n)?);
        produce("extracting bands failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; libvips checks the band range.
            unsafe { ffi::imgshield_extract_bands(self.raw(), out, first, n) }
        })
    }
}

/// What `/info` reads (see `engine::info`): a placeholder-sized thumbnail, the interpretation's
/// name and string metadata.
impl<'src> Image<'src> {
    /// Shrink-on-load thumbnail of the first page of `buffer` that fits within `max_side`×`max_side`,
    /// keeping the aspect ratio and never enlarging, auto-oriented. Loader errors (and with
    /// [`Strictness::Warning`] loader warnings) fail the pipeline, as in
    /// [`Image::thumbnail_from_buffer`].
    pub fn thumbnail_within(
        buffer: &'src [u8],
        max_side: u32,
        strictness: Strictness,
    ) -> Result<Image<'src>, VipsError> {
        Image::thumbnail(
            buffer,
            (max_side, max_side),
            ffi::VIPS_SIZE_DOWN,
            strictness,
            false,
        )
    }

    /// libvips' name for how the pixels are to be read: `srgb`, `b-w`, `cmyk`, `rgb16`, `grey16`, ...
    pub fn interpretation(&self) -> String {
        // SAFETY: self is live; header getters do not decode. vips_enum_nick returns a static
        // string (libvips' own "(null)" for a value it does not know), never NULL, but we check.
        unsafe {
            let nick =
                ffi::imgshield_interpretation_nick(ffi::vips_image_get_interpretation(self.raw()));
            if nick.is_null() {
                String::new()
            } else {
                CStr::from_ptr(nick).to_string_lossy().into_owned()
            }
        }
    }

    /// A string metadata field such as `heif-compression`, if the image has it.
    pub fn string_field(&self, name: &CStr) -> Option<String> {
        // SAFETY: self is live and name NUL-terminated; the result is borrowed from the image's
        // metadata, which lives as long as self, and copied before returning.
        unsafe {
            let raw = ffi::imgshield_image_get_string(self.raw(), name.as_ptr());
            (!raw.is_null()).then(|| CStr::from_ptr(raw).to_string_lossy().into_owned())
        }
    }
}

#[cfg(test)]
mod overlay_tests {
    use super::*;
    use crate::engine::Rgba;

    fn pixels(image: &Image<'_>) -> Vec<u8> {
        image.decode_to_memory().expect("computes")
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape_markup(r#"<span foreground="red">a&b</span>'"#),
            "&lt;span foreground=&quot;red&quot;&gt;a&amp;b&lt;/span&gt;&apos;"
        );
        assert_eq!(escape_markup("你好 plain"), "你好 plain");
    }

    #[test]
    fn text_renders_in_its_colour_and_markup_stays_literal() {
        let red = Rgba([255, 0, 0, 255]);
        let image = Image::text("Hello", "DejaVu Sans 40px", red, None, Align::Low).expect("text");
        assert_eq!(image.bands(), 4);
        assert!(
            image.width() > 60 && image.height() >= 30,
            "{}x{}",
            image.width(),
            image.height()
        );
        let px = pixels(&image);
        let inked: Vec<&[u8]> = px.chunks(4).filter(|p| p[3] > 200).collect();
        assert!(!inked.is_empty());
        assert!(inked.iter().all(|p| p[0] > 200 && p[1] < 60 && p[2] < 60));
        // Markup would shrink to "x" and turn it blue; escaped, all of it is drawn, in red.
        let tag = r#"<span foreground="blue">x</span>"#;
        let literal = Image::text(tag, "DejaVu Sans 40px", red, None, Align::Low).expect("literal");
        let x = Image::text("x", "DejaVu Sans 40px", red, None, Align::Low).expect("x");
        assert!(literal.width() > 10 * x.width());
        let px = pixels(&literal);
        assert!(px
            .chunks(4)
            .filter(|p| p[3] > 200)
            .all(|p| p[0] > 200 && p[2] < 60));
    }

    #[test]
    fn text_alpha_and_wrapping_apply() {
        let half = Rgba([0, 0, 0, 128]);
        let image = Image::text("Hi", "DejaVu Sans 40px", half, None, Align::Low).expect("text");
        let max_alpha = pixels(&image).chunks(4).map(|p| p[3]).max().unwrap_or(0);
        assert!((120..=136).contains(&max_alpha), "{max_alpha}");
        let words = "one two three four five six";
        let line =
            Image::text(words, "DejaVu Sans 20px", Rgba::WHITE, None, Align::Low).expect("line");
        let wrapped = Image::text(
            words,
            "DejaVu Sans 20px",
            Rgba::WHITE,
            Some(80),
            Align::Centre,
        )
        .expect("wrapped");
        assert!(wrapped.width() <= 80, "{}", wrapped.width());
        assert!(
            wrapped.height() >= 3 * line.height(),
            "{} vs {}",
            wrapped.height(),
            line.height()
        );
    }

    #[test]
    fn composite_places_with_opacity_on_any_base() {
        let red = Image::solid(10, 10, Rgba([255, 0, 0, 255])).expect("overlay");
        for bands in 1..=4u32 {
            // Grey 200, opaque where there is an alpha band (2 and 4 bands).
            let pixel: Vec<u8> = (0..bands)
                .map(|b| {
                    if bands % 2 == 0 && b == bands - 1 {
                        255
                    } else {
                        200
                    }
                })
                .collect();
            let base = Image::from_pixels(&pixel.repeat(40 * 30), 40, 30, bands).expect("base");
            let out = base.composite_over(&red, 5, 20, 0.5).expect("composite");
            assert_eq!((out.width(), out.height()), (40, 30));
            let expect_bands = if bands % 2 == 0 { 4 } else { 3 };
            assert_eq!(out.bands(), expect_bands, "base of {bands} bands");
            let px = pixels(&out);
            let at = |x: usize, y: usize| {
                let i = (y * 40 + x) * expect_bands as usize;
                px[i..i + 3].to_vec()
            };
            // Half red over grey 200: (255 + 200) / 2 = 227, 200 / 2 = 100.
            let inside = at(7, 25);
            assert!(
                inside[0].abs_diff(227) <= 2 && inside[1].abs_diff(100) <= 2,
                "{inside:?}"
            );
            assert_eq!(at(4, 25), vec![200, 200, 200], "left of the overlay");
            assert_eq!(at(7, 19), vec![200, 200, 200], "above the overlay");
        }
        // Partly outside on every side: clipped, not an error.
        let base = Image::solid(20, 20, Rgba::WHITE).expect("base");
        let big = Image::solid(60, 60, Rgba([0, 0, 255, 255])).expect("big");
        let out = base.composite_over(&big, -20, -20, 1.0).expect("clipped");
        assert_eq!((out.width(), out.height(), out.bands()), (20, 20, 4));
        assert!(pixels(&out).chunks(4).all(|p| p == [0, 0, 255, 255]));
        assert!(base.composite_over(&big, 500, -500, 1.0).is_ok());
    }
}
