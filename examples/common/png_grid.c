/* SPDX-License-Identifier: MIT */
/*
 * png_grid.c - a grid of greyscale float tiles to PNG, through libpng's
 * simplified write API (png_image_write_to_file: no setjmp needed).
 */
#include "png_grid.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

static int fail(char *err, size_t err_size, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *err, size_t err_size, const char *format, ...)
{
    if (err != NULL && err_size > 0) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(err, err_size, format, ap);
        va_end(ap);
    }
    return -1;
}

static uint8_t grey(float v, float lo, float hi)
{
    float t = (v - lo) / (hi - lo) * 255.0f + 0.5f;
    if (!(t > 0.0f)) /* also NaN */
        return 0;
    if (t >= 255.0f)
        return 255;
    return (uint8_t)t;
}

int png_grid_write(const char *path, const float *const *tiles,
                   const png_grid_options *o, char *err, size_t err_size)
{
    if (path == NULL || tiles == NULL || o == NULL)
        return fail(err, err_size, "png_grid: NULL argument");
    if (o->rows == 0 || o->cols == 0 || o->tile_h == 0 || o->tile_w == 0)
        return fail(err, err_size, "png_grid: %u x %u tiles of %u x %u pixels: none may be 0",
                    o->rows, o->cols, o->tile_h, o->tile_w);
    if (!isfinite(o->lo) || !isfinite(o->hi) || !(o->hi > o->lo))
        return fail(err, err_size, "png_grid: value range [%g, %g] is empty", (double)o->lo,
                    (double)o->hi);
    const uint64_t scale = o->scale == 0 ? 1 : o->scale;
    const uint64_t cell_w = (uint64_t)o->tile_w * scale, cell_h = (uint64_t)o->tile_h * scale;
    const uint64_t groups =
        o->group_rows > 0 ? (uint64_t)(o->rows - 1) / o->group_rows : 0; /* gaps inside */
    const uint64_t width = o->cols * cell_w + (uint64_t)(o->cols + 1) * o->pad;
    const uint64_t height =
        o->rows * cell_h + (uint64_t)(o->rows + 1) * o->pad + groups * o->group_gap;
    if (width > PNG_GRID_MAX_SIDE || height > PNG_GRID_MAX_SIDE)
        return fail(err, err_size, "png_grid: a %llu x %llu image is larger than %u x %u",
                    (unsigned long long)width, (unsigned long long)height,
                    PNG_GRID_MAX_SIDE, PNG_GRID_MAX_SIDE);

    uint8_t *pixels = malloc((size_t)(width * height));
    if (pixels == NULL)
        return fail(err, err_size, "png_grid: out of memory for a %llu x %llu image",
                    (unsigned long long)width, (unsigned long long)height);
    memset(pixels, o->background, (size_t)(width * height));

    for (uint32_t r = 0; r < o->rows; r++) {
        uint64_t gaps = o->group_rows > 0 ? r / o->group_rows : 0;
        uint64_t y0 = o->pad + r * (cell_h + o->pad) + gaps * o->group_gap;
        for (uint32_t c = 0; c < o->cols; c++) {
            const float *tile = tiles[(size_t)r * o->cols + c];
            if (tile == NULL)
                continue;
            uint64_t x0 = o->pad + c * (cell_w + o->pad);
            for (uint64_t y = 0; y < cell_h; y++) {
                const float *src = tile + (size_t)(y / scale) * o->tile_w;
                uint8_t *dst = pixels + (size_t)((y0 + y) * width + x0);
                for (uint64_t x = 0; x < cell_w; x++)
                    dst[x] = grey(src[x / scale], o->lo, o->hi);
            }
        }
    }

    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_GRAY;
    int ok = png_image_write_to_file(&image, path, 0, pixels, (png_int_32)width, NULL);
    free(pixels);
    if (!ok) {
        fail(err, err_size, "png_grid: cannot write %s: %s", path, image.message);
        png_image_free(&image);
        return -1;
    }
    return 0;
}
