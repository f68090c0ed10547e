/* SPDX-License-Identifier: MIT */
/*
 * png_grid.h - writes a grid of greyscale tiles (images held as float
 * arrays) to a PNG file through libpng. Shared by the example programs.
 *
 * The grid has rows x cols tiles of tile_h x tile_w pixels. Each tile is
 * upscaled by an integer factor, tiles are separated (and surrounded) by
 * pad pixels of a background grey, and optionally every group_rows rows
 * are followed by group_gap extra pixels, to keep groups of rows (say an
 * original row and its reconstruction) apart without any text.
 *
 *     png_grid_options o = PNG_GRID_OPTIONS_INIT;
 *     o.rows = 2; o.cols = 10; o.tile_h = 28; o.tile_w = 28; o.scale = 2;
 *     const float *tiles[20];   // row-major; NULL leaves a tile blank
 *     if (png_grid_write("grid.png", tiles, &o, msg, sizeof msg) != 0) ...
 */
#ifndef EXAMPLES_PNG_GRID_H
#define EXAMPLES_PNG_GRID_H

#include <stddef.h>
#include <stdint.h>

typedef struct png_grid_options {
    uint32_t rows, cols;     /* tiles down and across, >= 1 */
    uint32_t tile_h, tile_w; /* pixels of one tile, >= 1 */
    uint32_t scale;          /* each pixel becomes scale x scale (0 means 1) */
    uint32_t pad;            /* background pixels around and between tiles */
    uint32_t group_rows;     /* 0, or: after every group_rows rows of tiles ... */
    uint32_t group_gap;      /* ... this many extra background pixels */
    float lo, hi;            /* values drawn black and white (clamped between) */
    uint8_t background;      /* grey level of the padding, 0 black .. 255 white */
} png_grid_options;

/* 2 pixels of mid-grey padding, no upscaling, values 0..1. */
#define PNG_GRID_OPTIONS_INIT {0, 0, 0, 0, 1, 2, 0, 0, 0.0f, 1.0f, 128}

/* Largest width or height of a grid image, in pixels. */
#define PNG_GRID_MAX_SIDE 16384u

/*
 * Writes the grid to @p path as an 8-bit greyscale PNG. @p tiles holds
 * rows * cols pointers in row-major order, each to tile_h * tile_w floats
 * (row-major) or NULL for a blank tile. A value v becomes
 * round(255 * (v - lo) / (hi - lo)), clamped to 0..255; NaN is drawn black.
 * Returns 0, or -1 with a message in @p err (when not NULL) if the options
 * are invalid, memory runs out or the file cannot be written.
 */
int png_grid_write(const char *path, const float *const *tiles,
                   const png_grid_options *opts, char *err, size_t err_size);

#endif /* EXAMPLES_PNG_GRID_H */
