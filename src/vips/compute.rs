//! Running a lazy pipeline: into bytes, into a random-access image in memory, and under a deadline
//! (libvips' own kill mechanism, since dropping a future cannot stop C code).

use vips_sys as ffi;

use super::image::produce;
use super::{Image, VipsError};

impl<'src> Image<'src> {
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

    /// Reads this image's interleaved 8-bit pixels (width × height × bands bytes), computing its
    /// pipeline into memory first; an image already in memory (a decode we made, pixels we wrap)
    /// is read where it is, without a copy.
    pub fn with_pixels<R>(&self, read: impl FnOnce(&[u8]) -> R) -> Result<R, VipsError> {
        if !self.is_8bit() {
            return Err(VipsError("only 8-bit pixels can be read".into()));
        }
        let memory = self.in_memory()?;
        let len = usize::try_from(
            u64::from(memory.width()) * u64::from(memory.height()) * u64::from(memory.bands()),
        )
        .map_err(|_| VipsError("the image is too large".into()))?;
        // SAFETY: memory is a live image held in memory (vips_image_copy_memory made or kept it),
        // so get_data returns its pixel buffer without computing anything, or NULL.
        let data = unsafe { ffi::vips_image_get_data(memory.raw()) };
        if data.is_null() {
            return Err(VipsError::take("reading the pixels failed"));
        }
        // SAFETY: an 8-bit memory image's buffer holds width*height*bands bytes, owned by
        // `memory`, which outlives the borrow (it is dropped after `read` returns).
        let pixels = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
        Ok(read(pixels))
    }

    /// This image computed into memory (its whole pipeline runs now), so that later steps may read
    /// it in any order. Sequential loaders refuse out-of-order reads, which rotation and smartcrop make.
    pub fn in_memory(&self) -> Result<Image<'src>, VipsError> {
        produce("computing the image failed", |out| {
            // SAFETY: self is live; out is a valid out-pointer; the copy owns its pixels.
            unsafe { ffi::imgshield_copy_memory(self.raw(), out) }
        })
    }

    /// Makes any evaluation of this image (a save, and the decode it pulls) fail once `limit` has
    /// passed: libvips' own kill mechanism, checked tile by tile, so the worker is freed mid-operation.
    pub fn set_time_limit(&self, limit: std::time::Duration) {
        let micros = i64::try_from(limit.as_micros()).unwrap_or(i64::MAX);
        // SAFETY: self is live; the shim allocates the deadline, connects it to the image's "eval"
        // signal and frees it when the image (and so the signal handler) is finalised.
        unsafe { ffi::imgshield_set_deadline(self.raw(), micros) };
    }
}
