//! Declarations for `jpeg.c`: imgshield's own JPEG load step on the system libjpeg.

use std::os::raw::{c_char, c_int, c_uchar};

use crate::VipsImage;

/// `imgshield_jpeg_outcome`: what a decode did.
#[repr(C)]
#[derive(Debug)]
pub struct imgshield_jpeg_outcome {
    pub warnings: c_int,
    pub truncated: c_int,
    pub stopped: c_int,
    pub scans: c_int,
    pub message: [c_char; 200],
}

impl Default for imgshield_jpeg_outcome {
    fn default() -> Self {
        imgshield_jpeg_outcome {
            warnings: 0,
            truncated: 0,
            stopped: 0,
            scans: 0,
            message: [0; 200],
        }
    }
}

/// Return codes of [`imgshield_jpeg_load`].
pub const IMGSHIELD_JPEG_OK: c_int = 0;
pub const IMGSHIELD_JPEG_ERROR: c_int = -1;
pub const IMGSHIELD_JPEG_STOPPED: c_int = -2;
pub const IMGSHIELD_JPEG_MISMATCH: c_int = -3;
pub const IMGSHIELD_JPEG_NO_MEMORY: c_int = -4;

extern "C" {
    pub fn imgshield_jpeg_load(
        buf: *const c_uchar,
        len: usize,
        scale_denom: c_int,
        like: *mut VipsImage,
        fail_on_warning: c_int,
        max_scans: c_int,
        timeout_us: i64,
        outcome: *mut imgshield_jpeg_outcome,
        out: *mut *mut VipsImage,
    ) -> c_int;
    pub fn imgshield_autorot(input: *mut VipsImage, out: *mut *mut VipsImage) -> c_int;
    pub fn imgshield_thumbnail_image(
        input: *mut VipsImage,
        out: *mut *mut VipsImage,
        width: c_int,
        height: c_int,
        size: c_int,
        export_srgb: c_int,
    ) -> c_int;
}
