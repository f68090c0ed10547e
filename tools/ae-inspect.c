/* SPDX-License-Identifier: MIT */
/*
 * ae-inspect - describes a libae model file and checks it.
 *
 *   ae-inspect [--sections] [--tensors] FILE...
 *
 * Opening a file with ae_file_open() validates all of it (every CRC, size,
 * offset, enum and index; docs/format.md); the program then prints the
 * format version, the writer, what the file holds, the metadata and
 * training settings, every layer with its shapes, config and parameter
 * counts, and optionally the sections and the tensor table.
 *
 * Exit status: 0 when every file is good; 1 when one is not, with a
 * one-line reason on stderr ("ae-inspect: FILE: <error>: <detail>"), or
 * when stdout cannot be written; 2 for a bad command line. The manual
 * page is man/ae-inspect.1; --help says the same in brief.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <ae.h>

#define PROG "ae-inspect"

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [--sections] [--tensors] FILE...\n"
"Check libae model files and describe what they hold.\n"
"\n"
"Each FILE is opened with ae_file_open(), which verifies all of it (every\n"
"CRC, size, offset, enum and index; the format is docs/format.md) before\n"
"anything is printed. Layer kinds need not be registered to be described.\n"
"Files are taken in order; a bad one does not stop the others. Options may\n"
"come before or after the files; after \"--\" every argument is a file.\n"
"Standard input is never read (\"-\" is a file named -).\n"
"\n"
"Options:\n"
"  --sections   also list the sections: type, (required), offset of the\n"
"               section header in the file, payload bytes, stored CRC-32;\n"
"               a type this libae does not know is marked (skipped)\n"
"  --tensors    also list the tensor table: index, layer, param or state\n"
"               and its index in the layer, name, shape, values, and the\n"
"               64-byte aligned file offset of its data\n"
"  -h, --help   print this help on stdout and exit 0\n"
"\n"
"Output (stdout), for each good file:\n"
"  FILE: libae model file, format M.N, written by libae X.Y.Z\n"
"    B bytes in N sections, every CRC verified\n"
"    holds a model (encoder + decoder) | an encoder | a decoder | no network\n"
"      [, optimizer sgd|adam|adamw (N steps)] [, a PCA] [, an anomaly detector]\n"
"      [, a nearest-neighbour index]\n"
"      [, a standard|minmax scaler of N features]\n"
"    parameters:   with a network: values, tensors (+ state values)\n"
"    history:      a model: the epochs trained\n"
"    training:     when recorded: epochs, batch, seed, loss, shuffle, noise\n"
"    metadata (N): when there is any: one \"key = value\" line each\n"
"    index:        when stored: vectors, floats each, euclidean|cosine\n"
"    encoder:, decoder:  input shape and layer count; then a line per layer:\n"
"      index, kind, version, input -> output shape, parameter and state\n"
"      tensors, values, extra state bytes, then the settings decoded\n"
"      (kernel, stride, padding, activation...) for a built-in kind, the\n"
"      config bytes (up to 24 in hex) for a custom one;\n"
"      \"(kind not registered here)\" when this program cannot create it\n"
"    tensors:, sections:  with --tensors, --sections (above)\n"
"Errors (stderr), one line for each bad file:\n"
"  " PROG ": FILE: <error>: <detail>\n"
"\n"
"Exit status:\n"
"  0  every file is good\n"
"  1  a file is bad or cannot be read, or stdout cannot be written\n"
"  2  a bad command line: an unknown option, or no FILE\n"
"\n"
"Examples:\n"
"  " PROG " model.aem                     describe and check one file\n"
"  " PROG " --sections --tensors model.aem  the file's layout as well\n"
"  " PROG " *.aem >/dev/null                check several files quietly\n"
"\n"
"See also: the ae-inspect(1) manual page; docs/format.md and\n"
"include/ae/io.h (ae_file_open) in the libae sources.\n");
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case AE_FILE_MODEL: return "a model (encoder + decoder)";
    case AE_FILE_ENCODER: return "an encoder";
    case AE_FILE_DECODER: return "a decoder";
    default: return "no network";
    }
}

static const char *optimizer_name(int kind)
{
    switch (kind) {
    case AE_OPT_SGD: return "sgd";
    case AE_OPT_ADAM: return "adam";
    case AE_OPT_ADAMW: return "adamw";
    default: return "unknown";
    }
}

static const char *noise_name(int noise)
{
    static const char *names[] = {"none", "gaussian", "masking", "salt-pepper"};
    return noise >= 0 && noise <= 3 ? names[noise] : "unknown";
}

static void print_shape(const ae_shape *s)
{
    printf("{");
    for (uint32_t i = 0; i < s->rank && i < AE_MAX_RANK; i++)
        printf(i ? ", %" PRIu32 : "%" PRIu32, s->dims[i]);
    printf("}");
}

static void print_version(uint32_t v)
{
    printf("%u.%u.%u", (unsigned)(v / 10000), (unsigned)(v / 100 % 100), (unsigned)(v % 100));
}

static int describe(const char *path, int sections, int tensors)
{
    ae_file *f;
    int rc = ae_file_open(&f, path, NULL);
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: %s: %s\n", path, ae_strerror(rc), ae_last_error());
        return 1;
    }
    ae_file_info info = AE_FILE_INFO_INIT;
    ae_file_get_info(f, &info);
    printf("%s: libae model file, format %" PRIu32 ".%" PRIu32 ", written by libae ", path,
           info.format_major, info.format_minor);
    print_version(info.writer_version);
    printf("\n  %" PRIu64 " bytes in %zu sections, every CRC verified\n", info.file_size,
           info.sections);
    printf("  holds %s", kind_name(info.kind));
    if (info.has_optimizer)
        printf(", optimizer %s (%" PRIu64 " steps)", optimizer_name(info.optimizer_kind),
               info.optimizer_steps);
    if (info.has_pca)
        printf(", a PCA");
    if (info.has_detector)
        printf(", an anomaly detector");
    if (info.has_index)
        printf(", a nearest-neighbour index");
    ae_scaler *sc = NULL;
    if (ae_file_load_scaler(&sc, f) == AE_OK)
        printf(", a %s scaler of %zu features", ae_scaler_kind_name(ae_scaler_kind(sc)),
               ae_scaler_features(sc));
    ae_scaler_destroy(sc);
    printf("\n");

    if (info.kind != AE_FILE_NONE)
        printf("  parameters: %" PRIu64 " values in %zu tensors (+ %" PRIu64 " state values)\n",
               info.param_floats, info.tensors, info.state_floats);
    if (info.kind == AE_FILE_MODEL) {
        printf("  history: %zu epochs\n", info.history_length);
    }

    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    if (ae_file_get_training(f, &to) == AE_OK)
        printf("  training: %" PRIu32 " epochs, batch %" PRIu32 ", seed %" PRIu64 ", loss %s, "
               "shuffle %d, noise %s %g\n", to.epochs, to.batch_size, to.seed,
               ae_loss_name(to.loss), to.shuffle, noise_name(to.noise), (double)to.noise_amount);

    size_t nm = ae_file_metadata_count(f);
    if (nm > 0)
        printf("  metadata (%zu):\n", nm);
    for (size_t i = 0; i < nm; i++) {
        const char *k, *v;
        ae_file_metadata_at(f, i, &k, &v);
        printf("    %s = %s\n", k, v);
    }

    ae_index *idx;
    if (info.has_index && ae_file_load_index(&idx, f) == AE_OK) {
        ae_index_options io = AE_INDEX_OPTIONS_INIT;
        ae_index_get_options(idx, &io);
        printf("  index: %zu vectors of %zu floats, %s\n", ae_index_count(idx), ae_index_dim(idx),
               io.metric == AE_METRIC_COSINE ? "cosine" : "euclidean");
        ae_index_destroy(idx);
    }

    size_t layers = info.encoder_layers + info.decoder_layers;
    for (size_t i = 0; i < layers; i++) {
        ae_file_layer l = AE_FILE_LAYER_INIT;
        ae_file_get_layer(f, i, &l);
        if (l.index == 0) {
            printf("  %s: input ", l.decoder ? "decoder" : "encoder");
            print_shape(&l.input);
            printf(", %zu layers\n", l.decoder ? info.decoder_layers : info.encoder_layers);
        }
        printf("    %zu %s v%" PRIu32 "%s ", l.index, l.type_name, l.type_version,
               l.registered ? "" : " (kind not registered here)");
        print_shape(&l.input);
        printf(" -> ");
        print_shape(&l.output);
        printf(", %zu params + %zu states = %" PRIu64 " values", l.params, l.states, l.floats);
        if (l.extra_size)
            printf(", %zu bytes of extra state", l.extra_size);
        char settings[512];
        if (ae_layer_describe(l.type_name, l.config, l.config_size, settings, sizeof settings,
                              NULL) == AE_OK) {
            printf("%s%s\n", settings[0] ? ": " : "", settings);
            continue;
        }
        /* a custom kind's config: its bytes */
        printf(", config %zu bytes", l.config_size);
        const unsigned char *c = l.config;
        for (size_t q = 0; q < l.config_size && q < 24; q++)
            printf(q ? " %02x" : " [%02x", c[q]);
        if (l.config_size > 24)
            printf(" ...");
        printf(l.config_size ? "]\n" : "\n");
    }

    if (tensors && info.tensors > 0) {
        printf("  tensors:\n");
        for (size_t i = 0; i < info.tensors; i++) {
            ae_file_tensor t = AE_FILE_TENSOR_INIT;
            ae_file_get_tensor(f, i, &t);
            printf("    %zu layer %zu %s %zu '%s' ", i, t.layer, t.state ? "state" : "param",
                   t.index, t.name);
            print_shape(&t.shape);
            printf(" %" PRIu64 " values at offset %" PRIu64 "\n", t.count, t.offset);
        }
    }
    if (sections) {
        printf("  sections:\n");
        for (size_t i = 0; i < info.sections; i++) {
            ae_file_section s = AE_FILE_SECTION_INIT;
            ae_file_get_section(f, i, &s);
            printf("    %s%s offset %" PRIu64 ", %" PRIu64 " bytes, crc %08" PRIx32 "%s\n",
                   s.type, (s.flags & 1) ? " (required)" : "", s.offset, s.size, s.crc,
                   s.known ? "" : ", unknown here (skipped)");
        }
    }
    ae_file_close(f);
    return 0;
}

int main(int argc, char **argv)
{
    int sections = 0, tensors = 0, files = 0, status = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--sections") == 0) {
            sections = 1;
        } else if (strcmp(argv[i], "--tensors") == 0) {
            tensors = 1;
        } else if (strcmp(argv[i], "--") == 0) {
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, PROG ": unknown option '%s'\n"
                            "Try '" PROG " --help' for more information.\n", argv[i]);
            return 2;
        }
    }
    int dashdash = 0;
    for (int i = 1; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (!dashdash && argv[i][0] == '-' && argv[i][1] != '\0')
            continue;
        files++;
        if (describe(argv[i], sections, tensors) != 0)
            status = 1;
    }
    if (files == 0) {
        fprintf(stderr, PROG ": no file given\n"
                        "Try '" PROG " --help' for more information.\n");
        return 2;
    }
    int err = fflush(stdout) != 0 ? errno : ferror(stdout) ? EIO : 0;
    if (err != 0) {
        fprintf(stderr, PROG ": cannot write to stdout: %s\n", strerror(err));
        return 1;
    }
    return status;
}
