/* SPDX-License-Identifier: MIT */
/*
 * cli.h - small helpers shared by the example programs: long-option
 * parsing, error messages, a training progress bar, a monotonic clock and
 * paths. Not part of libae; copy what you like.
 *
 * Exit statuses the examples use: 0 success, 1 a library or I/O error,
 * 2 a bad command line.
 */
#ifndef EXAMPLES_CLI_H
#define EXAMPLES_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ae.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* ---- option parsing ------------------------------------------------------ */

/* What an option's value is, and where it is stored. */
enum cli_kind {
    CLI_U32,    /* unsigned integer in [min, max], stored in a uint32_t */
    CLI_U64,    /* any unsigned 64-bit integer, stored in a uint64_t */
    CLI_DOUBLE, /* finite number in [dmin, dmax], stored in a double */
    CLI_STRING, /* non-empty text, stored as a const char * into argv */
    CLI_FLAG    /* no value; stores 1 in an int */
};

/* One long option, "--name VALUE" or "--name=VALUE" ("--name" for flags). */
typedef struct cli_option {
    const char *name; /* without the leading "--" */
    int kind;         /* enum cli_kind */
    void *value;      /* where the value goes; keeps its default otherwise */
    uint32_t min, max;  /* CLI_U32 range */
    double dmin, dmax;  /* CLI_DOUBLE range */
} cli_option;

/* What cli_parse() found. */
enum cli_result {
    CLI_PARSED = 0, /* options stored; go on */
    CLI_HELP = 1,   /* --help or -h was given: print the usage, exit 0 */
    CLI_ERROR = 2   /* a message was printed on stderr: exit CLI_EXIT_USAGE */
};

/*
 * Parses argv[1..argc-1] against @p options (an array of @p count). "--help"
 * and "-h" are built in. Unknown options, missing or malformed values,
 * values out of range and positional arguments are errors: cli_parse()
 * prints "<prog>: <what is wrong>" and a "--help" hint on stderr and
 * returns CLI_ERROR. Later occurrences of an option override earlier ones.
 */
int cli_parse(const char *prog, int argc, char **argv,
              const cli_option *options, size_t count);

/* Prints "<prog>: <message>" and the "--help" hint on stderr; returns
 * CLI_EXIT_USAGE, for checks made after cli_parse(). */
int cli_usage_error(const char *prog, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "<prog>: <ae_strerror(status)>: <ae_last_error()>" on stderr;
 * returns CLI_EXIT_FAILURE. */
int cli_lib_error(const char *prog, int status);

/* Prints "<prog>: <message>" on stderr; returns CLI_EXIT_FAILURE. */
int cli_error(const char *prog, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- help ---------------------------------------------------------------- */

/* How options are written (cli_parse()): the end of every Options section. */
#define CLI_HELP_SYNTAX \
    "\n" \
    "Values go as --name VALUE or --name=VALUE; when an option is given twice,\n" \
    "the last counts; any other argument is an error.\n"

/*
 * Prints the sections of --help every example shares, between its own
 * Output section and its Examples: Data, Environment and Exit status.
 * @p labels: the program also reads the label files of --data DIR.
 */
void cli_help_common(FILE *f, int labels);

/* ---- threads ------------------------------------------------------------- */

/* The --threads N option every example takes: stored in a uint32_t, 0 (the
 * default) keeps libae's default thread count. Put it in the option table. */
#define CLI_THREADS_OPTION(var) {"threads", CLI_U32, &(var), 1, AE_MAX_THREADS, 0, 0}

/* Applies --threads: ae_set_num_threads(threads) unless it is 0. Returns
 * CLI_EXIT_OK, or prints the library's message and returns CLI_EXIT_FAILURE. */
int cli_set_threads(const char *prog, uint32_t threads);

/* ---- start-up -------------------------------------------------------------- */

/* cli_start() result meaning "go on". */
#define CLI_CONTINUE (-1)

/*
 * What every example does first: cli_parse(); on --help, usage(stdout);
 * then applies --threads when @p threads (the CLI_THREADS_OPTION variable)
 * is not NULL. Returns CLI_CONTINUE, or the exit status main() returns.
 */
int cli_start(const char *prog, int argc, char **argv, const cli_option *options, size_t count,
              void (*usage)(FILE *), const uint32_t *threads);

/* ---- progress ------------------------------------------------------------ */

/*
 * State for cli_progress_callback(), an ae_progress_fn. On a terminal it
 * redraws a bar on batch events, at most 10 times a second:
 *     epoch 3/10 [=========>          ] 1234/1875 loss 0.01234
 * Every epoch event prints one line (terminal or not), e.g.
 *     epoch 3/10  loss 0.012345  test 0.011987  2.41 s
 * Set it up with cli_progress_init() and pass it as progress_user.
 */
typedef struct cli_progress {
    FILE *stream;          /* where to draw (stderr) */
    const char *val_label; /* name of the validation loss ("val" if NULL) */
    int bar;               /* 1: draw the bar (the stream is a terminal) */
    int drawn;             /* a bar is on the current line */
    double last_draw;      /* cli_now() of the last redraw */
    double epoch_start;    /* progress->seconds at the end of the last epoch */
} cli_progress;

/* Draws on @p stream; the bar only when the stream is a terminal. */
void cli_progress_init(cli_progress *p, FILE *stream, const char *val_label);

/* The ae_progress_fn; @p user is a cli_progress. Always returns 0. */
int cli_progress_callback(const ae_progress *progress, void *user);

/* ---- odds and ends ------------------------------------------------------- */

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), for intervals. */
double cli_now(void);

/* Creates directory @p path and missing parents (mkdir -p).
 * Returns 0, or -1 with errno set. */
int cli_mkdir_p(const char *path);

/* "dir/name" in a new malloc()ed string, or NULL when out of memory. */
char *cli_path_join(const char *dir, const char *name);

#endif /* EXAMPLES_CLI_H */
