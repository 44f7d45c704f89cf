//! [`Image`], the RAII handle: one owned GObject reference (`Drop` unrefs, `Clone` refs), a
//! lifetime for the buffer its pixels may still be read from, and the header accessors.

use std::marker::PhantomData;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use vips_sys as ffi;

use super::VipsError;

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
pub(super) fn produce<'src>(
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

/// Takes ownership of a new image reference, or reads libvips' error when there is none.
pub(super) fn wrap<'src>(
    raw: *mut ffi::VipsImage,
    context: &str,
) -> Result<Image<'src>, VipsError> {
    NonNull::new(raw)
        .map(|ptr| Image {
            ptr,
            _source: PhantomData,
        })
        .ok_or_else(|| VipsError::take(context))
}

impl Image<'_> {
    /// The raw pointer, for calls in this folder; valid while `self` lives.
    pub(super) fn raw(&self) -> *mut ffi::VipsImage {
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
}
