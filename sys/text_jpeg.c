/* See text_jpeg.h. The settings follow libvips 8.14's jpegsave for an 8-bit sRGB image from
 * memory: jpeg_set_defaults, jpeg_set_quality(Q, force_baseline), 1x1 sampling at Q >= 90,
 * optimize_coding, simple progression when interlaced, a JFIF header at 10 pixels per cm (the
 * 1 pixel per mm of an image from memory). */
#include "text_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    /* The destination lives here, not in locals, so it survives a longjmp intact. */
    unsigned char *buf;
    unsigned long len;
} TextJpegError;

static void text_jpeg_error_exit(j_common_ptr cinfo) {
    TextJpegError *err = (TextJpegError *) cinfo->err;
    longjmp(err->jump, 1);
}

/* Warnings are not errors for an encode of pixels we made; drop them. */
static void text_jpeg_output_message(j_common_ptr cinfo) {
    (void) cinfo;
}

int imgshield_text_jpeg(const unsigned char *pixels, int width, int height, int quality,
                        int progressive, unsigned char **out, size_t *out_len, char *message,
                        size_t message_len) {
    struct jpeg_compress_struct cinfo;
    TextJpegError err;
    JSAMPROW row;
    int i;

    memset(&err, 0, sizeof(err));
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = text_jpeg_error_exit;
    err.pub.output_message = text_jpeg_output_message;
    if (setjmp(err.jump)) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr) &cinfo, text);
        if (message && message_len > 0) {
            strncpy(message, text, message_len - 1);
            message[message_len - 1] = '\0';
        }
        jpeg_destroy_compress(&cinfo);
        free(err.buf);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &err.buf, &err.len);
    cinfo.image_width = (JDIMENSION) width;
    cinfo.image_height = (JDIMENSION) height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.optimize_coding = TRUE;
    if (quality >= 90)
        for (i = 0; i < cinfo.num_components; i++) {
            cinfo.comp_info[i].h_samp_factor = 1;
            cinfo.comp_info[i].v_samp_factor = 1;
        }
    if (progressive)
        jpeg_simple_progression(&cinfo);
    cinfo.density_unit = 2;
    cinfo.X_density = 10;
    cinfo.Y_density = 10;

    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        row = (JSAMPROW) (pixels + (size_t) cinfo.next_scanline * (size_t) width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = err.buf;
    *out_len = err.len;
    return 0;
}

void imgshield_text_jpeg_free(unsigned char *buf) {
    free(buf);
}
