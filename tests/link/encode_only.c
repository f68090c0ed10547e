/* SPDX-License-Identifier: MIT */
/*
 * encode_only.c - the smallest inference program: loads an encoder from a
 * model file and encodes one sample read from stdin (whitespace-separated
 * floats, zeros where missing), printing the latent vector. Public API only.
 *
 * scripts/link-footprint.sh links it statically against lib/libae.a with a
 * link map and counts the library objects (and their bytes) it pulls in: the
 * figure an embedded inference user pays.
 */
#include <ae.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.ae < sample\n", argv[0]);
        return 2;
    }
    ae_encoder *enc = NULL;
    int rc = ae_encoder_load(&enc, argv[1]);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv[1], ae_strerror(rc), ae_last_error());
        return 1;
    }
    ae_shape in;
    ae_encoder_input_shape(enc, &in);
    size_t n = 1, k = ae_encoder_latent_size(enc);
    for (uint32_t d = 0; d < in.rank; d++)
        n *= in.dims[d];
    float *x = calloc(n, sizeof *x), *z = calloc(k, sizeof *z);
    if (x == NULL || z == NULL) {
        fprintf(stderr, "out of memory\n");
        ae_encoder_destroy(enc);
        free(x);
        free(z);
        return 1;
    }
    for (size_t i = 0; i < n && scanf("%f", &x[i]) == 1; i++)
        ;
    rc = ae_encoder_encode(enc, x, 1, z);
    if (rc < 0)
        fprintf(stderr, "encode: %s: %s\n", ae_strerror(rc), ae_last_error());
    else
        for (size_t i = 0; i < k; i++)
            printf("%g%c", (double)z[i], i + 1 == k ? '\n' : ' ');
    ae_encoder_destroy(enc);
    free(x);
    free(z);
    return rc < 0;
}
