/* imgshield's own JPEG load step: libjpeg (the system libjpeg-turbo that libvips links, so one
 * libjpeg in the process) behind a setjmp error manager, so that no libjpeg error ever unwinds
 * through Rust. The bytes given are already filtered by the caller's scan plan; this file only
 * decodes what it is given, at a DCT scale, into memory libvips then owns. */
#ifndef IMGSHIELD_JPEG_H
#define IMGSHIELD_JPEG_H

#include <stddef.h>
#include <vips/vips.h>

/* What a decode did. */
typedef struct {
    int warnings;     /* libjpeg warnings seen (corrupt data, a scan ending early, ...) */
    int truncated;    /* the data ran out before the end-of-image marker */
    int stopped;      /* 1: more scans than max_scans; 2: past the deadline */
    int scans;        /* scans read */
    char message[200]; /* the error, or the first warning */
} imgshield_jpeg_outcome;

/* Return codes of imgshield_jpeg_load. */
#define IMGSHIELD_JPEG_OK 0
#define IMGSHIELD_JPEG_ERROR (-1)    /* libjpeg refused the data, or warned under fail_on_warning */
#define IMGSHIELD_JPEG_STOPPED (-2)  /* the scan cap or the deadline stopped it */
#define IMGSHIELD_JPEG_MISMATCH (-3) /* the output is not the size and bands of `like` */
#define IMGSHIELD_JPEG_NO_MEMORY (-4)

/* Decodes `len` bytes of JPEG at 1/`scale_denom` (1, 2, 4 or 8), block smoothing off, as 8-bit grey,
 * RGB or CMYK (an Adobe CMYK file inverted, as libvips' loader does), into a new memory image that
 * owns its pixels and carries every metadata field, the interpretation and the resolution of
 * `like` (libvips' own header read of the same source at the same scale: its bands, and libjpeg's
 * output size or one less per side, as libvips 8.14 rounds scaled sizes down and crops). Stops, with IMGSHIELD_JPEG_STOPPED, once more than `max_scans` scans
 * have been read or `timeout_us` microseconds (0: none) have passed, checked between MCU rows. */
int imgshield_jpeg_load(const unsigned char *buf, size_t len, int scale_denom, VipsImage *like,
                        int fail_on_warning, int max_scans, gint64 timeout_us,
                        imgshield_jpeg_outcome *outcome, VipsImage **out);

/* vips_autorot: `in` turned upright by its EXIF orientation, which the copy no longer carries. */
int imgshield_autorot(VipsImage *in, VipsImage **out);

/* vips_thumbnail_image to exactly width x height (VIPS_SIZE_FORCE), as imgshield_thumbnail_buffer
 * does from a buffer, for an image already decoded at a DCT scale (the shrink-on-load is done). */
int imgshield_thumbnail_image(VipsImage *in, VipsImage **out, int width, int height, int size,
                              int export_srgb);

#endif
