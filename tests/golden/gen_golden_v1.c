/* SPDX-License-Identifier: MIT */
/*
 * gen_golden_v1 - writes tests/data/golden_v1.aem, the committed format 1.0
 * golden file (see golden_v1.h for what it holds).
 *
 *   make O=... golden            # rebuilds it in place (then commit it)
 *   gen_golden_v1 PATH           # or write it elsewhere
 *
 * Regenerate only on purpose: the file pins the format, and
 * tests/check_io.c insists that this library reads it bit-exactly and
 * writes the same bytes from the same objects.
 */
#include <stdio.h>
#include <stdlib.h>

#include "golden_v1.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    golden g;
    int rc = golden_build(&g);
    if (rc == AE_OK) {
        ae_save_options so = golden_save_options(&g);
        rc = ae_model_save(g.model, argv[1], &so);
    }
    golden_free(&g);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], ae_strerror(rc), ae_last_error());
        return 1;
    }
    printf("%s: wrote %s\n", argv[0], argv[1]);
    return 0;
}
