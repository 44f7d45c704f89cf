//! Declarations for `text.c` (Pango layout and Cairo rasterisation, per-thread font map) and
//! `text_jpeg.c` (a one-call libjpeg encode of RGB pixels).

use std::os::raw::{c_char, c_int};

/// `PangoLayout`, a GObject that belongs to the thread that made it; only pointers cross.
#[repr(C)]
pub struct PangoLayout {
    _private: [u8; 0],
}

extern "C" {
    pub fn imgshield_text_layout(
        text: *const c_char,
        len: usize,
        font: *const c_char,
        width: c_int,
        align: c_int,
        r: c_int,
        g: c_int,
        b: c_int,
        out: *mut *mut PangoLayout,
        ink: *mut c_int,
    ) -> c_int;
    pub fn imgshield_text_render(
        layout: *mut PangoLayout,
        pixels: *mut u8,
        width: c_int,
        height: c_int,
        stride: c_int,
        left: c_int,
        top: c_int,
    ) -> c_int;
    pub fn imgshield_text_layout_free(layout: *mut PangoLayout);
}

extern "C" {
    // --- text_jpeg.c ---
    pub fn imgshield_text_jpeg(
        pixels: *const u8,
        width: c_int,
        height: c_int,
        quality: c_int,
        progressive: c_int,
        out: *mut *mut u8,
        out_len: *mut usize,
        message: *mut c_char,
        message_len: usize,
    ) -> c_int;
    pub fn imgshield_text_jpeg_free(buf: *mut u8);
}
