/* SPDX-License-Identifier: MIT */
/*
 * plot.c - the RGB canvas of plot.h: a 5x7 bitmap font, lines, markers,
 * image tiles, scatter plots with axes and legends, PNG output through
 * libpng's simplified write API.
 */
#include "plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "cli.h"

/* ---- font: ASCII 32..126, then sigma; 7 rows of 5 bits (bit 4 = left).
 * g, p, q and y are drawn 2 rows lower: their body is x-height (rows 2-6
 * of the other lowercase letters), their tails use the spacing row below. */

enum { GLYPH_W = 5, GLYPH_H = 7, CELL_W = 6, CELL_H = 8, GLYPH_SIGMA = 95 };

static const uint8_t font[96][GLYPH_H] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /*   */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}, /* ! */
    {0x0a, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00}, /* " */
    {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a}, /* # */
    {0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04}, /* $ */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, /* % */
    {0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d}, /* & */
    {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00}, /* quote */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, /* ( */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, /* ) */
    {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00}, /* * */
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}, /* + */
    {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08}, /* , */
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}, /* - */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}, /* . */
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}, /* / */
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}, /* : */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08}, /* ; */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, /* < */
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00}, /* = */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, /* > */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}, /* ? */
    {0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e}, /* @ */
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* A */
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}, /* B */
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, /* C */
    {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c}, /* D */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, /* E */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}, /* F */
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}, /* G */
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* H */
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* I */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}, /* J */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* K */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}, /* L */
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}, /* M */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* N */
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* O */
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}, /* P */
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}, /* Q */
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11}, /* R */
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}, /* S */
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* T */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* U */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* V */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}, /* W */
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11}, /* X */
    {0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04}, /* Y */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f}, /* Z */
    {0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e}, /* [ */
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00}, /* backslash */
    {0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e}, /* ] */
    {0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00}, /* ^ */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f}, /* _ */
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00}, /* ` */
    {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f}, /* a */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e}, /* b */
    {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e}, /* c */
    {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f}, /* d */
    {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e}, /* e */
    {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}, /* f */
    {0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* g */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}, /* h */
    {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e}, /* i */
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0c}, /* j */
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}, /* k */
    {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* l */
    {0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11}, /* m */
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}, /* n */
    {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e}, /* o */
    {0x1e, 0x11, 0x11, 0x11, 0x1e, 0x10, 0x10}, /* p */
    {0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x01}, /* q */
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}, /* r */
    {0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e}, /* s */
    {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06}, /* t */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d}, /* u */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* v */
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a}, /* w */
    {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11}, /* x */
    {0x11, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* y */
    {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f}, /* z */
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02}, /* { */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* | */
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08}, /* } */
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00}, /* ~ */
    {0x00, 0x00, 0x0f, 0x12, 0x11, 0x11, 0x0e}, /* SIGMA */
};

/* Next glyph index of the UTF-8 text at *s, advancing *s. */
static int next_glyph(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    if (p[0] == 0xcf && p[1] == 0x83) {
        *s += 2;
        return GLYPH_SIGMA;
    }
    (*s)++;
    if (p[0] >= 32 && p[0] < 127)
        return p[0] - 32;
    if (p[0] >= 0x80) /* skip the rest of an unknown UTF-8 sequence */
        while ((**s & 0xc0) == 0x80)
            (*s)++;
    return '?' - 32;
}

/* ---- canvas ---------------------------------------------------------------- */

int plot_canvas_init(plot_canvas *c, int width, int height, uint32_t bg)
{
    c->width = c->height = 0;
    c->rgb = NULL;
    if (width < 1 || height < 1 || width > 16384 || height > 16384)
        return -1;
    c->rgb = malloc((size_t)width * (size_t)height * 3);
    if (c->rgb == NULL)
        return -1;
    c->width = width;
    c->height = height;
    plot_fill_rect(c, 0, 0, width, height, bg);
    return 0;
}

void plot_canvas_free(plot_canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
    c->width = c->height = 0;
}

uint32_t plot_palette(int i)
{
    static const uint32_t tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                       0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    return tab10[((i % 10) + 10) % 10];
}

void plot_pixel(plot_canvas *c, int x, int y, uint32_t rgb)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height)
        return;
    uint8_t *p = c->rgb + ((size_t)y * (size_t)c->width + (size_t)x) * 3;
    p[0] = (uint8_t)(rgb >> 16);
    p[1] = (uint8_t)(rgb >> 8);
    p[2] = (uint8_t)rgb;
}

void plot_fill_rect(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb)
{
    for (int j = y < 0 ? 0 : y; j < y + h && j < c->height; j++)
        for (int i = x < 0 ? 0 : x; i < x + w && i < c->width; i++)
            plot_pixel(c, i, j, rgb);
}

void plot_rect(plot_canvas *c, int x, int y, int w, int h, uint32_t rgb)
{
    plot_fill_rect(c, x, y, w, 1, rgb);
    plot_fill_rect(c, x, y + h - 1, w, 1, rgb);
    plot_fill_rect(c, x, y, 1, h, rgb);
    plot_fill_rect(c, x + w - 1, y, 1, h, rgb);
}

void plot_line(plot_canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        plot_pixel(c, x0, y0, rgb);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

void plot_marker(plot_canvas *c, int x, int y, int r, uint32_t rgb)
{
    for (int j = -r; j <= r; j++)
        for (int i = -r; i <= r; i++)
            if (i * i + j * j <= r * r + r)
                plot_pixel(c, x + i, y + j, rgb);
}

void plot_marker_alpha(plot_canvas *c, int x, int y, int r, uint32_t rgb, float alpha)
{
    for (int j = -r; j <= r; j++)
        for (int i = -r; i <= r; i++) {
            int px = x + i, py = y + j;
            if (i * i + j * j > r * r + r || px < 0 || py < 0 || px >= c->width ||
                py >= c->height)
                continue;
            uint8_t *p = c->rgb + ((size_t)py * (size_t)c->width + (size_t)px) * 3;
            for (int k = 0; k < 3; k++) {
                float v = (float)((rgb >> (16 - 8 * k)) & 0xff);
                p[k] = (uint8_t)lroundf((float)p[k] + alpha * (v - (float)p[k]));
            }
        }
}

/* ---- text ---------------------------------------------------------------------- */

/* Draws glyph g with its top-left at (x, y); rotated: reads bottom to top. */
static void draw_glyph(plot_canvas *c, int x, int y, int g, int scale, uint32_t rgb, int up)
{
    const int drop = g == 'g' - 32 || g == 'p' - 32 || g == 'q' - 32 || g == 'y' - 32 ? 2 : 0;
    if (up)
        x += drop * scale;
    else
        y += drop * scale;
    for (int row = 0; row < GLYPH_H; row++)
        for (int col = 0; col < GLYPH_W; col++) {
            if (!(font[g][row] & (1u << (GLYPH_W - 1 - col))))
                continue;
            /* upright: (col, row); rotated CCW: x = row, y = -col */
            int px = up ? x + row * scale : x + col * scale;
            int py = up ? y - (col + 1) * scale + 1 : y + row * scale;
            plot_fill_rect(c, px, py, scale, scale, rgb);
        }
}

void plot_text(plot_canvas *c, int x, int y, const char *s, int scale, uint32_t rgb)
{
    int cx = x;
    while (*s) {
        if (*s == '\n') {
            s++;
            cx = x;
            y += CELL_H * scale;
            continue;
        }
        draw_glyph(c, cx, y, next_glyph(&s), scale, rgb, 0);
        cx += CELL_W * scale;
    }
}

void plot_text_up(plot_canvas *c, int x, int y, const char *s, int scale, uint32_t rgb)
{
    /* The text runs upwards from the bottom of its box. */
    int cy = y + plot_text_width(s, scale) - 1;
    while (*s) {
        if (*s == '\n') {
            s++;
            continue;
        }
        draw_glyph(c, x, cy, next_glyph(&s), scale, rgb, 1);
        cy -= CELL_W * scale;
    }
}

int plot_text_width(const char *s, int scale)
{
    int best = 0, n = 0;
    while (*s) {
        if (*s == '\n') {
            s++;
            n = 0;
            continue;
        }
        next_glyph(&s);
        n++;
        if (n > best)
            best = n;
    }
    return best ? (best * CELL_W - 1) * scale : 0;
}

void plot_text_centred(plot_canvas *c, int cx, int y, const char *s, int scale, uint32_t rgb)
{
    plot_text(c, cx - plot_text_width(s, scale) / 2, y, s, scale, rgb);
}

/* ---- images ---------------------------------------------------------------------- */

void plot_image(plot_canvas *c, int x, int y, const float *img, int h, int w, int scale,
                float lo, float hi)
{
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            float t = (img[r * w + q] - lo) / (hi - lo);
            t = !(t > 0.0f) ? 0.0f : t > 1.0f ? 1.0f : t;
            uint32_t v = (uint32_t)(t * 255.0f + 0.5f);
            plot_fill_rect(c, x + q * scale, y + r * scale, scale, scale, v << 16 | v << 8 | v);
        }
}

/* ---- labelled rows of images ------------------------------------------------------- */

int plot_image_rows_write(const plot_image_rows *f, const char *path, char *err,
                          size_t err_size)
{
    const int tile = f->w * f->scale, tile_h = f->h * f->scale, gap = 8;
    const int note_h = f->image_notes ? CELL_H + 4 : 0, row_h = tile_h + note_h + gap;
    const int left = f->label_width, head = f->subtitle ? 64 : 40;
    const int top = head + (f->col_names ? 2 * CELL_H + 4 : 0);
    const int width = left + f->cols * (tile + gap) + 10;
    const int height = top + f->rows * row_h + (f->footer ? 2 * CELL_H * 2 : 8);
    plot_canvas c;
    if (plot_canvas_init(&c, width, height, PLOT_WHITE) != 0) {
        snprintf(err, err_size, "%s: out of memory for a %dx%d picture", path, width, height);
        return -1;
    }
    plot_text(&c, 10, 8, f->title, 2, PLOT_BLACK);
    if (f->subtitle)
        plot_text(&c, 10, 36, f->subtitle, 2, PLOT_GREY);
    for (int k = 0; f->col_names && k < f->cols; k++)
        plot_text_centred(&c, left + k * (tile + gap) + tile / 2, top - 2 * CELL_H,
                          f->col_names[k], 1, PLOT_BLACK);
    for (int r = 0; r < f->rows; r++) {
        const int y = top + r * row_h, note = f->row_notes && f->row_notes[r];
        plot_text(&c, 10, y + tile_h / 2 - (note ? 16 : 8), f->row_labels[r], 2, PLOT_BLACK);
        if (note)
            plot_text(&c, 10, y + tile_h / 2 + 4, f->row_notes[r], 2, PLOT_GREY);
        for (int k = 0; k < f->cols; k++) {
            const int x = left + k * (tile + gap), i = r * f->cols + k;
            if (f->images[i] != NULL)
                plot_image(&c, x, y, f->images[i], f->h, f->w, f->scale, f->lo, f->hi);
            if (f->image_notes && f->image_notes[i])
                plot_text_centred(&c, x + tile / 2, y + tile_h + 3, f->image_notes[i], 1,
                                  PLOT_GREY);
        }
    }
    if (f->footer)
        plot_text(&c, 10, height - 2 * CELL_H * 2 + 6, f->footer, 2, PLOT_GREY);
    int rc = plot_write_png(&c, path, err, err_size);
    plot_canvas_free(&c);
    return rc;
}

/* ---- scatter plots ------------------------------------------------------------------ */

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static double nice_step(double range)
{
    double raw = range / 5.0, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

static void tick_label(char *buf, size_t size, double v, double step)
{
    int decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < step * 1e-6)
        v = 0.0;
    snprintf(buf, size, "%.*f", decimals, v);
}

void plot_scatter(plot_canvas *c, int x, int y, int w, int h, const plot_scatter_spec *s)
{
    const int ts = s->text_scale > 0 ? s->text_scale : 1;
    double xmin = s->xmin, xmax = s->xmax, ymin = s->ymin, ymax = s->ymax;
    if (!(xmin < xmax) || !(ymin < ymax)) {
        xmin = ymin = INFINITY;
        xmax = ymax = -INFINITY;
        for (size_t i = 0; i < s->n; i++) {
            xmin = fmin(xmin, s->px[i]);
            xmax = fmax(xmax, s->px[i]);
            ymin = fmin(ymin, s->py[i]);
            ymax = fmax(ymax, s->py[i]);
        }
        if (!(xmin < xmax)) {
            xmin -= 1.0;
            xmax += 1.0;
        }
        if (!(ymin < ymax)) {
            ymin -= 1.0;
            ymax += 1.0;
        }
        double mx = 0.04 * (xmax - xmin), my = 0.04 * (ymax - ymin);
        xmin -= mx;
        xmax += mx;
        ymin -= my;
        ymax += my;
    }
    /* Margins: title on top; y ticks and label left; x ticks and label below. */
    const int line = CELL_H * ts;
    const int top = s->title ? 2 * CELL_H * (s->title_scale > 0 ? s->title_scale : ts) : line / 2;
    const int left = 7 * CELL_W * ts + 2 * line;
    const int bottom = 3 * line;
    const int px0 = x + left, py0 = y + top, pw = w - left - line, ph = h - top - bottom;
    if (pw < 10 || ph < 10)
        return;
    if (s->title) {
        const int tts = s->title_scale > 0 ? s->title_scale : ts;
        plot_text_centred(c, px0 + pw / 2, y + top / 2 - (GLYPH_H * tts) / 2, s->title, tts,
                          PLOT_BLACK);
    }

    char buf[32];
    double xs = nice_step(xmax - xmin), ys = nice_step(ymax - ymin);
    for (double v = ceil(xmin / xs) * xs; v <= xmax; v += xs) {
        int gx = px0 + (int)lround((v - xmin) / (xmax - xmin) * (pw - 1));
        plot_fill_rect(c, gx, py0, 1, ph, PLOT_LIGHT);
        plot_fill_rect(c, gx, py0 + ph, 1, 4, PLOT_BLACK);
        tick_label(buf, sizeof buf, v, xs);
        plot_text_centred(c, gx, py0 + ph + 6, buf, ts, PLOT_BLACK);
    }
    for (double v = ceil(ymin / ys) * ys; v <= ymax; v += ys) {
        int gy = py0 + ph - 1 - (int)lround((v - ymin) / (ymax - ymin) * (ph - 1));
        plot_fill_rect(c, px0, gy, pw, 1, PLOT_LIGHT);
        plot_fill_rect(c, px0 - 4, gy, 4, 1, PLOT_BLACK);
        tick_label(buf, sizeof buf, v, ys);
        plot_text(c, px0 - 6 - plot_text_width(buf, ts), gy - (GLYPH_H * ts) / 2, buf, ts,
                  PLOT_BLACK);
    }
    plot_rect(c, px0 - 1, py0 - 1, pw + 2, ph + 2, PLOT_BLACK);
    if (s->xlabel)
        plot_text_centred(c, px0 + pw / 2, py0 + ph + 6 + line + line / 2, s->xlabel, ts,
                          PLOT_BLACK);
    if (s->ylabel)
        plot_text_up(c, x + line / 2, py0 + ph / 2 - plot_text_width(s->ylabel, ts) / 2,
                     s->ylabel, ts, PLOT_BLACK);

    for (size_t i = 0; i < s->n; i++) {
        double fx = (s->px[i] - xmin) / (xmax - xmin), fy = (s->py[i] - ymin) / (ymax - ymin);
        if (!(fx >= 0.0 && fx <= 1.0 && fy >= 0.0 && fy <= 1.0))
            continue;
        int mx = px0 + (int)lround(fx * (pw - 1)), my = py0 + ph - 1 - (int)lround(fy * (ph - 1));
        uint32_t col = !s->cls ? plot_palette(0) : s->cls[i] < 0 ? 0xd0d0d0u : plot_palette(s->cls[i]);
        /* keep markers inside the frame */
        int r = s->marker;
        if (mx - r < px0 || mx + r >= px0 + pw || my - r < py0 || my + r >= py0 + ph)
            r = 0;
        if (s->alpha > 0.0f && s->alpha < 1.0f)
            plot_marker_alpha(c, mx, my, r, col, s->alpha);
        else
            plot_marker(c, mx, my, r, col);
    }
}

int plot_legend(plot_canvas *c, int x, int y, const char *const *names, int n, int scale)
{
    const int line = CELL_H * scale + 4, pad = 6;
    int wmax = 0;
    for (int i = 0; i < n; i++) {
        int tw = plot_text_width(names[i], scale);
        if (tw > wmax)
            wmax = tw;
    }
    int bw = pad * 3 + 2 * (3 * scale) + wmax, bh = pad * 2 + n * line - 4;
    plot_fill_rect(c, x, y, bw, bh, PLOT_WHITE);
    plot_rect(c, x, y, bw, bh, PLOT_GREY);
    for (int i = 0; i < n; i++) {
        int ly = y + pad + i * line;
        plot_marker(c, x + pad + 3 * scale, ly + (GLYPH_H * scale) / 2, 3 * scale,
                    plot_palette(i));
        plot_text(c, x + 2 * pad + 6 * scale, ly, names[i], scale, PLOT_BLACK);
    }
    return bh;
}

/* ---- PNG ---------------------------------------------------------------------------- */

/* Builds the palette of the canvas in pal (up to 256 colours) and the index
 * of every pixel in idx; returns the colour count, or 0 when there are
 * more than 256. Open addressing over 1024 slots. */
static int build_palette(const plot_canvas *c, uint8_t *pal, uint8_t *idx)
{
    enum { SLOTS = 1024 };
    uint32_t key[SLOTS];
    int16_t val[SLOTS];
    int n = 0;
    memset(val, 0xff, sizeof val); /* -1: empty */
    const size_t count = (size_t)c->width * (size_t)c->height;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = c->rgb + 3 * i;
        uint32_t k = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        uint32_t h = (k * 2654435761u) >> 22;
        while (val[h] >= 0 && key[h] != k)
            h = (h + 1) & (SLOTS - 1);
        if (val[h] < 0) {
            if (n == 256)
                return 0;
            key[h] = k;
            val[h] = (int16_t)n;
            memcpy(pal + 3 * n, p, 3);
            n++;
        }
        idx[i] = (uint8_t)val[h];
    }
    return n;
}

/* Writes the smallest fitting PNG: greyscale when every pixel is grey, a
 * palette when there are at most 256 colours, RGB otherwise. */
int plot_write_png(const plot_canvas *c, const char *path, char *err, size_t err_size)
{
    const size_t count = (size_t)c->width * (size_t)c->height;
    uint8_t *idx = malloc(count);
    uint8_t pal[256 * 3];
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)c->width;
    image.height = (png_uint_32)c->height;
    const void *pixels = c->rgb, *colormap = NULL;
    int n = idx ? build_palette(c, pal, idx) : 0, grey = n > 0;
    for (int i = 0; i < n && grey; i++)
        grey = pal[3 * i] == pal[3 * i + 1] && pal[3 * i] == pal[3 * i + 2];
    if (grey) {
        for (size_t i = 0; i < count; i++)
            idx[i] = c->rgb[3 * i];
        image.format = PNG_FORMAT_GRAY;
        pixels = idx;
    } else if (n > 0) {
        image.format = PNG_FORMAT_RGB_COLORMAP;
        image.colormap_entries = (png_uint_32)n;
        pixels = idx;
        colormap = pal;
    } else {
        image.format = PNG_FORMAT_RGB;
    }
    int ok = png_image_write_to_file(&image, path, 0, pixels, 0, colormap);
    free(idx);
    if (!ok) {
        if (err && err_size)
            snprintf(err, err_size, "%s: cannot write PNG: %s", path, image.message);
        png_image_free(&image);
        return -1;
    }
    return 0;
}

int plot_save(const char *prog, const plot_canvas *c, const char *dir, const char *name)
{
    char err[512];
    char *path = cli_path_join(dir, name);
    if (path == NULL)
        return cli_error(prog, "out of memory");
    int status = CLI_EXIT_OK;
    if (plot_write_png(c, path, err, sizeof err) != 0)
        status = cli_error(prog, "%s", err);
    else
        fprintf(stderr, "%s: wrote %s\n", prog, path);
    free(path);
    return status;
}
