/* Fixed-arity wrappers around the variadic, NULL-terminated libvips calls imgshield uses.
 * Rust cannot type-check C varargs: a missing NULL terminator or a bool passed where a gboolean
 * is expected corrupts the stack silently. Every optional argument is spelled out here instead. */
#ifndef IMGSHIELD_VIPS_SHIM_H
#define IMGSHIELD_VIPS_SHIM_H

#include <vips/vips.h>

int imgshield_init(const char *argv0);

VipsImage *imgshield_image_new_from_buffer(const void *buf, size_t len, const char *option_string);

int imgshield_thumbnail_buffer(const void *buf, size_t len, VipsImage **out, int width, int height,
                               int size, int export_srgb, const char *option_string);

/* Lanczos3 reduction by hshrink x vshrink (>= 1) in one pass, for an image already decoded in
 * memory. (vips_thumbnail_image and vips_resize, whose block-shrink step is slow on in-memory
 * images in 8.14, took 4-15x longer for factors above 4.) */
int imgshield_reduce(VipsImage *in, VipsImage **out, double hshrink, double vshrink);

int imgshield_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height);

int imgshield_embed(VipsImage *in, VipsImage **out, int x, int y, int width, int height,
                    const double *background, int n);

int imgshield_flatten(VipsImage *in, VipsImage **out, const double *background, int n);

int imgshield_colourspace(VipsImage *in, VipsImage **out, int space);

int imgshield_cast_uchar(VipsImage *in, VipsImage **out);

int imgshield_addalpha(VipsImage *in, VipsImage **out);

int imgshield_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int progressive,
                              int strip);

int imgshield_pngsave_buffer(VipsImage *in, void **buf, size_t *len, int compression, int strip);

int imgshield_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int lossless,
                              int effort, int strip);

int imgshield_avifsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int effort,
                              int strip);

int imgshield_jxlsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int effort,
                             int strip);

/* A copy of `in` without EXIF, XMP and IPTC blobs. libvips 8.14's webpsave ignores `strip`, so
 * metadata is removed from the image itself before any save. */
int imgshield_remove_metadata(VipsImage *in, VipsImage **out);

/* Kills evaluation of `image` (and so of any save of it) once `timeout_us` microseconds have passed:
 * libvips signals "eval" as it computes tiles, and the handler sets the image's kill flag, which every
 * region of the pipeline checks. Returns 0. */
int imgshield_set_deadline(VipsImage *image, gint64 timeout_us);

/* The loader that opened an image ("jpegload_buffer", ...), or NULL. Borrowed from the image. */
const char *imgshield_image_loader(VipsImage *image);

/* Renders Pango `markup` as an sRGB RGBA image (8-bit) with the Pango font description `font`,
 * wrapping lines at `width` pixels (0: no wrapping; words longer than a line break between
 * characters), aligning lines by `align` (a VipsAlign) and at 72 dpi, so point sizes are pixels.
 * The caller must escape user text: libvips always parses `markup` as Pango markup. */
int imgshield_text(VipsImage **out, const char *markup, const char *font, int width, int align);

/* `overlay` composited over `base` with its top-left corner at (x, y) (either may be negative or
 * beyond the base: the overlay is clipped), blend mode "over". The output has the base's size. */
int imgshield_composite_over(VipsImage *base, VipsImage *overlay, VipsImage **out, int x, int y);

/* A copy of `in` (8-bit, last band alpha) whose alpha is multiplied by `factor` (0..1). */
int imgshield_multiply_alpha(VipsImage *in, VipsImage **out, double factor);

/* Bands first..first+n-1 of `in`. */
int imgshield_extract_bands(VipsImage *in, VipsImage **out, int first, int n);

/* A width x height 8-bit image whose every pixel is `ink` (n values: 1 grey, 2 grey + alpha,
 * 3 sRGB, 4 sRGB + alpha). Lazy: no pixel memory until something reads it. */
int imgshield_solid(VipsImage **out, int width, int height, const double *ink, int n);

/* A copy of `in` (pixels shared) whose interpretation is `space` (a VipsInterpretation). */
int imgshield_set_interpretation(VipsImage *in, VipsImage **out, int space);
/* libvips' nickname of a VipsInterpretation value ("srgb", "b-w", "cmyk", "rgb16", ...), static. */
const char *imgshield_interpretation_nick(int interpretation);

/* A string metadata field of `image` ("heif-compression", ...), or NULL when it has none. Borrowed
 * from the image. */
const char *imgshield_image_get_string(VipsImage *image, const char *name);

#endif
