/* See text.h. The calls mirror vips_text's (libvips 8.14, create/text.c) so the pixels are the
 * same: a layout on a context of a PangoCairo font map at 72 dpi, the font description, width,
 * word-or-character wrapping and alignment set on it, the ink rectangle measured, and the layout
 * shown with its ink corner translated to the origin of an ARGB32 surface. */
#include "text.h"

#include <cairo.h>
#include <pango/pangocairo.h>

/* vips_text's default resolution, which imgshield never changes: sizes in px stay px. */
#define TEXT_DPI 72.0

typedef struct {
    PangoFontMap *font_map;
    PangoContext *context;
} TextThread;

static void text_thread_free(gpointer data) {
    TextThread *thread = data;
    g_object_unref(thread->context);
    g_object_unref(thread->font_map);
    g_free(thread);
}

/* One font map and context per thread: Pango font maps are not safe to share between threads
 * without a lock (vips_text takes a global one), and making them per call would load the fonts
 * and fallback lists again each time. */
static GPrivate text_thread = G_PRIVATE_INIT(text_thread_free);

static PangoContext *text_context(void) {
    TextThread *thread = g_private_get(&text_thread);
    if (!thread) {
        thread = g_new0(TextThread, 1);
        thread->font_map = pango_cairo_font_map_new();
        pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(thread->font_map), TEXT_DPI);
        thread->context = pango_font_map_create_context(thread->font_map);
        g_private_set(&text_thread, thread);
    }
    return thread->context;
}

static PangoAlignment text_alignment(int align) {
    switch (align) {
    case 1:
        return PANGO_ALIGN_CENTER;
    case 2:
        return PANGO_ALIGN_RIGHT;
    default:
        return PANGO_ALIGN_LEFT;
    }
}

int imgshield_text_layout(const char *text, size_t len, const char *font, int width, int align,
                          int r, int g, int b, PangoLayout **out, int ink[4]) {
    PangoLayout *layout;
    PangoFontDescription *description;
    PangoAttrList *attrs;
    PangoAttribute *colour;
    PangoRectangle ink_rect, logical_rect;

    if (len > G_MAXINT || !g_utf8_validate(text, (gssize) len, NULL))
        return -1;
    layout = pango_layout_new(text_context());
    pango_layout_set_text(layout, text, (int) len);
    /* What the markup <span foreground="#rrggbb"> over the whole text gives: 8-bit to 16-bit
     * channels as pango_color_parse widens them. */
    attrs = pango_attr_list_new();
    colour = pango_attr_foreground_new((guint16) (r * 257), (guint16) (g * 257),
                                       (guint16) (b * 257));
    pango_attr_list_insert(attrs, colour);
    pango_layout_set_attributes(layout, attrs);
    pango_attr_list_unref(attrs);

    description = pango_font_description_from_string(font);
    pango_layout_set_font_description(layout, description);
    pango_font_description_free(description);
    if (width > 0)
        pango_layout_set_width(layout, width * PANGO_SCALE);
    pango_layout_set_alignment(layout, text_alignment(align));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);

    pango_layout_get_pixel_extents(layout, &ink_rect, &logical_rect);
    ink[0] = ink_rect.x;
    ink[1] = ink_rect.y;
    ink[2] = ink_rect.width;
    ink[3] = ink_rect.height;
    *out = layout;
    return 0;
}

int imgshield_text_render(PangoLayout *layout, unsigned char *pixels, int width, int height,
                          int stride, int left, int top) {
    cairo_surface_t *surface;
    cairo_t *cr;
    int status;

    surface = cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, width, height,
                                                  stride);
    cr = cairo_create(surface);
    cairo_surface_destroy(surface);
    cairo_translate(cr, -left, -top);
    pango_cairo_show_layout(cr, layout);
    status = cairo_status(cr);
    cairo_destroy(cr);
    return status == CAIRO_STATUS_SUCCESS ? 0 : -1;
}

void imgshield_text_layout_free(PangoLayout *layout) {
    if (layout)
        g_object_unref(layout);
}
