/* See ops.h. */
#include "ops.h"

int imgshield_rot(VipsImage *in, VipsImage **out, int angle) {
    VipsAngle a = angle == 90 ? VIPS_ANGLE_D90 : angle == 180 ? VIPS_ANGLE_D180 : VIPS_ANGLE_D270;
    return vips_rot(in, out, a, NULL);
}

int imgshield_flip(VipsImage *in, VipsImage **out, int horizontal) {
    return vips_flip(in, out, horizontal ? VIPS_DIRECTION_HORIZONTAL : VIPS_DIRECTION_VERTICAL,
                     NULL);
}

int imgshield_smartcrop(VipsImage *in, VipsImage **out, int width, int height, int interesting) {
    return vips_smartcrop(in, out, width, height, "interesting", (VipsInteresting) interesting,
                          NULL);
}

int imgshield_copy_memory(VipsImage *in, VipsImage **out) {
    *out = vips_image_copy_memory(in);
    return *out ? 0 : -1;
}

int imgshield_shrink(VipsImage *in, VipsImage **out, double hshrink, double vshrink) {
    return vips_shrink(in, out, hshrink, vshrink, NULL);
}

int imgshield_gaussblur(VipsImage *in, VipsImage **out, double sigma) {
    return vips_gaussblur(in, out, sigma, NULL);
}

int imgshield_sharpen(VipsImage *in, VipsImage **out, double sigma) {
    return vips_sharpen(in, out, "sigma", sigma, NULL);
}

int imgshield_join_frames(VipsImage **frames, int n, VipsImage **out) {
    if (n < 1)
        return -1;
    if (vips_arrayjoin(frames, out, n, "across", 1, NULL))
        return -1;
    vips_image_set_int(*out, VIPS_META_PAGE_HEIGHT, frames[0]->Ysize);
    return 0;
}

int imgshield_page_height(VipsImage *image) {
    return vips_image_get_page_height(image);
}

int imgshield_reset_orientation(VipsImage *in, VipsImage **out) {
    if (vips_copy(in, out, NULL))
        return -1;
    if (vips_image_get_typeof(*out, VIPS_META_ORIENTATION))
        vips_image_set_int(*out, VIPS_META_ORIENTATION, 1);
    return 0;
}

int imgshield_pngsave_palette_buffer(VipsImage *in, void **buf, size_t *len, int compression,
                                     int strip) {
    return vips_pngsave_buffer(in, buf, len,
                               "compression", compression,
                               "palette", TRUE,
                               "strip", (gboolean) (strip != 0),
                               NULL);
}

int imgshield_gifsave_buffer(VipsImage *in, void **buf, size_t *len, int strip) {
    return vips_gifsave_buffer(in, buf, len,
                               "strip", (gboolean) (strip != 0),
                               NULL);
}
