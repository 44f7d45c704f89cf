/* A one-call JPEG encode of 8-bit RGB pixels in memory with the system libjpeg (the one libvips
 * links), for small `/text` banners: the settings of vips_jpegsave as imgshield calls it, without
 * a libvips pipeline and its threads around an encode of a few hundred microseconds. */
#ifndef IMGSHIELD_TEXT_JPEG_H
#define IMGSHIELD_TEXT_JPEG_H

#include <stddef.h>

/* Encodes width x height RGB pixels (rows of width * 3 bytes) at `quality` (1..=100; chroma
 * subsampled 4:2:0 below 90, as vips_jpegsave does), Huffman tables optimised, progressive when
 * `progressive` is non-zero, no metadata. On success returns 0 and sets *out (free it with
 * imgshield_text_jpeg_free) and *out_len; on failure returns -1 with libjpeg's message in
 * `message` (NUL-terminated, at most message_len bytes). libjpeg's errors never unwind. */
int imgshield_text_jpeg(const unsigned char *pixels, int width, int height, int quality,
                        int progressive, unsigned char **out, size_t *out_len, char *message,
                        size_t message_len);

void imgshield_text_jpeg_free(unsigned char *buf);

#endif
