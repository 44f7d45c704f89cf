//! Header facts beyond the size (what the engine's plain-JPEG test and `/info` read): pixel
//! format and interpretation, the loader, the ICC profile, string metadata. Nothing is decoded.

use std::ffi::CStr;

use vips_sys as ffi;

use super::Image;

impl Image<'_> {
    /// Whether pixels are anything but 8-bit sRGB or 8-bit greyscale.
    pub fn needs_srgb_conversion(&self) -> bool {
        // SAFETY: self is live; header getters do not decode.
        let (space, format) = unsafe {
            (
                ffi::vips_image_get_interpretation(self.raw()),
                ffi::vips_image_get_format(self.raw()),
            )
        };
        format != ffi::VIPS_FORMAT_UCHAR
            || !(space == ffi::VIPS_INTERPRETATION_sRGB || space == ffi::VIPS_INTERPRETATION_B_W)
    }

    /// Whether each band of a pixel is one byte.
    pub fn is_8bit(&self) -> bool {
        // SAFETY: self is live; header getters do not decode.
        unsafe { ffi::vips_image_get_format(self.raw()) == ffi::VIPS_FORMAT_UCHAR }
    }

    /// Whether the image carries an ICC profile (which thumbnail may act on).
    pub fn has_icc_profile(&self) -> bool {
        // SAFETY: self is live; the name is a static C string.
        unsafe { ffi::vips_image_get_typeof(self.raw(), c"icc-profile-data".as_ptr()) != 0 }
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
