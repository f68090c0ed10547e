/* SPDX-License-Identifier: MIT */
/*
 * plot.h - a tiny RGB canvas for the example programs' figures: text in a
 * built-in 5x7 bitmap font (scaled by an integer), lines, rectangles,
 * greyscale image tiles, scatter plots with axes, ticks, labels and a
 * legend, written to PNG through libpng. Not part of libae.
 *
 *     plot_canvas c;
 *     plot_canvas_init(&c, 800, 600, PLOT_WHITE);
 *     plot_text(&c, 10, 10, "Test latents", 2, PLOT_BLACK);
 *     plot_scatter(&c, 0, 40, 600, 560, &s);   // s: points, classes, labels
 *     plot_write_png(&c, "scatter.png", err, sizeof err);
 *     plot_canvas_free(&c);
 *
 * Text: printable ASCII, plus the UTF-8 Greek small sigma (U+03C3, written
 * "\xcf\x83" in C); anything else draws as '?'. A character cell is 6 x 8
 * pixels times the scale (5 x 7 glyph, one pixel of spacing).
 */
#ifndef EXAMPLES_PLOT_H
#define EXAMPLES_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* Colours are 0xRRGGBB. */
#define PLOT_WHITE 0xffffffu
#define PLOT_BLACK 0x000000u
#define PLOT_GREY 0x808080u
#define PLOT_LIGHT 0xe6e6e6u

/* The UTF-8 spelling of the Greek small letter sigma, for plot_text(). */
#define PLOT_SIGMA "\xcf\x83"

typedef struct plot_canvas {
    int width, height;
    uint8_t *rgb; /* width * height * 3 bytes, row-major */
} plot_canvas;

/* Allocates a width x height canvas (each 1..16384) filled with @p bg.
 * Returns 0, or -1 when out of memory or the size is invalid. */
int plot_canvas_init(plot_canvas *c, int width, int height, uint32_t bg);
void plot_canvas_free(plot_canvas *c);

/* Colour number i of a 10-colour qualitative palette (matplotlib's tab10),
 * repeating after 10. */
uint32_t plot_palette(int i);

/* Drawing; everything is clipped to the canvas. */
void plot_pixel(plot_canvas *c, int x, int y, uint32_t rgb);
void plot_fill_rect(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb);
void plot_rect(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb); /* outline */
void plot_line(plot_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb);
/* A filled disc-like marker of radius r centred on (x, y). */
void plot_marker(plot_canvas *c, int x, int y, int r, uint32_t rgb);
/* The same, blended over what is there with opacity @p alpha (0..1). */
void plot_marker_alpha(plot_canvas *c, int x, int y, int r, uint32_t rgb, float alpha);

/* Text with its top-left corner at (x, y); '\n' starts a new line. */
void plot_text(plot_canvas *c, int x, int y, const char *s, int scale, uint32_t rgb);
/* The same, rotated 90 degrees counter-clockwise (reads bottom to top),
 * with the top-left corner of its bounding box at (x, y). */
void plot_text_up(plot_canvas *c, int x, int y, const char *s, int scale, uint32_t rgb);
/* Width in pixels of the longest line of @p s at @p scale. */
int plot_text_width(const char *s, int scale);
/* Text centred horizontally on cx. */
void plot_text_centred(plot_canvas *c, int cx, int y, const char *s, int scale, uint32_t rgb);

/* A greyscale tile of h x w floats (row-major), each pixel drawn as a
 * scale x scale block, lo black .. hi white (clamped). */
void plot_image(plot_canvas *c, int x, int y, const float *img, int h, int w, int scale,
                float lo, float hi);

/* A scatter plot in the box (x, y, w, h): frame, ticks with values, grid,
 * axis labels, a title above, and the points coloured by class. */
typedef struct plot_scatter_spec {
    const float *px, *py;      /* n point coordinates */
    const int32_t *cls;        /* n classes in [0, n_classes), or NULL; a
                                  negative class draws in light grey (context) */
    size_t n;
    int n_classes;             /* colours plot_palette(0..n_classes-1) */
    const char *title;         /* or NULL */
    const char *xlabel, *ylabel;
    int text_scale;            /* tick and label text, 1 or 2 */
    int title_scale;           /* the title's; 0: text_scale */
    int marker;                /* marker radius in pixels */
    float xmin, xmax, ymin, ymax; /* axis range; xmin == xmax: from the data */
    float alpha;               /* marker opacity in (0, 1); 0 (or 1): opaque. Dense
                                  clouds stay readable: overlapping translucent
                                  points of two classes mix their colours */
} plot_scatter_spec;

void plot_scatter(plot_canvas *c, int x, int y, int w, int h, const plot_scatter_spec *s);

/* A legend box at (x, y): one coloured marker and name per class. Returns
 * its height in pixels. */
int plot_legend(plot_canvas *c, int x, int y, const char *const *names, int n, int scale);

/* A labelled figure of image rows (what every example picture of images
 * is): a title, an optional grey subtitle, optional column names, and per
 * row a label with an optional grey note under it (e.g. "test MSE
 * 0.0089"), its images, and optional small notes under each image (e.g.
 * each image's MSE); an optional grey footer. */
typedef struct plot_image_rows {
    const char *title;               /* required */
    const char *subtitle, *footer;   /* or NULL */
    int rows, cols;
    const char *const *col_names;    /* cols names, or NULL */
    const char *const *row_labels;   /* rows labels */
    const char *const *row_notes;    /* rows notes (entries may be NULL), or NULL */
    const float *const *images;      /* rows * cols images, row-major; NULL skips one */
    const char *const *image_notes;  /* rows * cols notes (entries may be NULL), or NULL */
    int h, w, scale;                 /* image size, upscaling factor */
    float lo, hi;                    /* value range drawn black to white */
    int label_width;                 /* pixels left of the images for the labels */
} plot_image_rows;

/* Draws @p f and writes it to @p path as PNG. Returns 0, or -1 with a
 * message in @p err. */
int plot_image_rows_write(const plot_image_rows *f, const char *path, char *err,
                          size_t err_size);

/* Writes the canvas as an 8-bit RGB PNG. Returns 0, or -1 with a message
 * in @p err. */
int plot_write_png(const plot_canvas *c, const char *path, char *err, size_t err_size);

/* Writes @p c as DIR/NAME (plot_write_png()) and says so on stderr as
 * "<prog>: wrote PATH"; returns CLI_EXIT_OK, or prints why not as
 * "<prog>: ..." and returns CLI_EXIT_FAILURE. */
int plot_save(const char *prog, const plot_canvas *c, const char *dir, const char *name);

#endif /* EXAMPLES_PLOT_H */
