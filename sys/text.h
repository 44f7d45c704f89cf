/* Text layout and rasterisation with Pango and Cairo directly, the libraries libvips' own
 * vips_text uses, without its process-wide lock and per-call set-up: each thread keeps its own
 * PangoCairo font map (at 72 dpi, as vips_text renders) and context, made on first use and freed
 * when the thread exits. A layout belongs to the thread that made it. */
#ifndef IMGSHIELD_TEXT_H
#define IMGSHIELD_TEXT_H

#include <stddef.h>

typedef struct _PangoLayout PangoLayout;

/* Lays out `len` bytes of UTF-8 `text` (plain text, never markup) in `font` (a Pango font
 * description), in the colour (r, g, b) (0..=255 each), wrapped at `width` pixels between words,
 * or between characters inside a word too long for a line (0: never), each line aligned by
 * `align` (a VipsAlign: 0 left, 1 centre, 2 right, as Pango reads it for the paragraph's
 * direction). On success returns 0, sets *out to a new layout and ink[0..4] to its ink rectangle
 * in pixels (left, top, width, height); -1 when the text is not valid UTF-8. */
int imgshield_text_layout(const char *text, size_t len, const char *font, int width, int align,
                          int r, int g, int b, PangoLayout **out, int ink[4]);

/* Rasterises `layout` into `pixels`, a zeroed width x height Cairo ARGB32 buffer (premultiplied,
 * native-endian 32-bit words) with `stride` bytes per row, its ink rectangle's top-left corner
 * (left, top) at the buffer's origin. Returns 0, or -1 when Cairo fails. */
int imgshield_text_render(PangoLayout *layout, unsigned char *pixels, int width, int height,
                          int stride, int left, int top);

/* Releases a layout from imgshield_text_layout. */
void imgshield_text_layout_free(PangoLayout *layout);

#endif
