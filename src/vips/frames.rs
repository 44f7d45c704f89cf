//! Animations: libvips keeps the frames of a multi-page load stacked top to bottom, `page-height`
//! apart; these split and rejoin them.

use vips_sys as ffi;

use super::error::c_len;
use super::image::produce;
use super::{Image, VipsError};

impl<'src> Image<'src> {
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
        let n = c_len(raw.len())?;
        if n == 0 {
            return Err(VipsError("no frames to join".into()));
        }
        produce("joining frames failed", |out| {
            // SAFETY: raw holds n live images (borrowed from frames for the call; arrayjoin takes its
            // own references); out is a valid out-pointer.
            unsafe { ffi::imgshield_join_frames(raw.as_mut_ptr(), n, out) }
        })
    }
}
