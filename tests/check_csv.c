/* SPDX-License-Identifier: MIT */
/* check_csv.c - the CSV loader: good files (header, label column anywhere,
 * CRLF, blank lines, quotes, blanks, byte-order mark, exponents, many rows)
 * and every bad case (each AE_ERR_FORMAT names the line and the column),
 * limits, options, I/O errors and allocation failures. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

static void teardown(void)
{
    ck_assert_uint_eq(ae_live_allocations(), 0);
}

/* Writes @p len bytes to a file of the test directory; returns its path. */
static const char *write_bytes(const char *name, const char *text, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

static const char *write_text(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text));
}

/* Loads @p text with @p opts; returns the status. */
static int load(ae_dataset **ds, const char *text, const ae_csv_options *opts)
{
    return ae_dataset_load_csv(ds, write_text("t.csv", text), opts);
}

static void assert_row(const ae_dataset *ds, size_t i, const float *want, size_t n)
{
    const float *row = ae_dataset_sample(ds, i);
    ck_assert_ptr_nonnull(row);
    for (size_t j = 0; j < n; j++)
        ck_assert_float_eq(row[j], want[j]);
}

/* Expects AE_ERR_FORMAT with "line L, column C" and @p part in the message. */
static void assert_bad(const char *text, const ae_csv_options *opts, int line, int column,
                       const char *part)
{
    ae_dataset *ds = (ae_dataset *)0x1;
    char where[64];
    ck_assert_int_eq(load(&ds, text, opts), AE_ERR_FORMAT);
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    snprintf(where, sizeof where, "line %d, column %d:", line, column);
    ck_assert_msg(strstr(ae_last_error(), where) != NULL, "'%s' lacks '%s'", ae_last_error(),
                  where);
    ck_assert_msg(strstr(ae_last_error(), part) != NULL, "'%s' lacks '%s'", ae_last_error(),
                  part);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "t.csv"));
}

/* ------------------------------------------------------------------------ */
/* Good files                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(plain_numbers_become_rank_one_samples)
{
    ae_dataset *ds;
    ae_shape s;
    ck_assert_int_eq(load(&ds, "1,2,3\n4.5,-6e-1,+7\n", NULL), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(ds), 2);
    ck_assert_uint_eq(ae_dataset_sample_size(ds), 3);
    ck_assert_int_eq(ae_dataset_shape(ds, &s), AE_OK);
    ck_assert_uint_eq(s.rank, 1);
    ck_assert_uint_eq(s.dims[0], 3);
    ck_assert_int_eq(ae_dataset_has_labels(ds), 0);
    assert_row(ds, 0, (const float[]){1.0f, 2.0f, 3.0f}, 3);
    assert_row(ds, 1, (const float[]){4.5f, -0.6f, 7.0f}, 3);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(header_label_column_and_messy_formatting_are_read)
{
    /* BOM, header, CRLF, blank lines, blanks around cells, quotes, a label
     * in the middle written as 2.0 and 1e0, no newline at the end. */
    const char text[] = "\xEF\xBB\xBF"
                        "a,label,b\r\n"
                        "\r\n"
                        " 0.25 , 3 ,\t\"1.5\"\r\n"
                        "   \n"
                        "-1,2.0,\" 2 \"\n"
                        ".5,1e0,1E2";
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    o.header = 1;
    o.label_column = 1;
    ae_dataset *ds;
    int32_t label;
    ck_assert_int_eq(load(&ds, text, &o), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(ds), 3);
    ck_assert_uint_eq(ae_dataset_sample_size(ds), 2);
    ck_assert_int_eq(ae_dataset_has_labels(ds), 1);
    assert_row(ds, 0, (const float[]){0.25f, 1.5f}, 2);
    assert_row(ds, 1, (const float[]){-1.0f, 2.0f}, 2);
    assert_row(ds, 2, (const float[]){0.5f, 100.0f}, 2);
    ck_assert_int_eq(ae_dataset_label(ds, 0, &label), AE_OK);
    ck_assert_int_eq(label, 3);
    ck_assert_int_eq(ae_dataset_label(ds, 1, &label), AE_OK);
    ck_assert_int_eq(label, 2);
    ck_assert_int_eq(ae_dataset_label(ds, 2, &label), AE_OK);
    ck_assert_int_eq(label, 1);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(label_can_be_the_first_or_last_column)
{
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    ae_dataset *ds;
    int32_t label;
    o.label_column = AE_CSV_LAST_COLUMN;
    ck_assert_int_eq(load(&ds, "0.1,0.2,-7\n0.3,0.4,2147483647\n", &o), AE_OK);
    assert_row(ds, 1, (const float[]){0.3f, 0.4f}, 2);
    ck_assert_int_eq(ae_dataset_label(ds, 0, &label), AE_OK);
    ck_assert_int_eq(label, -7);
    ck_assert_int_eq(ae_dataset_label(ds, 1, &label), AE_OK);
    ck_assert_int_eq(label, 2147483647);
    ae_dataset_destroy(ds);
    o.label_column = 0;
    ck_assert_int_eq(load(&ds, "5,0.1\n6,0.2\n", &o), AE_OK);
    ck_assert_uint_eq(ae_dataset_sample_size(ds), 1);
    assert_row(ds, 1, (const float[]){0.2f}, 1);
    ck_assert_int_eq(ae_dataset_label(ds, 1, &label), AE_OK);
    ck_assert_int_eq(label, 6);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(other_delimiters_are_read)
{
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    ae_dataset *ds;
    const char *texts[3] = {"1;2\n3;4\n", "1\t2\n3\t4\n", "1|2\n3|4\n"};
    const char delims[3] = {';', '\t', '|'};
    for (int k = 0; k < 3; k++) {
        o.delimiter = delims[k];
        ck_assert_int_eq(load(&ds, texts[k], &o), AE_OK);
        assert_row(ds, 1, (const float[]){3.0f, 4.0f}, 2);
        ae_dataset_destroy(ds);
    }
    /* with ';' a comma is part of a cell, and never a decimal point */
    o.delimiter = ';';
    ck_assert_int_eq(load(&ds, "1,5;2\n", &o), AE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "'1,5' is not a number"));
}
END_TEST

START_TEST(many_rows_and_long_lines_are_read_exactly)
{
    /* 3000 rows of 5 values (the arrays grow several times) and one wide
     * file whose single line spans several read blocks. */
    enum { ROWS = 3000, WIDE = 20000 };
    size_t cap = (size_t)ROWS * 64, len = 0;
    char *text = malloc(cap);
    for (int i = 0; i < ROWS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%d,%d.5,%d,%d,%d\n", i, i, -i, i % 7,
                                i * 2);
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    o.label_column = 3;
    ae_dataset *ds;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, write_bytes("big.csv", text, len), &o), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(ds), ROWS);
    for (int i = 0; i < ROWS; i += 499) {
        int32_t label;
        assert_row(ds, (size_t)i, (const float[]){(float)i, (float)i + 0.5f, (float)-i,
                                                  (float)(i * 2)}, 4);
        ck_assert_int_eq(ae_dataset_label(ds, (size_t)i, &label), AE_OK);
        ck_assert_int_eq(label, i % 7);
    }
    ae_dataset_destroy(ds);
    free(text);

    cap = (size_t)WIDE * 8;
    text = malloc(cap);
    len = 0;
    for (int j = 0; j < WIDE; j++)
        len += (size_t)snprintf(text + len, cap - len, "%s%d", j ? "," : "", j % 100);
    ck_assert_int_eq(ae_dataset_load_csv(&ds, write_bytes("wide.csv", text, len), NULL), AE_OK);
    ck_assert_uint_eq(ae_dataset_sample_size(ds), WIDE);
    ck_assert_float_eq(ae_dataset_sample(ds, 0)[WIDE - 1], (float)((WIDE - 1) % 100));
    ae_dataset_destroy(ds);
    free(text);
}
END_TEST

START_TEST(loaded_tables_train_a_model)
{
    /* An ECG-like table: 8 values per row and a 0/1 label at the end. */
    char text[4096];
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < 8; j++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%.3f,",
                                    0.5 + 0.4 * sin(0.7 * j + 0.1 * i));
        len += (size_t)snprintf(text + len, sizeof text - len, "%d\n", i % 4 == 0);
    }
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    o.label_column = AE_CSV_LAST_COLUMN;
    ae_dataset *ds, *normal;
    ck_assert_int_eq(load(&ds, text, &o), AE_OK);
    ck_assert_int_eq(ae_dataset_filter_label(&normal, ds, 0), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(normal), 30);
    ae_shape in, lat = {1, {3, 0, 0, 0}};
    ck_assert_int_eq(ae_dataset_shape(ds, &in), AE_OK);
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_optimizer *opt;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 3, AE_ACT_TANH), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 8, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 2;
    ck_assert_int_eq(ae_model_train(m, opt, normal, &to), AE_OK);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    ae_dataset_destroy(normal);
    ae_dataset_destroy(ds);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad files                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(non_numeric_cells_name_line_and_column)
{
    assert_bad("1,2,3\n4,abc,6\n", NULL, 2, 2, "'abc' is not a number");
    assert_bad("1,2,3\n4,5x,6\n", NULL, 2, 2, "'5x' is not a number");
    assert_bad("1,2,3\n4,1.2.3,6\n", NULL, 2, 2, "not a number");
    assert_bad("\n\n1,2,3\n4,5,--6\n", NULL, 4, 3, "not a number");
    assert_bad("1,2,3\n4,,6\n", NULL, 2, 2, "empty cell");
    assert_bad("1,2,\n", NULL, 1, 3, "empty cell");
    assert_bad("1,\"\",3\n", NULL, 1, 2, "empty cell");
    assert_bad("1,nan,3\n", NULL, 1, 2, "'nan' is not a number");
    assert_bad("1,-nan,3\n", NULL, 1, 2, "not a finite number");
    assert_bad("1,+inf,3\n", NULL, 1, 2, "not a finite number");
    assert_bad("1,1e39,3\n", NULL, 1, 2, "outside the float range");
    assert_bad("1,-1e999,3\n", NULL, 1, 2, "outside the float range");
    /* a NUL byte inside a cell, shown as '?' */
    ae_dataset *ds;
    static const char nul[] = "1,2\n3,4\0005\n";
    ck_assert_int_eq(ae_dataset_load_csv(&ds, write_bytes("t.csv", nul, sizeof nul - 1), NULL),
                     AE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "line 2, column 2: '4?5' is not a number"));
}
END_TEST

START_TEST(ragged_rows_name_line_and_column)
{
    assert_bad("1,2,3\n4,5\n", NULL, 2, 3, "ends after 2 cells, line 1 has 3");
    assert_bad("1,2,3\n4,5,6\n7,8,9,10\n", NULL, 3, 4, "more than 3 cells (line 1 has 3)");
    assert_bad("h\n\n1,2\n3\n", &(ae_csv_options){sizeof(ae_csv_options), 1, -1, ',', 0}, 4, 2,
               "line 3 has 2");
}
END_TEST

START_TEST(files_without_data_rows_are_refused)
{
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    assert_bad("", NULL, 1, 1, "no data rows (the file is empty)");
    assert_bad("\n \n\r\n", NULL, 4, 1, "no data rows");
    o.header = 1;
    assert_bad("a,b,c\n", &o, 2, 1, "no data rows after the header");
    assert_bad("a,b,c", &o, 2, 1, "after the header");
}
END_TEST

START_TEST(labels_must_be_integers)
{
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    o.label_column = 2;
    assert_bad("1,2,0\n3,4,1.5\n", &o, 2, 3, "label '1.5' is not an integer");
    assert_bad("1,2,0\n3,4,3e10\n", &o, 2, 3, "label '3e10' is not an integer");
    assert_bad("1,2,0\n3,4,-2147483649\n", &o, 2, 3, "not an integer");
    assert_bad("1,2,cat\n", &o, 1, 3, "'cat' is not a number (labels are integers)");
    assert_bad("1,2,\n", &o, 1, 3, "empty cell (a label is needed)");
    o.label_column = 5;
    assert_bad("1,2,3\n", &o, 1, 6, "label_column 5 is past the end of the row, which has 3");
    o.label_column = 0;
    assert_bad("1\n2\n", &o, 1, 1, "no feature is left");
    o.label_column = AE_CSV_LAST_COLUMN;
    assert_bad("7\n", &o, 1, 1, "no feature is left");
}
END_TEST

START_TEST(limits_give_limit_errors_with_the_line)
{
    /* a line of AE_CSV_MAX_LINE + 1 bytes */
    size_t len = (size_t)AE_CSV_MAX_LINE + 1;
    char *text = malloc(len + 8);
    memset(text, '1', len);
    memcpy(text + len, "\n", 1);
    ae_dataset *ds = (ae_dataset *)0x1;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, write_bytes("long.csv", text, len + 1), NULL),
                     AE_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "line 1, column 1: the line is longer than"));
    /* exactly AE_CSV_MAX_LINE bytes is fine (a long run of zeros) */
    memset(text, '0', len - 1);
    text[len - 1] = '\n';
    ck_assert_int_eq(ae_dataset_load_csv(&ds, write_bytes("long.csv", text, len), NULL), AE_OK);
    ae_dataset_destroy(ds);
    free(text);

    /* AE_CSV_MAX_COLUMNS + 1 cells */
    len = 2 * ((size_t)AE_CSV_MAX_COLUMNS + 1);
    text = malloc(len + 1);
    for (size_t i = 0; i < len; i += 2) {
        text[i] = '0';
        text[i + 1] = ',';
    }
    text[len - 1] = '\n';
    ds = (ae_dataset *)0x1;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, write_bytes("wide.csv", text, len), NULL),
                     AE_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "line 1, column 65537: more than 65536"));
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    free(text);
}
END_TEST

START_TEST(max_bytes_limits_the_rows_and_what_is_reserved)
{
    /* 3 rows of 2 features and a label: 12 bytes a row. */
    const char *text = "1,2,0\n3,4,1\n5,6,0\n";
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    ae_dataset *ds = (ae_dataset *)0x1;
    o.label_column = AE_CSV_LAST_COLUMN;
    o.max_bytes = 3 * 12 - 1;
    ck_assert_int_eq(load(&ds, text, &o), AE_ERR_LIMIT);
    ck_assert_msg(strstr(ae_last_error(), "line 3: more than 2 rows of 2 values take more than"
                                          " max_bytes, 35 bytes") != NULL,
                  "%s", ae_last_error());
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    o.max_bytes = 3 * 12;
    ck_assert_int_eq(load(&ds, text, &o), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(ds), 3);
    ae_dataset_destroy(ds);
    /* Options of the 1.0 layout (no max_bytes) read it as 0: no limit. */
    o.struct_size = (uint32_t)(offsetof(ae_csv_options, delimiter) + 1);
    o.max_bytes = 1;
    ck_assert_int_eq(load(&ds, text, &o), AE_OK);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(options_and_arguments_are_checked)
{
    ae_dataset *ds = (ae_dataset *)0x1;
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    const char *path = write_text("ok.csv", "1,2\n");
    ck_assert_int_eq(ae_dataset_load_csv(NULL, path, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_load_csv(&ds, NULL, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "path is NULL"));
    o.header = 2;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, path, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "header is 2"));
    o.header = 0;
    o.label_column = -3;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, path, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "label_column -3"));
    o.label_column = (int)AE_CSV_MAX_COLUMNS;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, path, &o), AE_ERR_LIMIT);
    o.label_column = AE_CSV_NO_LABEL;
    o.delimiter = '.';
    ck_assert_int_eq(ae_dataset_load_csv(&ds, path, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "delimiter 0x2e"));
    o.delimiter = ',';
    o.struct_size = 4;
    ck_assert_int_eq(ae_dataset_load_csv(&ds, path, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "struct_size"));
    ck_assert_int_eq(ae_dataset_load_csv_v(&ds, path, NULL, (AE_VERSION_MAJOR + 1) * 10000u),
                     AE_ERR_VERSION);
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
}
END_TEST

START_TEST(missing_files_are_io_errors)
{
    ae_dataset *ds = (ae_dataset *)0x1;
    char path[256];
    snprintf(path, sizeof path, "%s/does-not-exist.csv", test_tmpdir());
    ck_assert_int_eq(ae_dataset_load_csv(&ds, path, NULL), AE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "does-not-exist.csv: cannot open"));
    ck_assert_int_eq(ae_dataset_load_csv(&ds, test_tmpdir(), NULL), AE_ERR_IO); /* a directory */
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    /* 600 labelled rows: the row arrays grow and shrink; fail each
     * allocation in turn until the load succeeds. */
    char *text = malloc(600 * 16);
    size_t len = 0;
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(text + len, 600 * 16 - len, "%d,%d,%d\n", i, -i, i % 3);
    const char *path = write_bytes("alloc.csv", text, len);
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    o.label_column = AE_CSV_LAST_COLUMN;
    int done = 0;
    for (size_t fail_at = 1; !done && fail_at < 100; fail_at++) {
        failing_allocator fa;
        ae_dataset *ds = (ae_dataset *)0x1;
        failing_allocator_install(&fa, fail_at);
        int rc = ae_dataset_load_csv(&ds, path, &o);
        if (rc == AE_OK) {
            ck_assert_uint_eq(ae_dataset_count(ds), 600);
            ae_dataset_destroy(ds);
            done = 1;
        } else {
            ck_assert_int_eq(rc, AE_ERR_NOMEM);
            ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
        }
        ck_assert_uint_eq(fa.live, 0);
        failing_allocator_remove();
    }
    ck_assert(done);
    free(text);
}
END_TEST

Suite *ae_csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("good");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, plain_numbers_become_rank_one_samples);
    tcase_add_test(tc, header_label_column_and_messy_formatting_are_read);
    tcase_add_test(tc, label_can_be_the_first_or_last_column);
    tcase_add_test(tc, other_delimiters_are_read);
    tcase_add_test(tc, many_rows_and_long_lines_are_read_exactly);
    tcase_add_test(tc, loaded_tables_train_a_model);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, non_numeric_cells_name_line_and_column);
    tcase_add_test(tc, ragged_rows_name_line_and_column);
    tcase_add_test(tc, files_without_data_rows_are_refused);
    tcase_add_test(tc, labels_must_be_integers);
    tcase_add_test(tc, limits_give_limit_errors_with_the_line);
    tcase_add_test(tc, options_and_arguments_are_checked);
    tcase_add_test(tc, max_bytes_limits_the_rows_and_what_is_reserved);
    tcase_add_test(tc, missing_files_are_io_errors);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
