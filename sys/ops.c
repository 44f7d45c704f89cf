/* See ops.h. */
#include "ops.h"

#include <string.h>

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

int imgshield_gaussblur(VipsImage *in, VipsImage **out, double sigma, double min_ampl,
                        int float_mask) {
    VipsImage *blurred, *rounded;
    int rc;
    if (!float_mask)
        return vips_gaussblur(in, out, sigma, "min_ampl", min_ampl, NULL);
    if (vips_gaussblur(in, &blurred, sigma,
                       "min_ampl", min_ampl,
                       "precision", VIPS_PRECISION_FLOAT,
                       NULL))
        return -1;
    /* A float convolution gives float pixels: round them back to the input's format. */
    rc = vips_rint(blurred, &rounded, NULL);
    g_object_unref(blurred);
    if (rc)
        return -1;
    rc = vips_cast(rounded, out, vips_image_get_format(in), NULL);
    g_object_unref(rounded);
    return rc;
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

static gboolean imgshield_kept_field(const char *name) {
    if (g_str_has_suffix(name, "-Orientation") || strcmp(name, VIPS_META_ORIENTATION) == 0)
        return FALSE;
    return g_str_has_prefix(name, "exif-") || g_str_has_prefix(name, "xmp-") ||
           g_str_has_prefix(name, "iptc-") || strcmp(name, VIPS_META_ICC_NAME) == 0 ||
           strcmp(name, VIPS_META_RESOLUTION_UNIT) == 0;
}

int imgshield_copy_upright_metadata(VipsImage *in, VipsImage *from, VipsImage **out) {
    gchar **fields;
    if (vips_copy(in, out,
                  "xres", vips_image_get_xres(from),
                  "yres", vips_image_get_yres(from),
                  NULL))
        return -1;
    fields = vips_image_get_fields(from);
    for (int i = 0; fields[i]; i++) {
        GValue value = G_VALUE_INIT;
        if (!imgshield_kept_field(fields[i]))
            continue;
        if (vips_image_get(from, fields[i], &value)) {
            g_strfreev(fields);
            g_object_unref(*out);
            *out = NULL;
            return -1;
        }
        /* vips_image_set copies the value: blobs are shared by reference count, strings copied. */
        vips_image_set(*out, fields[i], &value);
        g_value_unset(&value);
    }
    g_strfreev(fields);
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
