/* SPDX-License-Identifier: MIT */
/*
 * progress.c - ae_progress_print(), the progress callback that prints to
 * the FILE * its caller names: a bar redrawn in place on a terminal, one
 * plain line per epoch otherwise. It keeps no state: rates and the ETA
 * come from the event (samples and seconds since the call began).
 */
#include <stdio.h>
#include <unistd.h>

#include "ae/train.h"

#define BAR 30

static void put_duration(FILE *f, double s)
{
    if (!(s >= 0.0) || s > 359999.0)
        s = 0.0;
    unsigned t = (unsigned)(s + 0.5);
    if (t >= 3600)
        fprintf(f, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else
        fprintf(f, "%u:%02u", t / 60, t % 60);
}

int ae_progress_print(const ae_progress *p, void *file)
{
    FILE *f = file;
    if (p == NULL || f == NULL || p->struct_size < sizeof *p)
        return 0;
    const int tty = isatty(fileno(f));
    const double done = (double)p->epoch * (double)p->samples_per_epoch + (double)p->samples;
    const double rate = p->seconds > 0.0 ? done / p->seconds : 0.0;
    if (p->event == AE_PROGRESS_BATCH) {
        /* about 50 redraws an epoch, and the last batch */
        const size_t every = p->batches / 50 + 1;
        if (!tty || (p->batch % every != 0 && p->batch + 1 != p->batches))
            return 0;
        const double frac = p->batches ? (double)(p->batch + 1) / (double)p->batches : 1.0;
        const int fill = (int)(frac * BAR);
        char bar[BAR + 1];
        for (int i = 0; i < BAR; i++)
            bar[i] = i < fill ? '=' : i == fill ? '>' : '.';
        bar[BAR] = '\0';
        const double total = (double)p->epochs * (double)p->samples_per_epoch;
        fprintf(f, "\repoch %u/%u [%s] %zu/%zu %.0f samples/s ETA ", p->epoch + 1, p->epochs, bar,
                p->samples, p->samples_per_epoch, rate);
        put_duration(f, rate > 0.0 ? (total - done) / rate : 0.0);
        fprintf(f, " loss %.6f\033[K", p->loss);
        fflush(f);
        return 0;
    }
    if (tty)
        fputs("\r\033[K", f);
    fprintf(f, "epoch %u/%u loss %.6f", p->epoch + 1, p->epochs, p->loss);
    if (p->val_loss == p->val_loss) /* not NaN */
        fprintf(f, " val_loss %.6f", p->val_loss);
    fprintf(f, " lr %g %.0f samples/s ", (double)p->learning_rate, rate);
    put_duration(f, p->seconds);
    fputc('\n', f);
    fflush(f);
    return 0;
}
