/* See shim.h: each function forwards to one variadic libvips call with every optional argument
 * typed and terminated here, where the C compiler can check it. */
#include "shim.h"

int imgshield_init(const char *argv0) {
    return VIPS_INIT(argv0);
}

VipsImage *imgshield_image_new_from_buffer(const void *buf, size_t len, const char *option_string) {
    return vips_image_new_from_buffer(buf, len, option_string, NULL);
}

int imgshield_thumbnail_buffer(const void *buf, size_t len, VipsImage **out, int width, int height,
                               int size, int export_srgb, const char *option_string) {
    /* vips_thumbnail_buffer takes a non-const pointer but only reads the buffer. */
    /* export_profile: a source with an ICC profile (Display P3, Adobe RGB) is converted to sRGB
     * after the shrink, so the pixels are right once the profile is stripped. Only asked for when
     * there is a profile: without one, 8.14 still transforms and shifts saturated colours. */
    if (export_srgb)
        return vips_thumbnail_buffer((void *) buf, len, out, width,
                                     "height", height,
                                     "size", (VipsSize) size,
                                     "export_profile", "srgb",
                                     "option_string", option_string,
                                     NULL);
    return vips_thumbnail_buffer((void *) buf, len, out, width,
                                 "height", height,
                                 "size", (VipsSize) size,
                                 "option_string", option_string,
                                 NULL);
}

int imgshield_reduce(VipsImage *in, VipsImage **out, double hshrink, double vshrink) {
    return vips_reduce(in, out, hshrink, vshrink,
                       "kernel", VIPS_KERNEL_LANCZOS3,
                       NULL);
}

int imgshield_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}

int imgshield_embed(VipsImage *in, VipsImage **out, int x, int y, int width, int height,
                    const double *background, int n) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int result = vips_embed(in, out, x, y, width, height,
                            "extend", VIPS_EXTEND_BACKGROUND,
                            "background", bg,
                            NULL);
    vips_area_unref(VIPS_AREA(bg));
    return result;
}

int imgshield_flatten(VipsImage *in, VipsImage **out, const double *background, int n) {
    VipsArrayDouble *bg = vips_array_double_new(background, n);
    int result = vips_flatten(in, out, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    return result;
}

int imgshield_colourspace(VipsImage *in, VipsImage **out, int space) {
    return vips_colourspace(in, out, (VipsInterpretation) space, NULL);
}

int imgshield_cast_uchar(VipsImage *in, VipsImage **out) {
    return vips_cast_uchar(in, out, NULL);
}

int imgshield_addalpha(VipsImage *in, VipsImage **out) {
    return vips_addalpha(in, out, NULL);
}

int imgshield_jpegsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int progressive,
                              int strip) {
    return vips_jpegsave_buffer(in, buf, len,
                                "Q", quality,
                                "interlace", (gboolean) (progressive != 0),
                                "optimize_coding", TRUE,
                                "strip", (gboolean) (strip != 0),
                                NULL);
}

int imgshield_pngsave_buffer(VipsImage *in, void **buf, size_t *len, int compression, int strip) {
    return vips_pngsave_buffer(in, buf, len,
                               "compression", compression,
                               "strip", (gboolean) (strip != 0),
                               NULL);
}

int imgshield_webpsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int lossless,
                              int effort, int strip) {
    return vips_webpsave_buffer(in, buf, len,
                                "Q", quality,
                                "lossless", (gboolean) (lossless != 0),
                                "effort", effort,
                                "strip", (gboolean) (strip != 0),
                                NULL);
}

int imgshield_avifsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int effort,
                              int strip) {
    return vips_heifsave_buffer(in, buf, len,
                                "Q", quality,
                                "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                                "effort", effort,
                                "strip", (gboolean) (strip != 0),
                                NULL);
}

int imgshield_jxlsave_buffer(VipsImage *in, void **buf, size_t *len, int quality, int effort,
                             int strip) {
    return vips_jxlsave_buffer(in, buf, len,
                               "Q", quality,
                               "effort", effort,
                               "strip", (gboolean) (strip != 0),
                               NULL);
}

int imgshield_remove_metadata(VipsImage *in, VipsImage **out) {
    gchar **fields;
    if (vips_copy(in, out, NULL))
        return -1;
    /* Savers rebuild the EXIF blob from the parsed "exif-ifd*" fields, so those go too. */
    fields = vips_image_get_fields(*out);
    for (int i = 0; fields[i]; i++) {
        if (g_str_has_prefix(fields[i], "exif-") || g_str_has_prefix(fields[i], "xmp-") ||
            g_str_has_prefix(fields[i], "iptc-"))
            vips_image_remove(*out, fields[i]);
    }
    g_strfreev(fields);
    return 0;
}

typedef struct {
    gint64 deadline_us; /* g_get_monotonic_time() value after which evaluation is killed */
} ImgshieldDeadline;

static void imgshield_deadline_eval(VipsImage *image, VipsProgress *progress, gpointer user_data) {
    const ImgshieldDeadline *deadline = user_data;
    (void) progress;
    if (g_get_monotonic_time() > deadline->deadline_us)
        vips_image_set_kill(image, TRUE);
}

static void imgshield_deadline_free(gpointer data, GClosure *closure) {
    (void) closure;
    g_free(data);
}

int imgshield_set_deadline(VipsImage *image, gint64 timeout_us) {
    ImgshieldDeadline *deadline = g_new(ImgshieldDeadline, 1);
    deadline->deadline_us = g_get_monotonic_time() + timeout_us;
    vips_image_set_progress(image, TRUE);
    g_signal_connect_data(image, "eval", G_CALLBACK(imgshield_deadline_eval), deadline,
                          imgshield_deadline_free, (GConnectFlags) 0);
    return 0;
}

const char *imgshield_image_loader(VipsImage *image) {
    const char *loader = NULL;
    if (vips_image_get_typeof(image, VIPS_META_LOADER) == 0 ||
        vips_image_get_string(image, VIPS_META_LOADER, &loader) != 0)
        return NULL;
    return loader;
}

int imgshield_text(VipsImage **out, const char *markup, const char *font, int width, int align) {
    return vips_text(out, markup,
                     "font", font,
                     "width", width,
                     "align", (VipsAlign) align,
                     "dpi", 72,
                     "rgba", TRUE,
                     "wrap", VIPS_TEXT_WRAP_WORD_CHAR,
                     NULL);
}

int imgshield_composite_over(VipsImage *base, VipsImage *overlay, VipsImage **out, int x, int y) {
    return vips_composite2(base, overlay, out, VIPS_BLEND_MODE_OVER,
                           "x", x,
                           "y", y,
                           NULL);
}

int imgshield_multiply_alpha(VipsImage *in, VipsImage **out, double factor) {
    int n = vips_image_get_bands(in);
    double a[4] = {1.0, 1.0, 1.0, 1.0};
    double b[4] = {0.0, 0.0, 0.0, 0.0};
    if (n < 2 || n > 4) {
        vips_error("imgshield_multiply_alpha", "expected 2 to 4 bands, not %d", n);
        return -1;
    }
    a[n - 1] = factor;
    return vips_linear(in, out, a, b, n, "uchar", TRUE, NULL);
}

int imgshield_extract_bands(VipsImage *in, VipsImage **out, int first, int n) {
    return vips_extract_band(in, out, first, "n", n, NULL);
}

int imgshield_solid(VipsImage **out, int width, int height, const double *ink, int n) {
    double a[4] = {1.0, 1.0, 1.0, 1.0};
    VipsImage *black = NULL;
    VipsImage *filled = NULL;
    int result;
    if (n < 1 || n > 4) {
        vips_error("imgshield_solid", "expected 1 to 4 bands, not %d", n);
        return -1;
    }
    if (vips_black(&black, width, height, "bands", n, NULL))
        return -1;
    result = vips_linear(black, &filled, a, ink, n, "uchar", TRUE, NULL);
    g_object_unref(black);
    if (result)
        return -1;
    /* black + linear say "multiband"/"b-w"; composite and the savers need the real meaning. */
    result = vips_copy(filled, out,
                       "interpretation", n >= 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W,
                       NULL);
    g_object_unref(filled);
    return result;
}

int imgshield_set_interpretation(VipsImage *in, VipsImage **out, int space) {
    return vips_copy(in, out, "interpretation", (VipsInterpretation) space, NULL);
}

const char *imgshield_interpretation_nick(int interpretation) {
    return vips_enum_nick(VIPS_TYPE_INTERPRETATION, interpretation);
}

const char *imgshield_image_get_string(VipsImage *image, const char *name) {
    const char *value = NULL;
    GType type = vips_image_get_typeof(image, name);
    /* Checked first: vips_image_get_string on another type would leave a message in the
     * process-global error buffer. */
    if ((type != G_TYPE_STRING && type != VIPS_TYPE_REF_STRING) ||
        vips_image_get_string(image, name, &value) != 0)
        return NULL;
    return value;
}
