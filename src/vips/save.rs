//! Encoding: [`SaveFormat`] and the dispatch to one libvips saver per format. A save is where a
//! lazy pipeline actually runs, so it is also where decode errors surface.

use std::ffi::c_void;
use std::os::raw::c_int;
use std::ptr;

use vips_sys as ffi;

use super::{Image, VipsError};

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
    Jxl {
        quality: u8,
        effort: u8,
        strip: bool,
    },
}

/// Where a saver writes: the out-pointers of a `*save_buffer` call.
struct Out {
    buf: *mut *mut c_void,
    len: *mut usize,
}

impl Image<'_> {
    /// Encodes the image; this is where a lazy pipeline actually runs and where decode errors surface.
    pub fn save(&self, format: SaveFormat) -> Result<Vec<u8>, VipsError> {
        let mut buf: *mut c_void = ptr::null_mut();
        let mut len: usize = 0;
        let out = Out {
            buf: &mut buf,
            len: &mut len,
        };
        let rc = self.run_saver(format, &out);
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

    /// Calls the saver for `format`; on success libvips has put a g_malloc'd buffer in `out`.
    fn run_saver(&self, format: SaveFormat, out: &Out) -> c_int {
        match format {
            SaveFormat::Jpeg {
                quality,
                progressive,
                strip,
            } => self.jpeg(out, quality, progressive, strip),
            SaveFormat::Png {
                compression,
                palette,
                strip,
            } => self.png(out, compression, palette, strip),
            SaveFormat::Gif { strip } => self.gif(out, strip),
            SaveFormat::Webp {
                quality,
                lossless,
                effort,
                strip,
            } => self.webp(out, quality, lossless, effort, strip),
            SaveFormat::Avif {
                quality,
                effort,
                strip,
            } => self.avif(out, quality, effort, strip),
            SaveFormat::Jxl {
                quality,
                effort,
                strip,
            } => self.jxl(out, quality, effort, strip),
        }
    }

    fn jpeg(&self, out: &Out, quality: u8, progressive: bool, strip: bool) -> c_int {
        let (q, p, s) = (quality.into(), progressive.into(), strip.into());
        // SAFETY: self is live; out holds valid out-pointers that outlive the call.
        unsafe { ffi::imgshield_jpegsave_buffer(self.raw(), out.buf, out.len, q, p, s) }
    }

    fn png(&self, out: &Out, compression: u8, palette: bool, strip: bool) -> c_int {
        let (c, s) = (compression.into(), strip.into());
        // SAFETY: as for jpeg.
        unsafe {
            if palette {
                ffi::imgshield_pngsave_palette_buffer(self.raw(), out.buf, out.len, c, s)
            } else {
                ffi::imgshield_pngsave_buffer(self.raw(), out.buf, out.len, c, s)
            }
        }
    }

    fn gif(&self, out: &Out, strip: bool) -> c_int {
        // SAFETY: as for jpeg.
        unsafe { ffi::imgshield_gifsave_buffer(self.raw(), out.buf, out.len, strip.into()) }
    }

    fn webp(&self, out: &Out, quality: u8, lossless: bool, effort: u8, strip: bool) -> c_int {
        let (q, l, e, s) = (quality.into(), lossless.into(), effort.into(), strip.into());
        // SAFETY: as for jpeg.
        unsafe { ffi::imgshield_webpsave_buffer(self.raw(), out.buf, out.len, q, l, e, s) }
    }

    fn avif(&self, out: &Out, quality: u8, effort: u8, strip: bool) -> c_int {
        let (q, e, s) = (quality.into(), effort.into(), strip.into());
        // SAFETY: as for jpeg.
        unsafe { ffi::imgshield_avifsave_buffer(self.raw(), out.buf, out.len, q, e, s) }
    }

    fn jxl(&self, out: &Out, quality: u8, effort: u8, strip: bool) -> c_int {
        let (q, e, s) = (quality.into(), effort.into(), strip.into());
        // SAFETY: as for jpeg.
        unsafe { ffi::imgshield_jxlsave_buffer(self.raw(), out.buf, out.len, q, e, s) }
    }
}
