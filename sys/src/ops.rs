//! Declarations for `ops.c`: the operations of the URL API beyond the core thumbnail.

use std::os::raw::{c_double, c_int, c_void};

use crate::VipsImage;

/// `VipsInteresting` values for [`imgshield_smartcrop`].
pub const VIPS_INTERESTING_ENTROPY: c_int = 2;
pub const VIPS_INTERESTING_ATTENTION: c_int = 3;

extern "C" {
    pub fn imgshield_rot(input: *mut VipsImage, out: *mut *mut VipsImage, angle: c_int) -> c_int;
    pub fn imgshield_flip(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        horizontal: c_int,
    ) -> c_int;
    pub fn imgshield_smartcrop(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        width: c_int,
        height: c_int,
        interesting: c_int,
    ) -> c_int;
    pub fn imgshield_copy_memory(input: *mut VipsImage, out: *mut *mut VipsImage) -> c_int;
    pub fn imgshield_shrink(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        hshrink: c_double,
        vshrink: c_double,
    ) -> c_int;
    pub fn imgshield_gaussblur(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        sigma: c_double,
        min_ampl: c_double,
        float_mask: c_int,
    ) -> c_int;
    pub fn imgshield_sharpen(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        sigma: c_double,
    ) -> c_int;
    pub fn imgshield_join_frames(
        frames: *mut *mut VipsImage,
        n: c_int,
        out: *mut *mut VipsImage,
    ) -> c_int;
    pub fn imgshield_page_height(image: *mut VipsImage) -> c_int;
    pub fn imgshield_reset_orientation(input: *mut VipsImage, out: *mut *mut VipsImage) -> c_int;
    pub fn imgshield_copy_upright_metadata(
        input: *mut VipsImage,
        from: *mut VipsImage,
        out: *mut *mut VipsImage,
    ) -> c_int;
    pub fn imgshield_pngsave_palette_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        compression: c_int,
        strip: c_int,
    ) -> c_int;
    pub fn imgshield_gifsave_buffer(
        input: *mut VipsImage,
        buf: *mut *mut c_void,
        len: *mut usize,
        strip: c_int,
    ) -> c_int;
}
