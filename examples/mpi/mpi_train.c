/* SPDX-License-Identifier: MIT */
/*
 * mpi_train.c - the Fashion-MNIST demo (examples/reconstruct.c's model)
 * trained data-parallel across MPI ranks through libae's collectives
 * (ae/dist.h) and the Open MPI adapter (ae_mpi.h). Built by `make` only when
 * mpicc is found; run with mpirun -np N (add --hostfile FILE for several
 * machines). Only rank 0 prints the result and saves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae_mpi.h"
#include "common/cli.h"
#include "common/data.h"

#define PROG "mpi_train"
#define LATENT 64u

static void usage(FILE *f)
{
    fprintf(f,
"Usage: mpirun -np N " PROG " [OPTION]...\n"
"Train the basic autoencoder (784 -> 64 relu -> 784 sigmoid, Adam 1e-3) on\n"
"Fashion-MNIST across N MPI ranks: each rank computes its share of every\n"
"global batch, the gradients are summed with one all-reduce per step.\n"
"Every rank loads the data; rank 0's initial weights are broadcast.\n"
"\n"
"Output:\n"
"  stderr       rank 0: a line per epoch, the time spent in collectives;\n"
"               errors of any rank\n"
"  stdout       rank 0, last line: ranks=<N> test_mse=<6 decimals>\n"
"               samples_per_s=<training images per second over all ranks>\n"
"\n"
"Options:\n"
"  --epochs N         passes over the training images (default 10)\n"
"  --batch N          the GLOBAL batch, a multiple of N (default 32)\n"
"  --seed N           weights and shuffling seed (default 1)\n"
"  --data DIR         the IDX files (default " DATA_DEFAULT_DIR ")\n"
"  --limit N          train on the first N training images only (0: all)\n"
"  --save FILE        rank 0 saves the model and optimizer (atomically)\n"
"  --load FILE        every rank loads the model and optimizer and continues\n"
"  --compare FILE     rank 0 prints max_weight_diff=<against FILE's model>\n"
"  --deterministic    gather in rank order, sum on rank 0, broadcast\n"
"  --timeout S        seconds a collective may wait for a peer (default 60)\n"
"  --fail-rank R      fault test: rank R stops in epoch --fail-epoch\n"
"  --fail-epoch E     (default 1), by exiting (--fail-mode exit) or hanging\n"
"  --fail-mode M      exit or hang (default exit)\n"
"  --threads N        BLAS threads per rank\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 on success, 1 on an error (an MPI or training failure\n"
"aborts every rank), 2 on a bad command line.\n"
"\n"
"Examples:\n"
"  mpirun -np 2 " PROG " --epochs 10\n"
"  mpirun -np 4 --hostfile hosts " PROG " --batch 64 --save m.aem\n"
"\n"
"See also: docs/distributed.md in the libae sources.\n");
}

typedef struct fault {
    int rank, me, hang;
    uint32_t epoch;
    cli_progress *progress;
} fault;

static int on_progress(const ae_progress *p, void *user)
{
    fault *f = user;
    if (f->rank == f->me && p->epoch == f->epoch && p->event == AE_PROGRESS_BATCH &&
        p->batch == 3) {
        if (f->hang)
            for (;;)
                pause();
        fprintf(stderr, "%s: rank %d: fault test, exiting\n", PROG, f->me);
        _exit(3);
    }
    return f->me == 0 ? cli_progress_callback(p, f->progress) : 0;
}

static int load(const char *path, ae_model **model, ae_optimizer **opt)
{
    ae_file *f;
    int rc = ae_file_open(&f, path, NULL);
    if (rc < 0)
        return rc;
    if ((rc = ae_file_load_model(model, f)) == AE_OK && opt != NULL &&
        (rc = ae_file_load_optimizer(opt, f, *model)) < 0) {
        ae_model_destroy(*model);
        *model = NULL;
    }
    ae_file_close(f);
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, batch = 32, limit = 0, fail_epoch = 1, threads = 0;
    uint32_t fail_rank = UINT32_MAX;
    uint64_t seed = 1;
    double timeout = 60.0;
    int det = 0;
    const char *data_dir = DATA_DEFAULT_DIR, *save_path = NULL, *load_path = NULL,
               *compare = NULL, *fail_mode = "exit";
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000000, 0, 0},
        {"batch", CLI_U32, &batch, 1, 1048576, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"limit", CLI_U32, &limit, 0, 60000, 0, 0},
        {"save", CLI_STRING, &save_path, 0, 0, 0, 0},
        {"load", CLI_STRING, &load_path, 0, 0, 0, 0},
        {"compare", CLI_STRING, &compare, 0, 0, 0, 0},
        {"deterministic", CLI_FLAG, &det, 0, 0, 0, 0},
        {"timeout", CLI_DOUBLE, &timeout, 0, 0, 0.0, 1e6},
        {"fail-rank", CLI_U32, &fail_rank, 0, 1000000, 0, 0},
        {"fail-epoch", CLI_U32, &fail_epoch, 0, 1000000, 0, 0},
        {"fail-mode", CLI_STRING, &fail_mode, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;
    if (strcmp(fail_mode, "exit") != 0 && strcmp(fail_mode, "hang") != 0)
        return cli_usage_error(PROG, "--fail-mode: '%s' is not exit or hang", fail_mode);

    MPI_Init(&argc, &argv);
    ae_mpi mpi;
    ae_collective coll;
    if (ae_mpi_collective(&coll, &mpi, MPI_COMM_WORLD, timeout) != MPI_SUCCESS) {
        cli_error(PROG, "cannot set up the MPI communicator");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const int me = coll.rank, ranks = coll.size;
    ae_dataset *train = NULL, *test = NULL, *fit = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL, *other = NULL;
    ae_optimizer *opt = NULL;
    int status = CLI_EXIT_FAILURE, rc;

    if ((rc = data_load_mnist_dir(data_dir, 0, &train, &test)) < 0)
        goto lib_fail;
    const size_t n = limit > 0 && limit < ae_dataset_count(train) ? limit : ae_dataset_count(train);
    if ((rc = ae_dataset_subset(&fit, train, 0, n)) < 0)
        goto lib_fail;
    const uint32_t size = (uint32_t)ae_dataset_sample_size(train);
    const ae_shape input = {1, {size}}, latent = {1, {LATENT}};
    if (load_path != NULL) {
        if ((rc = load(load_path, &model, &opt)) < 0)
            goto lib_fail;
    } else {
        ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
        if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
            (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0 ||
            (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
            (rc = ae_decoder_add_dense(dec, size, AE_ACT_SIGMOID)) < 0 ||
            (rc = ae_model_create(&model, enc, dec)) < 0 ||
            (rc = ae_optimizer_create(&opt, &oo)) < 0)
            goto lib_fail;
        enc = NULL;
        dec = NULL;
    }

    cli_progress progress;
    cli_progress_init(&progress, stderr, "test");
    fault fl = {(int)fail_rank, me, strcmp(fail_mode, "hang") == 0, fail_epoch, &progress};
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.batch_size = batch;
    to.seed = seed + 2;
    to.validation = test;
    to.progress = on_progress;
    to.progress_user = &fl;
    to.collective = &coll;
    to.collective_flags = det ? AE_DIST_DETERMINISTIC : 0;
    if (me == 0)
        fprintf(stderr, "%s: %d ranks, %zu training images, global batch %u (%u per rank)%s\n",
                PROG, ranks, n, batch, batch / (uint32_t)ranks, det ? ", deterministic" : "");
    double t0 = MPI_Wtime();
    rc = ae_model_train(model, opt, fit, &to);
    double seconds = MPI_Wtime() - t0;
    if (rc == AE_ERR_IO) {
        /* a collective failed: a peer may be stuck in one; end them all */
        fprintf(stderr, "%s: rank %d: %s (MPI error %d); aborting every rank\n", PROG, me,
                ae_last_error(), mpi.last_error);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rc < 0)
        goto lib_fail;
    if (me == 0) {
        double mse;
        fprintf(stderr, "%s: rank 0: %.2f s training, of it %.2f s in %lu collectives"
                " (%.3f ms each)\n", PROG, seconds, mpi.seconds, mpi.calls,
                mpi.calls ? 1e3 * mpi.seconds / (double)mpi.calls : 0.0);
        if ((rc = ae_model_evaluate(model, test, AE_LOSS_MSE, &mse)) < 0)
            goto lib_fail;
        if (save_path != NULL) {
            ae_save_options so = AE_SAVE_OPTIONS_INIT;
            so.optimizer = opt;
            so.training = &to;
            if ((rc = ae_model_save(model, save_path, &so)) < 0)
                goto lib_fail;
        }
        if (compare != NULL) {
            if ((rc = load(compare, &other, NULL)) < 0)
                goto lib_fail;
            size_t np = ae_model_param_count(model);
            float *a = malloc(np * sizeof *a), *b = malloc(np * sizeof *b);
            double d = -1.0;
            if (a != NULL && b != NULL && ae_model_param_count(other) == np &&
                ae_model_params_get(model, a, np) == AE_OK &&
                ae_model_params_get(other, b, np) == AE_OK) {
                d = 0.0;
                for (size_t i = 0; i < np; i++) {
                    double e = (double)a[i] - (double)b[i];
                    d = e < 0 ? (-e > d ? -e : d) : (e > d ? e : d);
                }
            }
            free(a);
            free(b);
            printf("max_weight_diff=%.3g\n", d);
        }
        printf("ranks=%d test_mse=%.6f samples_per_s=%.0f\n", ranks, mse,
               seconds > 0 ? (double)n * (double)epochs / seconds : 0.0);
        if (fflush(stdout) != 0) {
            cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
            goto done;
        }
    }
    status = CLI_EXIT_OK;
    goto done;
lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    ae_model_destroy(other);
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_dataset_destroy(fit);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    MPI_Finalize();
    return status;
}
