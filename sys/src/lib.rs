//! Raw FFI to the parts of libvips and GLib that imgshield uses: hand-written declarations, no logic,
//! no safe API (that lives in imgshield's `engine::vips`). Variadic libvips calls are reached only
//! through the fixed-arity wrappers in `shim.c`, so no Rust caller can mistype a vararg.
#![allow(non_camel_case_types, non_upper_case_globals)]

use std::os::raw::{c_char, c_double, c_int, c_uint, c_void};

mod jpeg;
mod ops;
pub use jpeg::*;
pub use ops::*;
mod text;
pub use text::*;

/// `VipsImage` is a GObject; Rust only ever holds pointers to it.
#[repr(C)]
pub struct VipsImage {
    _private: [u8; 0],
}

pub type gboolean = c_int;

/// `GLogFunc`: receives GLib log messages (libvips warnings among them).
pub type GLogFunc = unsafe extern "C" fn(
    log_domain: *const c_char,
    log_level: c_int,
    message: *const c_char,
    user_data: *mut c_void,
);

/// `GLogLevelFlags` bits.
pub const G_LOG_LEVEL_CRITICAL: c_int = 1 << 3;
pub const G_LOG_LEVEL_WARNING: c_int = 1 << 4;
pub const G_LOG_LEVEL_MESSAGE: c_int = 1 << 5;
pub const G_LOG_LEVEL_INFO: c_int = 1 << 6;
pub const G_LOG_LEVEL_DEBUG: c_int = 1 << 7;

/// `VipsSize` from `resample.h`.
pub const VIPS_SIZE_BOTH: c_int = 0;
pub const VIPS_SIZE_UP: c_int = 1;
pub const VIPS_SIZE_DOWN: c_int = 2;
pub const VIPS_SIZE_FORCE: c_int = 3;

/// `VipsInterpretation` values from `image.h` that we inspect or convert to.
pub const VIPS_INTERPRETATION_B_W: c_int = 1;
pub const VIPS_INTERPRETATION_CMYK: c_int = 15;
pub const VIPS_INTERPRETATION_sRGB: c_int = 22;
pub const VIPS_INTERPRETATION_RGB16: c_int = 25;
pub const VIPS_INTERPRETATION_GREY16: c_int = 26;

/// glibc's `M_ARENA_MAX` parameter for `mallopt`.
pub const M_ARENA_MAX: c_int = -8;

/// `VipsBandFormat` values from `image.h`.
pub const VIPS_FORMAT_UCHAR: c_int = 0;

/// `VipsAlign` from `conversion.h`: how `imgshield_text` aligns wrapped lines.
pub const VIPS_ALIGN_LOW: c_int = 0;
pub const VIPS_ALIGN_CENTRE: c_int = 1;
pub const VIPS_ALIGN_HIGH: c_int = 2;

extern "C" {
    // --- shim.c: fixed-arity wrappers ---
    pub fn imgshield_init(argv0: *const c_char) -> c_int;
    pub fn imgshield_image_new_from_buffer(
        buf: *const c_void,
        len: usize,
        option_string: *const c_char,
    ) -> *mut VipsImage;
    pub fn imgshield_thumbnail_buffer(
        buf: *const c_void,
        len: usize,
        out: *mut *mut VipsImage,
        width: c_int,
        height: c_int,
        size: c_int,
        export_srgb: c_int,
        option_string: *const c_char,
    ) -> c_int;
    pub fn imgshield_reduce(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        hshrink: f64,
        vshrink: f64,
    ) -> c_int;
    pub fn imgshield_extract_area(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        left: c_int,
        top: c_int,
        width: c_int,
        height: c_int,
    ) -> c_int;
    pub fn imgshield_embed(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        x: c_int,
        y: c_int,
        width: c_int,
        height: c_int,
        background: *const c_double,
        n: c_int,
    ) -> c_int;
    pub fn imgshield_flatten(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        background: *const c_double,
        n: c_int,
    ) -> c_int;
    pub fn imgshield_colourspace(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        space: c_int,
    ) -> c_int;
    pub fn imgshield_cast_uchar(input: *mut VipsImage, out: *mut *mut VipsImage) -> c_int;
    pub fn imgshield_addalpha(input: *mut VipsImage, out: *mut *mut VipsImage) -> c_int;
    pub fn imgshield_jpegsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        quality: c_int,
        progressive: c_int,
        strip: c_int,
    ) -> c_int;
    pub fn imgshield_pngsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        compression: c_int,
        strip: c_int,
    ) -> c_int;
    pub fn imgshield_webpsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        quality: c_int,
        lossless: c_int,
        effort: c_int,
        strip: c_int,
    ) -> c_int;
    pub fn imgshield_avifsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        quality: c_int,
        effort: c_int,
        strip: c_int,
    ) -> c_int;
    pub fn imgshield_jxlsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        quality: c_int,
        effort: c_int,
        strip: c_int,
    ) -> c_int;
    pub fn imgshield_image_loader(image: *mut VipsImage) -> *const c_char;
    pub fn imgshield_remove_metadata(input: *mut VipsImage, out: *mut *mut VipsImage) -> c_int;
    pub fn imgshield_set_deadline(image: *mut VipsImage, timeout_us: i64) -> c_int;
    pub fn imgshield_text(
        out: *mut *mut VipsImage,
        markup: *const c_char,
        font: *const c_char,
        width: c_int,
        align: c_int,
    ) -> c_int;
    pub fn imgshield_composite_over(
        base: *mut VipsImage,
        overlay: *mut VipsImage,
        out: *mut *mut VipsImage,
        x: c_int,
        y: c_int,
    ) -> c_int;
    pub fn imgshield_multiply_alpha(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        factor: c_double,
    ) -> c_int;
    pub fn imgshield_extract_bands(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        first: c_int,
        n: c_int,
    ) -> c_int;
    pub fn imgshield_set_interpretation(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        space: c_int,
    ) -> c_int;
    pub fn imgshield_solid(
        out: *mut *mut VipsImage,
        width: c_int,
        height: c_int,
        ink: *const c_double,
        n: c_int,
    ) -> c_int;

    // --- libvips, non-variadic ---
    pub fn vips_version_string() -> *const c_char;
    pub fn vips_version(flag: c_int) -> c_int;
    pub fn vips_error_buffer_copy() -> *mut c_char;
    pub fn vips_error_clear();
    pub fn vips_cache_set_max(max: c_int);
    pub fn vips_concurrency_set(concurrency: c_int);
    pub fn vips_block_untrusted_set(state: gboolean);
    pub fn vips_operation_block_set(name: *const c_char, state: gboolean);
    pub fn vips_image_get_width(image: *const VipsImage) -> c_int;
    pub fn vips_image_get_height(image: *const VipsImage) -> c_int;
    pub fn vips_image_get_bands(image: *const VipsImage) -> c_int;
    pub fn vips_image_get_format(image: *const VipsImage) -> c_int;
    pub fn vips_image_get_interpretation(image: *const VipsImage) -> c_int;
    pub fn vips_image_get_n_pages(image: *mut VipsImage) -> c_int;
    pub fn vips_image_get_orientation(image: *mut VipsImage) -> c_int;
    pub fn vips_image_hasalpha(image: *mut VipsImage) -> gboolean;
    /// Wraps `data` without copying: it must outlive the image.
    pub fn vips_image_new_from_memory(
        data: *const c_void,
        size: usize,
        width: c_int,
        height: c_int,
        bands: c_int,
        format: c_int,
    ) -> *mut VipsImage;
    /// Computes `image` into a new buffer (free it with `g_free`); NULL on failure.
    pub fn vips_image_write_to_memory(image: *mut VipsImage, size_out: *mut usize) -> *mut c_void;
    /// The GType of metadata field `name`, 0 when the image has no such field.
    pub fn vips_image_get_typeof(image: *const VipsImage, name: *const c_char) -> usize;
    /// The pixels of an image held in memory (computed first if it is not).
    pub fn vips_image_get_data(image: *mut VipsImage) -> *const c_void;
    pub fn vips_image_new_from_memory_copy(
        data: *const c_void,
        size: usize,
        width: c_int,
        height: c_int,
        bands: c_int,
        format: c_int,
    ) -> *mut VipsImage;

    // --- glibc ---
    /// `mallopt(3)`; with [`M_ARENA_MAX`] it caps glibc's per-thread malloc arenas.
    #[cfg(target_env = "gnu")]
    pub fn mallopt(param: c_int, value: c_int) -> c_int;

    // --- GLib / GObject ---
    pub fn g_log_set_handler(
        log_domain: *const c_char,
        log_levels: c_int,
        log_func: Option<GLogFunc>,
        user_data: *mut c_void,
    ) -> c_uint;
    pub fn g_object_ref(object: *mut c_void) -> *mut c_void;
    pub fn g_object_unref(object: *mut c_void);
    pub fn g_free(mem: *mut c_void);

    // --- shim.c, for /info ---
    /// libvips' nickname of a `VipsInterpretation` value; a static string.
    pub fn imgshield_interpretation_nick(interpretation: c_int) -> *const c_char;
    /// A string metadata field, borrowed from the image; NULL when absent or not a string.
    pub fn imgshield_image_get_string(image: *mut VipsImage, name: *const c_char) -> *const c_char;
}
