/* Fixed-arity wrappers for the image operations of the URL API (rotate, flip, smartcrop, effects,
 * animation frames, more savers). Same rules as shim.h: every optional argument is typed and
 * NULL-terminated here, where the C compiler checks it. */
#ifndef IMGSHIELD_OPS_H
#define IMGSHIELD_OPS_H

#include <vips/vips.h>

/* angle: 90, 180 or 270 (clockwise). */
int imgshield_rot(VipsImage *in, VipsImage **out, int angle);

/* horizontal != 0: mirror left-right, else top-bottom. */
int imgshield_flip(VipsImage *in, VipsImage **out, int horizontal);

/* interesting: VIPS_INTERESTING_* value. */
int imgshield_smartcrop(VipsImage *in, VipsImage **out, int width, int height, int interesting);

/* Computes `in` into memory (vips_image_copy_memory): later steps may then read it in any order,
 * which sequential loaders refuse ("out of order read"). */
int imgshield_copy_memory(VipsImage *in, VipsImage **out);

/* Box shrink by integer factors (vips_shrink): each output pixel is the mean of a block, as a
 * JPEG's DCT-domain downscale nearly is. */
int imgshield_shrink(VipsImage *in, VipsImage **out, double hshrink, double vshrink);

/* Gaussian blur whose mask stops where it falls below `min_ampl` of its peak; `float_mask` != 0
 * convolves with the exact (float) mask, then rounds back to the input's format, instead of taps
 * rounded to twentieths. */
int imgshield_gaussblur(VipsImage *in, VipsImage **out, double sigma, double min_ampl,
                        int float_mask);

/* Unsharp mask on the luminance with the given sigma (libvips' sharpen, default strengths). */
int imgshield_sharpen(VipsImage *in, VipsImage **out, double sigma);

/* Joins `n` equally sized frames top to bottom into one tall image with page-height set. */
int imgshield_join_frames(VipsImage **frames, int n, VipsImage **out);

/* The height of one frame of a multi-frame image (the image height when it has one frame). */
int imgshield_page_height(VipsImage *image);

/* A copy whose EXIF orientation tag, where there is one, says 1 (top-left): pixels are upright. */
int imgshield_reset_orientation(VipsImage *in, VipsImage **out);

/* A copy of `in` (pixels shared) carrying the metadata `meta=keep` keeps from `from`: EXIF (blob and
 * parsed fields), XMP, IPTC, the ICC profile, the resolution and its unit, but not the orientation
 * (neither the orientation field nor the EXIF Orientation fields), as libvips' autorotate leaves
 * them: for pixels decoded from `from`'s source and already upright. */
int imgshield_copy_upright_metadata(VipsImage *in, VipsImage *from, VipsImage **out);

int imgshield_pngsave_palette_buffer(VipsImage *in, void **buf, size_t *len, int compression,
                                     int strip);

int imgshield_gifsave_buffer(VipsImage *in, void **buf, size_t *len, int strip);

#endif
