/* SPDX-License-Identifier: MIT */
/*
 * consumer_static.c - the smallest C program using libae.
 *
 * `make check` builds it against the *installed* library, statically:
 *     cc -std=c11 consumer_static.c $(pkg-config --static --cflags --libs ae)
 * (with libae.a in place of libae.so), runs it, and expects exit status 0.
 * `make examples` builds it too, as $(O)/bin/consumer_static.
 *
 * It prints the library version, checks it matches the header, trains a
 * 8 -> 3 -> 8 dense autoencoder on random in-memory data for 2 epochs and
 * prints the reconstruction loss.
 */
#include <ae.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SAMPLES = 64, FEATURES = 8, LATENT = 3 };

static int report(const char *what, int rc)
{
    fprintf(stderr, "consumer_static: %s failed: %s: %s\n", what,
            ae_strerror(rc), ae_last_error());
    return EXIT_FAILURE;
}

static const char usage[] =
    "Usage: consumer_static [-h | --help]\n"
    "\n"
    "The smallest C program using libae, built statically against the\n"
    "installed libae.a:\n"
    "    cc -std=c11 consumer_static.c \\\n"
    "        $(pkg-config --static --cflags --libs ae-static)\n"
    "It prints the library version, checks it matches the header, trains a\n"
    "8 -> 3 -> 8 dense autoencoder on random in-memory data for 2 epochs and\n"
    "prints the reconstruction loss.\n"
    "\n"
    "Options:\n"
    "  -h, --help  print this help and exit\n"
    "\n"
    "Exit status: 0 on success, 1 when a libae call fails, 2 on a bad option.\n";

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EXIT_SUCCESS;
        }
        fprintf(stderr, "consumer_static: unknown option '%s' (try --help)\n", argv[i]);
        return 2;
    }

    static float data[SAMPLES * FEATURES];
    static float recon[SAMPLES * FEATURES];
    ae_dataset *ds = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    int status = EXIT_FAILURE;
    int rc;

    printf("consumer_static: libae %s (header %s)\n", ae_version_string(),
           AE_VERSION_STRING);
    if (ae_version() != (unsigned)AE_VERSION_NUMBER) {
        fprintf(stderr, "consumer_static: library version %u, header %d\n",
                ae_version(), AE_VERSION_NUMBER);
        return EXIT_FAILURE;
    }

    /* Random data in [0, 1) from a fixed-seed linear congruential generator. */
    uint64_t state = 42;
    for (size_t i = 0; i < SAMPLES * FEATURES; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        data[i] = (float)(state >> 40) / 16777216.0f;
    }

    const ae_shape input = {1, {FEATURES}};
    const ae_shape latent = {1, {LATENT}};
    if ((rc = ae_dataset_from_memory(&ds, data, NULL, SAMPLES, &input,
                                     AE_DATASET_COPY)) < 0) {
        report("ae_dataset_from_memory", rc);
        goto done;
    }
    if ((rc = ae_encoder_create(&enc, &input, 1)) < 0 ||
        (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_TANH)) < 0) {
        report("encoder", rc);
        goto done;
    }
    if ((rc = ae_decoder_create(&dec, &latent, 2)) < 0 ||
        (rc = ae_decoder_add_dense(dec, FEATURES, AE_ACT_SIGMOID)) < 0) {
        report("decoder", rc);
        goto done;
    }
    if ((rc = ae_model_create(&model, enc, dec)) < 0) {
        report("ae_model_create", rc);
        goto done;
    }
    enc = NULL; /* the model owns them now */
    dec = NULL;
    if ((rc = ae_optimizer_create(&opt, NULL)) < 0) {
        report("ae_optimizer_create", rc);
        goto done;
    }

    ae_train_options options = AE_TRAIN_OPTIONS_INIT;
    options.epochs = 2;
    options.batch_size = 16;
    options.seed = 7;
    if ((rc = ae_model_train(model, opt, ds, &options)) < 0) {
        report("ae_model_train", rc);
        goto done;
    }
    if ((rc = ae_model_reconstruct(model, data, SAMPLES, recon)) < 0) {
        report("ae_model_reconstruct", rc);
        goto done;
    }
    double loss = 0.0;
    for (size_t i = 0; i < SAMPLES * FEATURES; i++) {
        double d = (double)recon[i] - (double)data[i];
        loss += d * d;
    }
    loss /= SAMPLES * FEATURES;
    if (!isfinite(loss)) {
        fprintf(stderr, "consumer_static: the loss is not finite\n");
        goto done;
    }
    printf("consumer_static: %zu parameters, 2 epochs, reconstruction MSE %.6f\n",
           ae_model_param_count(model), loss);
    status = EXIT_SUCCESS;

done:
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_decoder_destroy(dec);
    ae_encoder_destroy(enc);
    ae_dataset_destroy(ds);
    return status;
}
