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
                               int size, const char *option_string) {
    /* vips_thumbnail_buffer takes a non-const pointer but only reads the buffer. */
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
