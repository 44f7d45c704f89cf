/* See jpeg.h. libjpeg reports errors through error_exit, which must not return: it longjmps back
 * to the setjmp in imgshield_jpeg_load, the only frame between Rust and libjpeg, so Rust never
 * sees an unwind. Warnings are counted (and, when asked, fail the decode at once, as libvips'
 * fail_on=warning does). A progress monitor, called by libjpeg once per MCU row while it absorbs
 * the scans of a progressive file, enforces the scan cap and the deadline. */
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <jerror.h>

#include "jpeg.h"

/* ---- Reuse of libjpeg's large blocks across decodes, for the whole process.
 *
 * A progressive decode allocates a whole-image coefficient buffer through jpeg_get_large and zeroes
 * it; fresh from the allocator, every page of it faults (~7.5k faults per decode on the benchmark
 * corpus, with jemalloc or glibc). libjpeg calls jpeg_get_large and jpeg_free_large through its
 * PLT, so the definitions below replace its own (malloc and free) for the whole process: freed
 * blocks are kept in one pool, behind a lock, for the next decode on any thread (ours, or libvips'
 * loader's). Bounded: at most POOL_BYTES in all; a miss first frees the blocks too small for it,
 * and the end of one of our decodes frees the blocks no decode since its start has given back. */

#define POOL_SLOTS 4
#define POOL_BYTES ((size_t) 48 << 20)

typedef struct {
    size_t capacity;
    size_t pad; /* keeps the block 16-byte aligned, as malloc's */
} BlockHeader;

/* One pool for the process, for every libjpeg decode in it (ours and libvips' loader): the blocking
 * threads that run decodes take turns, so one pool per thread multiplied the memory kept by the
 * number of threads, and a pool libvips' loader could not draw on sat beside its fresh buffer. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static BlockHeader *pool_block[POOL_SLOTS];
static unsigned long pool_used_in[POOL_SLOTS]; /* the decode current when each block came back */
static unsigned long pool_decodes;             /* our decodes started in the process */
static __thread unsigned long thread_decode;   /* this thread's decode of ours, 0 outside one */

void *jpeg_get_large(j_common_ptr cinfo, size_t size) {
    BlockHeader *block = NULL, *drop[POOL_SLOTS] = {0};
    (void) cinfo;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SLOTS && !block; i++) {
        BlockHeader *b = pool_block[i];
        /* Not more than twice the size asked for: a small decode must not hold a large block. */
        if (b && b->capacity >= size && b->capacity / 2 <= size) {
            pool_block[i] = NULL;
            block = b;
        }
    }
    if (!block) /* a miss: blocks too small for this decode go, before a new one is allocated */
        for (int i = 0; i < POOL_SLOTS; i++)
            if (pool_block[i] && pool_block[i]->capacity < size) {
                drop[i] = pool_block[i];
                pool_block[i] = NULL;
            }
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < POOL_SLOTS; i++)
        free(drop[i]);
    if (block)
        return block + 1;
    if (size > SIZE_MAX - sizeof(BlockHeader))
        return NULL;
    block = malloc(sizeof(BlockHeader) + size);
    if (!block)
        return NULL;
    block->capacity = size;
    return block + 1;
}

void jpeg_free_large(j_common_ptr cinfo, void *object, size_t size) {
    BlockHeader *block = (BlockHeader *) object - 1;
    size_t kept = 0;
    (void) cinfo;
    (void) size;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SLOTS; i++)
        kept += pool_block[i] ? pool_block[i]->capacity : 0;
    for (int i = 0; i < POOL_SLOTS && kept + block->capacity <= POOL_BYTES; i++)
        if (!pool_block[i]) {
            pool_block[i] = block;
            pool_used_in[i] = thread_decode ? thread_decode : pool_decodes;
            block = NULL;
            break;
        }
    pthread_mutex_unlock(&pool_lock);
    free(block);
}

/* Starts (active) or ends one of our decodes on this thread; at the end, blocks that came back
 * before this decode started and that it did not use are freed. */
static void pool_decoding(int active) {
    BlockHeader *drop[POOL_SLOTS] = {0};
    pthread_mutex_lock(&pool_lock);
    if (active) {
        thread_decode = ++pool_decodes;
    } else {
        for (int i = 0; i < POOL_SLOTS; i++)
            if (pool_block[i] && pool_used_in[i] < thread_decode) {
                drop[i] = pool_block[i];
                pool_block[i] = NULL;
            }
        thread_decode = 0;
    }
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < POOL_SLOTS; i++)
        free(drop[i]);
}

typedef struct {
    /* First, so a j_common_ptr is also a pointer to the whole decoder. */
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    imgshield_jpeg_outcome *outcome;
    int fail_on_warning;
    int max_scans;
    gint64 deadline_us; /* CLOCK_MONOTONIC microseconds, 0: none */
} Decoder;

static gint64 now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void keep_message(Decoder *d) {
    d->err.format_message((j_common_ptr) &d->cinfo, d->outcome->message);
}

static void on_error_exit(j_common_ptr cinfo) {
    Decoder *d = (Decoder *) cinfo;
    keep_message(d);
    longjmp(d->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int msg_level) {
    Decoder *d = (Decoder *) cinfo;
    if (msg_level >= 0)
        return; /* trace messages */
    d->err.num_warnings++;
    d->outcome->warnings++;
    if (d->err.msg_code == JWRN_JPEG_EOF)
        d->outcome->truncated = 1;
    if (d->outcome->warnings == 1)
        keep_message(d);
    if (d->fail_on_warning)
        longjmp(d->jump, 1);
}

static void on_output_message(j_common_ptr cinfo) {
    (void) cinfo; /* never to stderr */
}

static void on_progress(j_common_ptr cinfo) {
    Decoder *d = (Decoder *) cinfo;
    d->outcome->scans = d->cinfo.input_scan_number;
    if (d->cinfo.input_scan_number > d->max_scans) {
        d->outcome->stopped = 1;
        snprintf(d->outcome->message, sizeof d->outcome->message,
                 "more than %d scans", d->max_scans);
        longjmp(d->jump, 1);
    }
    if (d->deadline_us && now_us() > d->deadline_us) {
        d->outcome->stopped = 2;
        snprintf(d->outcome->message, sizeof d->outcome->message,
                 "the decode ran past its time limit");
        longjmp(d->jump, 1);
    }
}

/* Adobe's CMYK JPEGs store ink inverted (0 is full ink); libvips' loader inverts them back. */
static void invert(unsigned char *pixels, size_t len) {
    for (size_t i = 0; i < len; i++)
        pixels[i] = 255 - pixels[i];
}

/* Reads the header and decodes every row into `pixels` (allocated here, width x height x bands of
 * `like`). Returns a code of jpeg.h; on success *pixels is the caller's to g_free. */
static int decode(Decoder *d, const unsigned char *buf, size_t len, int scale_denom,
                  VipsImage *like, unsigned char **pixels) {
    /* Assigned between setjmp and a possible longjmp: volatile, so the error path sees it. */
    unsigned char *volatile out = NULL;
    size_t stride;
    int bands, width, height;

    if (setjmp(d->jump)) {
        g_free(out);
        jpeg_destroy_decompress(&d->cinfo);
        return d->outcome->stopped ? IMGSHIELD_JPEG_STOPPED : IMGSHIELD_JPEG_ERROR;
    }
    jpeg_create_decompress(&d->cinfo);
    d->cinfo.progress = &d->progress;
    jpeg_mem_src(&d->cinfo, buf, (unsigned long) len);
    jpeg_read_header(&d->cinfo, TRUE);
    d->cinfo.scale_num = 1;
    d->cinfo.scale_denom = (unsigned int) scale_denom;
    /* Smoothing rewrites DC where AC coefficients are missing: with scans skipped on purpose it
     * would change the pixels, and a complete file is never smoothed anyway. */
    d->cinfo.do_block_smoothing = FALSE;
    jpeg_calc_output_dimensions(&d->cinfo);
    bands = d->cinfo.output_components;
    /* libjpeg rounds a scaled size up, libvips (8.14) down and crops the last column and row. */
    width = vips_image_get_width(like);
    height = vips_image_get_height(like);
    if ((int) d->cinfo.output_width - width < 0 || (int) d->cinfo.output_width - width > 1 ||
        (int) d->cinfo.output_height - height < 0 || (int) d->cinfo.output_height - height > 1 ||
        bands != vips_image_get_bands(like)) {
        jpeg_destroy_decompress(&d->cinfo);
        return IMGSHIELD_JPEG_MISMATCH;
    }
    stride = (size_t) d->cinfo.output_width * (size_t) bands;
    out = g_try_malloc(stride * (size_t) height);
    if (!out) {
        jpeg_destroy_decompress(&d->cinfo);
        return IMGSHIELD_JPEG_NO_MEMORY;
    }
    jpeg_start_decompress(&d->cinfo);
    /* Only libvips' rows: it never decodes the last, cropped one (where a sequential file cut short
     * would warn), so neither do we. */
    while (d->cinfo.output_scanline < (JDIMENSION) height) {
        JSAMPROW rows[16];
        JDIMENSION n = 0;
        while (n < 16 && d->cinfo.output_scanline + n < (JDIMENSION) height) {
            rows[n] = out + (size_t) (d->cinfo.output_scanline + n) * stride;
            n++;
        }
        jpeg_read_scanlines(&d->cinfo, rows, n);
        on_progress((j_common_ptr) &d->cinfo);
    }
    /* No jpeg_finish_decompress: like libvips' loader, stop once every row is out, so what follows
     * the last scan of a sequential file (stray bytes before the end marker) warns in neither. */
    /* Rows packed to libvips' width (moving forwards never overwrites a row not yet moved). */
    if ((size_t) width * (size_t) bands != stride)
        for (int y = 1; y < height; y++)
            memmove(out + (size_t) y * (size_t) width * (size_t) bands, out + (size_t) y * stride,
                    (size_t) width * (size_t) bands);
    if (d->cinfo.out_color_space == JCS_CMYK && d->cinfo.saw_Adobe_marker)
        invert(out, (size_t) width * (size_t) height * (size_t) bands);
    jpeg_destroy_decompress(&d->cinfo);
    *pixels = out;
    return IMGSHIELD_JPEG_OK;
}

/* Fields every image has in its struct rather than as metadata. */
static gboolean builtin_field(const char *name) {
    static const char *const builtin[] = {"width", "height", "bands", "format", "coding",
                                          "interpretation", "xoffset", "yoffset", "xres",
                                          "yres", "filename", "mode", "scale", "offset", NULL};
    for (int i = 0; builtin[i]; i++)
        if (strcmp(name, builtin[i]) == 0)
            return TRUE;
    return FALSE;
}

static void free_pixels(VipsImage *image, gpointer pixels) {
    (void) image;
    g_free(pixels);
}

/* `pixels` wrapped as an image (which frees them when it closes) with `like`'s header. */
static int wrap(VipsImage *like, unsigned char *pixels, VipsImage **out) {
    int width = vips_image_get_width(like), height = vips_image_get_height(like);
    int bands = vips_image_get_bands(like);
    size_t len = (size_t) width * (size_t) height * (size_t) bands;
    VipsImage *memory = vips_image_new_from_memory(pixels, len, width, height, bands,
                                                   VIPS_FORMAT_UCHAR);
    gchar **fields;
    if (!memory) {
        g_free(pixels);
        return -1;
    }
    g_signal_connect(memory, "postclose", G_CALLBACK(free_pixels), pixels);
    if (vips_copy(memory, out,
                  "interpretation", vips_image_get_interpretation(like),
                  "xres", vips_image_get_xres(like),
                  "yres", vips_image_get_yres(like),
                  NULL)) {
        g_object_unref(memory);
        return -1;
    }
    g_object_unref(memory); /* the copy holds it */
    fields = vips_image_get_fields(like);
    for (int i = 0; fields[i]; i++) {
        GValue value = G_VALUE_INIT;
        if (builtin_field(fields[i]) || vips_image_get(like, fields[i], &value))
            continue;
        vips_image_set(*out, fields[i], &value);
        g_value_unset(&value);
    }
    g_strfreev(fields);
    return 0;
}

int imgshield_jpeg_load(const unsigned char *buf, size_t len, int scale_denom, VipsImage *like,
                        int fail_on_warning, int max_scans, gint64 timeout_us,
                        imgshield_jpeg_outcome *outcome, VipsImage **out) {
    Decoder d;
    unsigned char *pixels = NULL;
    int result;

    memset(&d, 0, sizeof d);
    memset(outcome, 0, sizeof *outcome);
    d.cinfo.err = jpeg_std_error(&d.err);
    d.err.error_exit = on_error_exit;
    d.err.emit_message = on_emit_message;
    d.err.output_message = on_output_message;
    d.progress.progress_monitor = on_progress;
    d.outcome = outcome;
    d.fail_on_warning = fail_on_warning;
    d.max_scans = max_scans;
    d.deadline_us = timeout_us > 0 ? now_us() + timeout_us : 0;
    *out = NULL;
    pool_decoding(1);
    result = decode(&d, buf, len, scale_denom, like, &pixels);
    pool_decoding(0);
    if (result != IMGSHIELD_JPEG_OK)
        return result;
    return wrap(like, pixels, out) ? IMGSHIELD_JPEG_NO_MEMORY : IMGSHIELD_JPEG_OK;
}

int imgshield_autorot(VipsImage *in, VipsImage **out) {
    return vips_autorot(in, out, NULL);
}

int imgshield_thumbnail_image(VipsImage *in, VipsImage **out, int width, int height, int size,
                              int export_srgb) {
    if (export_srgb)
        return vips_thumbnail_image(in, out, width,
                                    "height", height,
                                    "size", (VipsSize) size,
                                    "export_profile", "srgb",
                                    NULL);
    return vips_thumbnail_image(in, out, width,
                                "height", height,
                                "size", (VipsSize) size,
                                NULL);
}
