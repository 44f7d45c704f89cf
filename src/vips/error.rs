//! [`VipsError`], and the one place libvips' process-global error buffer is read and cleared.

use std::ffi::CStr;
use std::os::raw::c_int;

use vips_sys as ffi;

/// A libvips failure: the return code said so; the text is best-effort, because libvips' error
/// buffer is process-global and another thread may have cleared or extended it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VipsError(pub String);

impl VipsError {
    /// Takes (and clears) libvips' error buffer.
    pub(super) fn take(context: &str) -> VipsError {
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

/// A dimension (or band index) as libvips' `int`, refused when it does not fit.
pub(super) fn c_dim(value: u32) -> Result<c_int, VipsError> {
    c_int::try_from(value).map_err(|_| VipsError(format!("dimension {value} is out of range")))
}

/// A count of values (a background, a list of frames) as libvips' `int`.
pub(super) fn c_len(len: usize) -> Result<c_int, VipsError> {
    c_int::try_from(len).map_err(|e| VipsError(e.to_string()))
}
