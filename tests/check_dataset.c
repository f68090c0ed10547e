/* SPDX-License-Identifier: MIT */
/* check_dataset.c - datasets from memory, views (subset, select, filter,
 * split, shuffle), batches, and the IDX reader (plain and gzip). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "ae.h"
#include "core/core.h"
#include "data/dataset.h"
#include "testutil.h"

#define NS 10 /* samples in the small test set */
#define NF 3  /* floats per sample */

static float g_data[NS * NF];
static int32_t g_labels[NS];
static const ae_shape g_shape = {1, {NF, 0, 0, 0}};

/* Sample i is {100 i, 100 i + 1, 100 i + 2}, label i % 3. */
static void fill_data(void)
{
    for (int i = 0; i < NS; i++) {
        for (int j = 0; j < NF; j++)
            g_data[i * NF + j] = (float)(100 * i + j);
        g_labels[i] = i % 3;
    }
}

static ae_dataset *make_ds(int with_labels)
{
    ae_dataset *ds = NULL;
    fill_data();
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, with_labels ? g_labels : NULL, NS,
                                            &g_shape, AE_DATASET_COPY),
                     AE_OK);
    return ds;
}

/* The original (store) number of view sample i, from its first float. */
static int sample_id(const ae_dataset *ds, size_t i)
{
    const float *s = ae_dataset_sample(ds, i);
    ck_assert_ptr_nonnull(s);
    return (int)(s[0] / 100.0f);
}

static void assert_msg_has(const char *needle)
{
    ck_assert_msg(strstr(ae_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  ae_last_error(), needle);
}

/* ---- from memory ---------------------------------------------------------- */

START_TEST(from_memory_copy_does_not_see_later_changes)
{
    ae_dataset *ds = make_ds(1);
    ae_shape s;
    int32_t label;
    ck_assert_uint_eq(ae_dataset_count(ds), NS);
    ck_assert_uint_eq(ae_dataset_sample_size(ds), NF);
    ck_assert_int_eq(ae_dataset_has_labels(ds), 1);
    ck_assert_int_eq(ae_dataset_shape(ds, &s), AE_OK);
    ck_assert(ae__shape_equal(&s, &g_shape));
    ck_assert_ptr_ne(ae_dataset_sample(ds, 4), g_data + 4 * NF);
    g_data[4 * NF] = -1.0f;
    g_labels[4] = 99;
    ck_assert_float_eq(ae_dataset_sample(ds, 4)[0], 400.0f);
    ck_assert_float_eq(ae_dataset_sample(ds, 4)[2], 402.0f);
    ck_assert_int_eq(ae_dataset_label(ds, 4, &label), AE_OK);
    ck_assert_int_eq(label, 1);
    ck_assert_ptr_eq(ae__dataset_row(ds, 4), ae_dataset_sample(ds, 4));
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(from_memory_borrow_uses_the_callers_arrays)
{
    ae_dataset *ds = NULL, *sub = NULL;
    int32_t label;
    fill_data();
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, g_labels, NS, &g_shape,
                                            AE_DATASET_BORROW),
                     AE_OK);
    ck_assert_ptr_eq(ae_dataset_sample(ds, 7), g_data + 7 * NF);
    g_data[7 * NF + 1] = 42.0f;
    g_labels[7] = 5;
    ck_assert_float_eq(ae_dataset_sample(ds, 7)[1], 42.0f);
    ck_assert_int_eq(ae_dataset_label(ds, 7, &label), AE_OK);
    ck_assert_int_eq(label, 5);
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 5, 3), AE_OK);
    ae_dataset_destroy(ds);
    ck_assert_ptr_eq(ae_dataset_sample(sub, 2), g_data + 7 * NF);
    ae_dataset_destroy(sub);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(from_memory_rejects_bad_arguments)
{
    ae_dataset *ds = (ae_dataset *)0x1;
    ae_shape zero_rank = {0, {0}}, zero_dim = {2, {3, 0, 0, 0}};
    ae_shape huge = {3, {65536, 65536, 65536, 0}};
    ae_shape big = {1, {2147483647u, 0, 0, 0}};
    fill_data();
    ck_assert_int_eq(ae_dataset_from_memory(NULL, g_data, NULL, NS, &g_shape, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, NULL, NULL, NS, &g_shape, 0), AE_ERR_INVALID);
    assert_msg_has("data is NULL");
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, 0, &g_shape, 0), AE_ERR_INVALID);
    assert_msg_has("count is 0");
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, NS, NULL, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, NS, &g_shape, 4), AE_ERR_INVALID);
    assert_msg_has("0x4");
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, NS, &zero_rank, 0), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, NS, &zero_dim, 0), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, NS, &huge, 0), AE_ERR_LIMIT);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, (size_t)AE_DATASET_MAX_COUNT + 1,
                                            &g_shape, AE_DATASET_BORROW),
                     AE_ERR_LIMIT);
    assert_msg_has("2147483648");
    if (sizeof(size_t) == 8) /* count * floats * 4 overflows 64 bits */
        ck_assert_int_eq(ae_dataset_from_memory(&ds, g_data, NULL, AE_DATASET_MAX_COUNT, &big,
                                                AE_DATASET_BORROW),
                         AE_ERR_LIMIT);
    ck_assert_int_eq(ae_dataset_from_memory_v(&ds, g_data, NULL, NS, &g_shape, 0,
                                              (AE_VERSION_MAJOR + 1) * 10000u),
                     AE_ERR_VERSION);
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(queries_on_null_and_out_of_range)
{
    ae_dataset *ds = make_ds(1);
    ae_shape s;
    int32_t label = 77;
    ck_assert_uint_eq(ae_dataset_count(NULL), 0);
    ck_assert_uint_eq(ae_dataset_sample_size(NULL), 0);
    ck_assert_int_eq(ae_dataset_has_labels(NULL), 0);
    ck_assert_int_eq(ae_dataset_shape(NULL, &s), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_shape(ds, NULL), AE_ERR_INVALID);
    ck_assert_ptr_null(ae_dataset_sample(NULL, 0));
    ck_assert_ptr_null(ae_dataset_sample(ds, NS));
    assert_msg_has("index 10, dataset has 10 samples");
    ck_assert_int_eq(ae_dataset_label(NULL, 0, &label), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_label(ds, 0, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_label(ds, NS, &label), AE_ERR_INVALID);
    assert_msg_has("index 10");
    ck_assert_int_eq(label, 77);
    ae_dataset_destroy(NULL);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(unlabelled_dataset_refuses_label_requests)
{
    ae_dataset *ds = make_ds(0), *out = (ae_dataset *)0x1;
    int32_t label, labels[2];
    float x[2 * NF];
    ck_assert_int_eq(ae_dataset_has_labels(ds), 0);
    ck_assert_int_eq(ae_dataset_label(ds, 0, &label), AE_ERR_STATE);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, 2, x, labels), AE_ERR_STATE);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, 2, x, NULL), AE_OK);
    ck_assert_int_eq(ae_dataset_filter_label(&out, ds, 0), AE_ERR_STATE);
    ck_assert_ptr_eq(out, (ae_dataset *)0x1);
    ae_dataset_destroy(ds);
}
END_TEST

/* ---- batches ---------------------------------------------------------------- */

START_TEST(get_batch_copies_samples_and_labels)
{
    ae_dataset *ds = make_ds(1), *sel = NULL;
    float x[4 * NF];
    int32_t labels[4];
    ck_assert_int_eq(ae_dataset_get_batch(ds, 6, 4, x, labels), AE_OK);
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < NF; j++)
            ck_assert_float_eq(x[i * NF + j], (float)(100 * (6 + i) + j));
        ck_assert_int_eq(labels[i], (6 + i) % 3);
    }
    /* Through an index array too. */
    size_t idx[3] = {9, 0, 4};
    ck_assert_int_eq(ae_dataset_select(&sel, ds, idx, 3), AE_OK);
    ck_assert_int_eq(ae_dataset_get_batch(sel, 1, 2, x, labels), AE_OK);
    ck_assert_float_eq(x[0], 0.0f);
    ck_assert_float_eq(x[NF + 2], 402.0f);
    ck_assert_int_eq(labels[0], 0);
    ck_assert_int_eq(labels[1], 1);
    ae_dataset_destroy(sel);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(get_batch_rejects_bad_ranges)
{
    ae_dataset *ds = make_ds(1);
    float x[NS * NF];
    x[0] = -5.0f;
    ck_assert_int_eq(ae_dataset_get_batch(NULL, 0, 1, x, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, 1, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, 0, x, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 8, 3, x, NULL), AE_ERR_INVALID);
    assert_msg_has("[8, 8 + 3)");
    ck_assert_int_eq(ae_dataset_get_batch(ds, SIZE_MAX, 2, x, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 1, SIZE_MAX, x, NULL), AE_ERR_INVALID);
    ck_assert_float_eq(x[0], -5.0f);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, NS, x, NULL), AE_OK);
    ae_dataset_destroy(ds);
}
END_TEST

/* ---- views ------------------------------------------------------------------ */

START_TEST(subset_shares_data_and_outlives_its_parent)
{
    ae_dataset *ds = make_ds(1), *sub = NULL, *subsub = NULL;
    int32_t label;
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 2, 5), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(sub), 5);
    ck_assert_ptr_eq(ae_dataset_sample(sub, 0), ae_dataset_sample(ds, 2));
    ae_dataset_destroy(ds);
    ck_assert_int_eq(ae_dataset_subset(&subsub, sub, 1, 4), AE_OK);
    ae_dataset_destroy(sub);
    ck_assert_uint_eq(ae_dataset_count(subsub), 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(sample_id(subsub, i), (int)(3 + i));
        ck_assert_int_eq(ae_dataset_label(subsub, i, &label), AE_OK);
        ck_assert_int_eq(label, (int)(3 + i) % 3);
    }
    ck_assert_float_eq(ae_dataset_sample(subsub, 3)[2], 602.0f);
    ae_dataset_destroy(subsub);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(subset_of_a_shuffled_view_keeps_its_order)
{
    ae_dataset *ds = make_ds(1), *sub = NULL;
    ck_assert_int_eq(ae_dataset_shuffle(ds, 3), AE_OK);
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 4, 6), AE_OK);
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(sample_id(sub, i), sample_id(ds, 4 + i));
    /* Shuffling the parent later does not move the subset. */
    int before = sample_id(sub, 0);
    ck_assert_int_eq(ae_dataset_shuffle(ds, 4), AE_OK);
    ck_assert_int_eq(sample_id(sub, 0), before);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(sub);
}
END_TEST

START_TEST(subset_rejects_bad_ranges)
{
    ae_dataset *ds = make_ds(1), *sub = (ae_dataset *)0x1;
    ck_assert_int_eq(ae_dataset_subset(NULL, ds, 0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_subset(&sub, NULL, 0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 0, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 10, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 3, 8), AE_ERR_INVALID);
    assert_msg_has("10 samples");
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 2, SIZE_MAX), AE_ERR_INVALID);
    ck_assert_ptr_eq(sub, (ae_dataset *)0x1);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(select_follows_the_indices_with_repeats)
{
    ae_dataset *ds = make_ds(1), *sel = NULL, *sel2 = NULL;
    size_t idx[5] = {7, 7, 0, 9, 3};
    size_t idx2[2] = {4, 2};
    int32_t label;
    ck_assert_int_eq(ae_dataset_select(&sel, ds, idx, 5), AE_OK);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_dataset_count(sel), 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(sample_id(sel, i), (int)idx[i]);
        ck_assert_int_eq(ae_dataset_label(sel, i, &label), AE_OK);
        ck_assert_int_eq(label, (int)idx[i] % 3);
    }
    /* Indices are relative to the view they select from. */
    ck_assert_int_eq(ae_dataset_select(&sel2, sel, idx2, 2), AE_OK);
    ck_assert_int_eq(sample_id(sel2, 0), 3);
    ck_assert_int_eq(sample_id(sel2, 1), 0);
    ae_dataset_destroy(sel);
    ae_dataset_destroy(sel2);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(select_rejects_bad_indices)
{
    ae_dataset *ds = make_ds(1), *sel = (ae_dataset *)0x1;
    size_t idx[3] = {1, 10, 2};
    ck_assert_int_eq(ae_dataset_select(NULL, ds, idx, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_select(&sel, NULL, idx, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_select(&sel, ds, NULL, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_select(&sel, ds, idx, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_select(&sel, ds, idx, 3), AE_ERR_INVALID);
    assert_msg_has("indices[1] is 10, dataset has 10 samples");
    ck_assert_int_eq(ae_dataset_select(&sel, ds, idx, (size_t)AE_DATASET_MAX_COUNT + 1),
                     AE_ERR_LIMIT);
    ck_assert_ptr_eq(sel, (ae_dataset *)0x1);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(filter_label_keeps_matching_samples_in_order)
{
    ae_dataset *ds = make_ds(1), *f = NULL, *sub = NULL, *f2 = NULL;
    ck_assert_int_eq(ae_dataset_filter_label(&f, ds, 1), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(f), 3); /* 1, 4, 7 */
    ck_assert_int_eq(sample_id(f, 0), 1);
    ck_assert_int_eq(sample_id(f, 1), 4);
    ck_assert_int_eq(sample_id(f, 2), 7);
    /* Filtering a subset only sees the subset. */
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 2, 5), AE_OK); /* 2..6 */
    ae_dataset_destroy(ds);
    ck_assert_int_eq(ae_dataset_filter_label(&f2, sub, 0), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(f2), 2); /* 3, 6 */
    ck_assert_int_eq(sample_id(f2, 0), 3);
    ck_assert_int_eq(sample_id(f2, 1), 6);
    ae_dataset_destroy(f);
    ae_dataset_destroy(sub);
    ae_dataset_destroy(f2);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(filter_label_reports_missing_labels)
{
    ae_dataset *ds = make_ds(1), *f = (ae_dataset *)0x1;
    ck_assert_int_eq(ae_dataset_filter_label(&f, ds, 7), AE_ERR_NOT_FOUND);
    assert_msg_has("label 7");
    ck_assert_int_eq(ae_dataset_filter_label(NULL, ds, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_filter_label(&f, NULL, 0), AE_ERR_INVALID);
    ck_assert_ptr_eq(f, (ae_dataset *)0x1);
    ae_dataset_destroy(ds);
}
END_TEST

/* Marks which originals the views hold; each must appear exactly once. */
static void assert_partition(const ae_dataset *a, const ae_dataset *b)
{
    int seen[NS] = {0};
    for (size_t i = 0; i < ae_dataset_count(a); i++)
        seen[sample_id(a, i)]++;
    for (size_t i = 0; b != NULL && i < ae_dataset_count(b); i++)
        seen[sample_id(b, i)]++;
    for (int i = 0; i < NS; i++)
        ck_assert_int_eq(seen[i], 1);
}

START_TEST(split_partitions_by_rounded_fraction)
{
    ae_dataset *ds = make_ds(1), *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    int32_t label;
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 0.25, 11), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(a), 3); /* round(2.5) */
    ck_assert_uint_eq(ae_dataset_count(b), 7);
    assert_partition(a, b);
    /* Labels follow their samples. */
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(ae_dataset_label(a, i, &label), AE_OK);
        ck_assert_int_eq(label, sample_id(a, i) % 3);
    }
    /* Same seed, same split. */
    ck_assert_int_eq(ae_dataset_split(&c, &d, ds, 0.25, 11), AE_OK);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(sample_id(a, i), sample_id(c, i));
    ae_dataset_destroy(c);
    ae_dataset_destroy(d);
    ck_assert_int_eq(ae_dataset_split(&c, &d, ds, 0.8, 11), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(c), 8);
    ck_assert_uint_eq(ae_dataset_count(d), 2);
    ae_dataset_destroy(ds); /* the parts outlive the parent */
    assert_partition(c, d);
    assert_partition(a, b);
    ae_dataset_destroy(a);
    ae_dataset_destroy(b);
    ae_dataset_destroy(c);
    ae_dataset_destroy(d);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(split_differs_by_seed)
{
    ae_dataset *ds = make_ds(0), *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 0.5, 1), AE_OK);
    ck_assert_int_eq(ae_dataset_split(&c, &d, ds, 0.5, 2), AE_OK);
    int same = 1;
    for (size_t i = 0; i < 5; i++)
        same &= sample_id(a, i) == sample_id(c, i);
    ck_assert_int_eq(same, 0);
    ae_dataset_destroy(a);
    ae_dataset_destroy(b);
    ae_dataset_destroy(c);
    ae_dataset_destroy(d);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(split_rejects_bad_fractions)
{
    ae_dataset *ds = make_ds(1), *a = (ae_dataset *)0x1, *b = (ae_dataset *)0x2;
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 0.0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 1.0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, -0.5, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 1.5, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, (double)NAN, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 0.01, 1), AE_ERR_INVALID);
    assert_msg_has("first part empty");
    ck_assert_int_eq(ae_dataset_split(&a, &b, ds, 0.97, 1), AE_ERR_INVALID);
    assert_msg_has("second part empty");
    ck_assert_int_eq(ae_dataset_split(NULL, &b, ds, 0.5, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, NULL, ds, 0.5, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &b, NULL, 0.5, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_split(&a, &a, ds, 0.5, 1), AE_ERR_INVALID);
    ck_assert_ptr_eq(a, (ae_dataset *)0x1);
    ck_assert_ptr_eq(b, (ae_dataset *)0x2);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(shuffle_is_a_seeded_permutation)
{
    ae_dataset *a = make_ds(1), *b = make_ds(1), *c = make_ds(1), *before = NULL;
    int32_t label;
    ck_assert_int_eq(ae_dataset_subset(&before, a, 0, NS), AE_OK);
    ck_assert_int_eq(ae_dataset_shuffle(a, 12345), AE_OK);
    ck_assert_int_eq(ae_dataset_shuffle(b, 12345), AE_OK);
    ck_assert_int_eq(ae_dataset_shuffle(c, 54321), AE_OK);
    assert_partition(a, NULL);
    assert_partition(c, NULL);
    int moved = 0, differs = 0;
    for (size_t i = 0; i < NS; i++) {
        ck_assert_int_eq(sample_id(a, i), sample_id(b, i));
        differs |= sample_id(a, i) != sample_id(c, i);
        moved |= sample_id(a, i) != (int)i;
        ck_assert_int_eq(ae_dataset_label(a, i, &label), AE_OK);
        ck_assert_int_eq(label, sample_id(a, i) % 3);
        ck_assert_int_eq(sample_id(before, i), (int)i); /* other views keep their order */
    }
    ck_assert(moved);
    ck_assert(differs);
    ck_assert_int_eq(ae_dataset_shuffle(NULL, 1), AE_ERR_INVALID);
    ae_dataset_destroy(a);
    ae_dataset_destroy(b);
    ae_dataset_destroy(c);
    ae_dataset_destroy(before);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(shuffle_order_is_pinned)
{
    /* The same seed gives the same order on every machine: pin it. */
    ae_dataset *ds = make_ds(0);
    ck_assert_int_eq(ae_dataset_shuffle(ds, 2024), AE_OK);
    char got[NS + 1];
    for (size_t i = 0; i < NS; i++)
        got[i] = (char)('0' + sample_id(ds, i));
    got[NS] = '\0';
    ae_rng rng;
    uint32_t expect[NS];
    for (uint32_t i = 0; i < NS; i++)
        expect[i] = i;
    ae__rng_seed(&rng, 2024);
    for (size_t i = NS; i > 1; i--) {
        size_t j = (size_t)ae__rng_below(&rng, i);
        uint32_t t = expect[i - 1];
        expect[i - 1] = expect[j];
        expect[j] = t;
    }
    for (size_t i = 0; i < NS; i++)
        ck_assert_int_eq(got[i] - '0', (int)expect[i]);
    ae_dataset_destroy(ds);
}
END_TEST

/* ---- allocation failures -------------------------------------------------- */

/* Runs op with the k-th allocation failing, k = 1, 2, ... until it works;
 * each failure must be AE_ERR_NOMEM with nothing leaked. base (made before
 * the failures start) may be NULL. */
typedef int (*nomem_op)(ae_dataset *base, ae_dataset **out1, ae_dataset **out2);

static void run_nomem(nomem_op op, int want_base)
{
    for (size_t k = 1;; k++) {
        failing_allocator fa;
        ae_dataset *base = NULL, *o1 = (ae_dataset *)0x1, *o2 = (ae_dataset *)0x2;
        failing_allocator_install(&fa, 0);
        if (want_base)
            base = make_ds(1);
        if (want_base == 2) /* a view with an index array */
            ck_assert_int_eq(ae_dataset_shuffle(base, 5), AE_OK);
        size_t live = ae_live_allocations();
        fa.fail_at = fa.calls + k;
        int rc = op(base, &o1, &o2);
        if (rc == AE_OK) {
            if (o1 != (ae_dataset *)0x1)
                ae_dataset_destroy(o1);
            if (o2 != (ae_dataset *)0x2)
                ae_dataset_destroy(o2);
            ae_dataset_destroy(base);
            ck_assert_uint_eq(ae_live_allocations(), 0);
            failing_allocator_remove();
            ck_assert_uint_gt(k, 1);
            return;
        }
        ck_assert_msg(rc == AE_ERR_NOMEM, "k=%zu: rc %d (%s)", k, rc, ae_last_error());
        ck_assert_ptr_eq(o1, (ae_dataset *)0x1);
        ck_assert_ptr_eq(o2, (ae_dataset *)0x2);
        ck_assert_uint_eq(ae_live_allocations(), live);
        ae_dataset_destroy(base);
        ck_assert_uint_eq(ae_live_allocations(), 0);
        failing_allocator_remove();
        ck_assert_uint_lt(k, 100);
    }
}

static int op_copy(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    (void)base, (void)o2;
    return ae_dataset_from_memory(o1, g_data, g_labels, NS, &g_shape, AE_DATASET_COPY);
}
static int op_borrow(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    (void)base, (void)o2;
    return ae_dataset_from_memory(o1, g_data, g_labels, NS, &g_shape, AE_DATASET_BORROW);
}
static int op_subset(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    (void)o2;
    return ae_dataset_subset(o1, base, 2, 5);
}
static int op_select(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    static const size_t idx[3] = {1, 2, 1};
    (void)o2;
    return ae_dataset_select(o1, base, idx, 3);
}
static int op_filter(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    (void)o2;
    return ae_dataset_filter_label(o1, base, 2);
}
static int op_split(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    return ae_dataset_split(o1, o2, base, 0.3, 9);
}
static int op_shuffle(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    (void)o1, (void)o2;
    return ae_dataset_shuffle(base, 9);
}

START_TEST(allocation_failures_leak_nothing)
{
    fill_data();
    run_nomem(op_copy, 0);
    run_nomem(op_borrow, 0);
    run_nomem(op_subset, 2);
    run_nomem(op_select, 2);
    run_nomem(op_select, 1);
    run_nomem(op_filter, 1);
    run_nomem(op_split, 1);
    run_nomem(op_shuffle, 1);
}
END_TEST

/* ---- IDX ------------------------------------------------------------------------ */

#define IMG_N 5
#define IMG_H 3
#define IMG_W 4
#define IMG_DATA (IMG_N * IMG_H * IMG_W)

static const char *tmp_path(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", test_tmpdir(), name);
    return p;
}

static void write_file(const char *path, const unsigned char *bytes, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        if (len > 0)
            ck_assert_int_eq(gzwrite(f, bytes, (unsigned)len), (int)len);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
    }
}

/* Writes an IDX header for type/rank/dims into buf; returns its length. */
static size_t idx_head(unsigned char *buf, unsigned type, unsigned rank, const uint32_t *dims)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)rank;
    for (unsigned i = 0; i < rank; i++) {
        buf[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        buf[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        buf[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        buf[7 + 4 * i] = (unsigned char)dims[i];
    }
    return 4 + 4 * (size_t)rank;
}

static unsigned char pixel(size_t i) { return (unsigned char)(i * 37 % 256); }

/* The good images file: IMG_N x IMG_H x IMG_W, byte i = pixel(i). */
static size_t good_images(unsigned char *buf)
{
    const uint32_t dims[3] = {IMG_N, IMG_H, IMG_W};
    size_t n = idx_head(buf, 0x08, 3, dims);
    for (size_t i = 0; i < IMG_DATA; i++)
        buf[n + i] = pixel(i);
    return n + IMG_DATA;
}

/* The good labels file: IMG_N labels, label i = 9 - i. */
static size_t good_labels(unsigned char *buf, uint32_t count)
{
    size_t n = idx_head(buf, 0x08, 1, &count);
    for (size_t i = 0; i < count; i++)
        buf[n + i] = (unsigned char)(9 - i);
    return n + count;
}

static int load(const char *images, const char *labels, unsigned flags, ae_dataset **out)
{
    return ae_dataset_load_idx(out, images, labels, flags);
}

static void check_good_dataset(ae_dataset *ds, int scaled)
{
    ae_shape s;
    const ae_shape want = {3, {1, IMG_H, IMG_W, 0}};
    ck_assert_uint_eq(ae_dataset_count(ds), IMG_N);
    ck_assert_int_eq(ae_dataset_shape(ds, &s), AE_OK);
    ck_assert(ae__shape_equal(&s, &want));
    ck_assert_uint_eq(ae_dataset_sample_size(ds), IMG_H * IMG_W);
    for (size_t i = 0; i < IMG_N; i++) {
        const float *x = ae_dataset_sample(ds, i);
        for (size_t j = 0; j < IMG_H * IMG_W; j++) {
            float v = pixel(i * IMG_H * IMG_W + j);
            ck_assert_float_eq(x[j], scaled ? v / 255.0f : v);
        }
        if (ae_dataset_has_labels(ds)) {
            int32_t label;
            ck_assert_int_eq(ae_dataset_label(ds, i, &label), AE_OK);
            ck_assert_int_eq(label, 9 - (int)i);
        }
    }
}

START_TEST(idx_loads_plain_and_gzip_files)
{
    unsigned char img[256], lab[64];
    size_t ni = good_images(img), nl = good_labels(lab, IMG_N);
    for (int gz = 0; gz <= 1; gz++) {
        const char *ip = tmp_path(gz ? "img.gz" : "img"), *lp = tmp_path(gz ? "lab.gz" : "lab");
        ae_dataset *ds = NULL;
        write_file(ip, img, ni, gz);
        write_file(lp, lab, nl, !gz); /* mixed on purpose: detection is by content */
        ck_assert_int_eq(load(ip, lp, AE_IDX_SCALE, &ds), AE_OK);
        ck_assert_int_eq(ae_dataset_has_labels(ds), 1);
        check_good_dataset(ds, 1);
        ae_dataset_destroy(ds);
        ck_assert_int_eq(load(ip, NULL, AE_IDX_NO_SCALE, &ds), AE_OK);
        ck_assert_int_eq(ae_dataset_has_labels(ds), 0);
        check_good_dataset(ds, 0);
        ae_dataset_destroy(ds);
        unlink(ip);
        unlink(lp);
    }
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(idx_maps_ranks_to_sample_shapes)
{
    unsigned char buf[256];
    const uint32_t d2[2] = {2, 6}, d4[4] = {2, 3, 2, 1};
    const char *p = tmp_path("ranks");
    ae_dataset *ds = NULL;
    ae_shape s;
    size_t n = idx_head(buf, 0x08, 2, d2);
    memset(buf + n, 255, 12);
    write_file(p, buf, n + 12, 0);
    ck_assert_int_eq(load(p, NULL, 0, &ds), AE_OK);
    ck_assert_int_eq(ae_dataset_shape(ds, &s), AE_OK);
    ck_assert_uint_eq(s.rank, 1);
    ck_assert_uint_eq(s.dims[0], 6);
    ck_assert_float_eq(ae_dataset_sample(ds, 1)[5], 1.0f);
    ae_dataset_destroy(ds);
    n = idx_head(buf, 0x08, 4, d4);
    memset(buf + n, 0, 12);
    write_file(p, buf, n + 12, 0);
    ck_assert_int_eq(load(p, NULL, 0, &ds), AE_OK);
    ck_assert_int_eq(ae_dataset_shape(ds, &s), AE_OK);
    ck_assert_uint_eq(s.rank, 3);
    ck_assert_uint_eq(s.dims[0], 3);
    ck_assert_uint_eq(s.dims[1], 2);
    ck_assert_uint_eq(s.dims[2], 1);
    ae_dataset_destroy(ds);
    unlink(p);
}
END_TEST

/* Writes bytes as plain and as gzip and expects rc (and a message) for both. */
static void expect_both(const unsigned char *bytes, size_t len, const char *labels, int rc,
                        const char *msg)
{
    for (int gz = 0; gz <= 1; gz++) {
        const char *p = tmp_path("bad");
        ae_dataset *ds = (ae_dataset *)0x1;
        write_file(p, bytes, len, gz);
        int got = load(p, labels, 0, &ds);
        ck_assert_msg(got == rc, "len %zu gz %d: rc %d, want %d (%s)", len, gz, got, rc,
                      ae_last_error());
        if (msg != NULL)
            assert_msg_has(msg);
        ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
        ck_assert_uint_eq(ae_live_allocations(), 0);
        unlink(p);
    }
}

START_TEST(idx_rejects_bad_magic_and_types)
{
    unsigned char buf[256];
    size_t n = good_images(buf);
    buf[1] = 1;
    expect_both(buf, n, NULL, AE_ERR_FORMAT, "bad magic 00 01 08 03");
    memcpy(buf, "GIF8", 4);
    expect_both(buf, n, NULL, AE_ERR_FORMAT, "not an IDX file");
    good_images(buf);
    buf[2] = 0x0D;
    expect_both(buf, n, NULL, AE_ERR_UNSUPPORTED, "0x0d (float32)");
    buf[2] = 0x42;
    expect_both(buf, n, NULL, AE_ERR_UNSUPPORTED, "0x42");
}
END_TEST

START_TEST(idx_rejects_wrong_ranks_and_zero_dims)
{
    unsigned char buf[256];
    const uint32_t d1[1] = {5}, d5[5] = {1, 1, 1, 1, 1}, dz[3] = {5, 0, 4}, nz[3] = {0, 3, 4};
    size_t n = idx_head(buf, 0x08, 1, d1);
    memset(buf + n, 0, 5);
    expect_both(buf, n + 5, NULL, AE_ERR_FORMAT, "rank 1, expected 2 to 4");
    n = idx_head(buf, 0x08, 5, d5);
    buf[n] = 0;
    expect_both(buf, n + 1, NULL, AE_ERR_UNSUPPORTED, "rank 5");
    n = idx_head(buf, 0x08, 0, d1);
    expect_both(buf, n, NULL, AE_ERR_FORMAT, "rank 0");
    n = idx_head(buf, 0x08, 3, dz);
    expect_both(buf, n, NULL, AE_ERR_FORMAT, "dimension 1");
    n = idx_head(buf, 0x08, 3, nz);
    expect_both(buf, n, NULL, AE_ERR_FORMAT, "dimension 0");
}
END_TEST

START_TEST(idx_rejects_truncated_files)
{
    unsigned char buf[256];
    size_t n = good_images(buf);
    const size_t cuts[] = {0, 1, 3, 4, 9, 15, 16, 17, 16 + 30, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        expect_both(buf, cuts[i], NULL, AE_ERR_FORMAT, "file ends after");
    expect_both(buf, 9, NULL, AE_ERR_FORMAT, "9 of 16 header bytes");
    expect_both(buf, 16 + 30, NULL, AE_ERR_FORMAT, "30 of 60 data bytes");
}
END_TEST

START_TEST(idx_rejects_counts_larger_than_the_data)
{
    unsigned char buf[256];
    size_t n = good_images(buf);
    buf[7] = 10; /* declares 10 images, holds 5 */
    expect_both(buf, n, NULL, AE_ERR_FORMAT, "file ends after 60 of 120 data bytes");
}
END_TEST

START_TEST(idx_rejects_trailing_bytes)
{
    unsigned char buf[256];
    size_t n = good_images(buf);
    buf[n] = 7;
    expect_both(buf, n + 1, NULL, AE_ERR_FORMAT, "after the 60 declared data bytes");
}
END_TEST

START_TEST(idx_rejects_overflowing_dimensions)
{
    unsigned char buf[64];
    const uint32_t prod3[3] = {16, 0xFFFFFFFFu, 0xFFFFFFFFu};
    const uint32_t prod4[4] = {1, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    const uint32_t many[3] = {0x80000000u, 1, 1};
    const uint32_t wide[2] = {1, 0xFFFFFFFFu};
    size_t n = idx_head(buf, 0x08, 3, prod3);
    expect_both(buf, n, NULL, AE_ERR_LIMIT, NULL);
    n = idx_head(buf, 0x08, 4, prod4);
    expect_both(buf, n, NULL, AE_ERR_LIMIT, "overflows");
    n = idx_head(buf, 0x08, 3, many);
    expect_both(buf, n, NULL, AE_ERR_LIMIT, "2147483648 items");
    n = idx_head(buf, 0x08, 2, wide);
    expect_both(buf, n, NULL, AE_ERR_LIMIT, NULL);
}
END_TEST

/* An allocator that remembers its largest request. */
static size_t largest_request, requests;
static void *big_alloc(void *user, size_t size)
{
    (void)user;
    requests++;
    if (size > largest_request)
        largest_request = size;
    return aligned_alloc(64, (size + 63) / 64 * 64);
}
static void big_free(void *user, void *ptr, size_t size)
{
    (void)user, (void)size;
    free(ptr);
}

/* load(p) under big_alloc, requests and largest_request counted from 0;
 * the allocator stays until measured_end() (after destroying *ds). */
static int load_measured(const char *p, unsigned flags, ae_dataset **ds)
{
    ae_allocator a = AE_ALLOCATOR_INIT;
    a.alloc = big_alloc;
    a.free = big_free;
    ck_assert_int_eq(ae_set_allocator(&a), AE_OK);
    largest_request = requests = 0;
    return load(p, NULL, flags, ds);
}

static void measured_end(void)
{
    ck_assert_int_eq(ae_set_allocator(NULL), AE_OK);
}

START_TEST(idx_gzip_declaring_huge_data_allocates_little)
{
    unsigned char buf[64];
    const uint32_t dims[3] = {2000000000u, 1000, 1000}; /* 2e15 bytes declared */
    size_t n = idx_head(buf, 0x08, 3, dims);
    memset(buf + n, 1, 48);
    const char *p = tmp_path("huge.gz");
    write_file(p, buf, n + 48, 1);
    ae_dataset *ds = (ae_dataset *)0x1;
    ck_assert_int_eq(load_measured(p, 0, &ds), AE_ERR_FORMAT);
    measured_end();
    assert_msg_has("file ends after 48 of 2000000000000000 data bytes");
    ck_assert_uint_le(largest_request, (size_t)64 << 20);
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    /* The same header in a plain file fails before any allocation but the
     * reader's input buffer. */
    write_file(p, buf, n + 48, 0);
    ck_assert_int_eq(load_measured(p, 0, &ds), AE_ERR_FORMAT);
    measured_end();
    ck_assert_uint_le(largest_request, 65536 + 1024);
    unlink(p);
}
END_TEST

/* A 2100 x 1000 images file (more elements than the first buffer of a
 * pipe, 2^20), byte i = i % 251; malloc'd, *len bytes. */
static unsigned char *big_images(size_t *len)
{
    const uint32_t dims[2] = {2100, 1000};
    unsigned char *buf = malloc(12 + 2100 * 1000);
    ck_assert_ptr_nonnull(buf);
    size_t n = idx_head(buf, 0x08, 2, dims);
    for (size_t i = 0; i < 2100 * 1000; i++)
        buf[n + i] = (unsigned char)(i % 251);
    *len = n + 2100 * 1000;
    return buf;
}

START_TEST(idx_reads_large_gzip_with_one_allocation)
{
    /* A regular gzip file is verified first, then read into its exact size. */
    size_t total = 2100 * 1000, len;
    unsigned char *buf = big_images(&len);
    const char *p = tmp_path("big.gz");
    write_file(p, buf, len, 1);
    free(buf);
    ae_dataset *ds = NULL;
    ck_assert_int_eq(load_measured(p, AE_IDX_NO_SCALE, &ds), AE_OK);
    /* The input buffer; 2.1e6 floats; the store; the view. */
    ck_assert_uint_eq(requests, 4);
    ck_assert_uint_ge(largest_request, total * sizeof(float));
    ck_assert_uint_lt(largest_request, total * sizeof(float) + 4096);
    ck_assert_uint_eq(ae_dataset_count(ds), 2100);
    size_t wrong = 0;
    for (size_t i = 0; i < 2100; i++) {
        const float *x = ae__dataset_row(ds, i);
        for (size_t j = 0; j < 1000; j++)
            wrong += x[j] != (float)((i * 1000 + j) % 251);
    }
    ck_assert_uint_eq(wrong, 0);
    ck_assert_float_eq(ae_dataset_sample(ds, 2099)[999], (float)((total - 1) % 251));
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
    measured_end();
    unlink(p);
}
END_TEST

/* Reads a file into memory (test helper). */
static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* The good images file gzip-compressed at path p, its bytes in gz. */
static size_t good_images_gz(const char *p, unsigned char *gz, size_t cap)
{
    unsigned char img[256];
    write_file(p, img, good_images(img), 1);
    return slurp(p, gz, cap);
}

/* Writes len bytes (gzip-compressed when gz) into a FIFO from a child. */
static pid_t feed_fifo(const char *fifo, const unsigned char *bytes, size_t len, int gz)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        write_file(fifo, bytes, len, gz);
        _exit(0);
    }
    return pid;
}

START_TEST(idx_reads_a_pipe_by_growing)
{
    size_t total = 2100 * 1000, len;
    unsigned char *buf = big_images(&len);
    const char *p = tmp_path("pipe");
    for (int gz = 0; gz <= 1; gz++) {
        unlink(p);
        ck_assert_int_eq(mkfifo(p, 0600), 0);
        pid_t pid = feed_fifo(p, buf, len, gz);
        ae_dataset *ds = NULL;
        ck_assert_int_eq(load_measured(p, AE_IDX_NO_SCALE, &ds), AE_OK);
        /* The input buffer; 2^20, 2^21, then 2.1e6 floats; the store; the view. */
        ck_assert_uint_eq(requests, 6);
        ck_assert_float_eq(ae_dataset_sample(ds, 2099)[999], (float)((total - 1) % 251));
        ae_dataset_destroy(ds);
        measured_end();
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    }
    free(buf);
    unlink(p);
}
END_TEST

START_TEST(idx_gzip_trailing_bytes_follow_the_plain_rule)
{
    /* A valid gzip file followed by garbage was accepted (zlib's gzread
     * skips what follows a gzip stream), the same bytes after a plain file
     * refused. Now both are refused; a second gzip member is still read. */
    unsigned char img[256], gz[1024];
    size_t ni = good_images(img);
    const char *p = tmp_path("trail.gz");
    size_t ng = good_images_gz(p, gz, sizeof gz);
    memcpy(gz + ng, "GARBAGE!", 8);
    ae_dataset *ds = (ae_dataset *)0x1;
    const size_t extra[] = {1, 2, 8};
    for (size_t i = 0; i < 3; i++) {
        write_file(p, gz, ng + extra[i], 0);
        ck_assert_int_eq(load(p, NULL, 0, &ds), AE_ERR_FORMAT);
        assert_msg_has("unexpected bytes after the end of the gzip stream");
    }
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    /* Two members: the data split across them loads; an empty second
     * member is fine; a second member with more data is refused. */
    const char *q = tmp_path("part.gz");
    unsigned char two[1024];
    write_file(q, img, 30, 1);
    size_t n1 = slurp(q, two, sizeof two);
    write_file(q, img + 30, ni - 30, 1);
    size_t n2 = slurp(q, two + n1, sizeof two - n1);
    write_file(p, two, n1 + n2, 0);
    ck_assert_int_eq(load(p, NULL, AE_IDX_NO_SCALE, &ds), AE_OK);
    check_good_dataset(ds, 0);
    ae_dataset_destroy(ds);
    write_file(q, img, 0, 1);
    size_t n3 = slurp(q, two + n1 + n2, sizeof two - n1 - n2);
    write_file(p, two, n1 + n2 + n3, 0);
    ck_assert_int_eq(load(p, NULL, AE_IDX_NO_SCALE, &ds), AE_OK);
    ae_dataset_destroy(ds);
    write_file(q, img, 1, 1);
    n3 = slurp(q, two + n1 + n2, sizeof two - n1 - n2);
    write_file(p, two, n1 + n2 + n3, 0);
    ck_assert_int_eq(load(p, NULL, AE_IDX_NO_SCALE, &ds), AE_ERR_FORMAT);
    assert_msg_has("unexpected bytes (1 or more) after the 60 declared data bytes");
    unlink(p);
    unlink(q);
}
END_TEST

START_TEST(idx_a_small_gzip_inflating_to_much_reserves_nothing)
{
    /* ~65 KB of gzip inflating to 64 MiB of zeros, under a header that
     * declares more: refused as truncated after an inflate, without
     * reserving memory for the data (before: 384 MiB). */
    const size_t have = (size_t)64 << 20;
    const uint32_t dims[2] = {65 << 10, 1024}; /* 65 Mi declared */
    unsigned char *buf = calloc(1, 12 + have);
    ck_assert_ptr_nonnull(buf);
    size_t n = idx_head(buf, 0x08, 2, dims);
    const char *p = tmp_path("bomb.gz");
    write_file(p, buf, n + have, 1);
    free(buf);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_lt(st.st_size, 100000);
    ae_dataset *ds = (ae_dataset *)0x1;
    ck_assert_int_eq(load_measured(p, 0, &ds), AE_ERR_FORMAT);
    measured_end();
    assert_msg_has("file ends after 67108864 of 68157440 data bytes");
    ck_assert_uint_le(largest_request, 65536 + 1024);
    unlink(p);
}
END_TEST

START_TEST(idx_max_bytes_limits_the_dataset)
{
    unsigned char img[256], lab[64];
    size_t ni = good_images(img), nl = good_labels(lab, IMG_N);
    const char *ip = tmp_path("img.gz"), *lp = tmp_path("lab");
    write_file(ip, img, ni, 1);
    write_file(lp, lab, nl, 0);
    ae_idx_options o = AE_IDX_OPTIONS_INIT;
    ae_dataset *ds = (ae_dataset *)0x1;
    o.max_bytes = IMG_DATA * sizeof(float) + IMG_N * sizeof(int32_t) - 1;
    ck_assert_int_eq(ae_dataset_load_idx_opts(&ds, ip, lp, &o), AE_ERR_LIMIT);
    assert_msg_has("the limit (max_bytes) is 259");
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    o.max_bytes++;
    o.flags = AE_IDX_NO_SCALE;
    ck_assert_int_eq(ae_dataset_load_idx_opts(&ds, ip, lp, &o), AE_OK);
    check_good_dataset(ds, 0);
    ae_dataset_destroy(ds);
    ck_assert_int_eq(ae_dataset_load_idx_opts(&ds, ip, NULL, NULL), AE_OK);
    check_good_dataset(ds, 1);
    ae_dataset_destroy(ds);
    o.flags = 7;
    ck_assert_int_eq(ae_dataset_load_idx_opts(&ds, ip, NULL, &o), AE_ERR_INVALID);
    o = (ae_idx_options)AE_IDX_OPTIONS_INIT;
    o.struct_size = 4;
    ck_assert_int_eq(ae_dataset_load_idx_opts(&ds, ip, NULL, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_load_idx_opts(NULL, ip, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_load_idx_opts_v(&ds, ip, NULL, NULL,
                                                (AE_VERSION_MAJOR + 1) * 10000u),
                     AE_ERR_VERSION);
    unlink(ip);
    unlink(lp);
}
END_TEST

START_TEST(idx_rejects_damaged_gzip_streams)
{
    unsigned char gz[512];
    const char *p = tmp_path("damaged.gz");
    size_t ng = good_images_gz(p, gz, sizeof gz);
    ck_assert_uint_gt(ng, 20);
    ae_dataset *ds = (ae_dataset *)0x1;
    /* Cut inside the compressed stream, at several places. */
    const size_t cuts[] = {12, 20, ng / 2, ng - 8, ng - 5, ng - 4, ng - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t cut = cuts[i];
        write_file(p, gz, cut, 0);
        int rc = load(p, NULL, 0, &ds);
        ck_assert_msg(rc == AE_ERR_FORMAT, "cut %zu: rc %d (%s)", cut, rc, ae_last_error());
    }
    /* A wrong CRC in the trailer. */
    gz[ng - 6] ^= 0x55;
    write_file(p, gz, ng, 0);
    ck_assert_int_eq(load(p, NULL, 0, &ds), AE_ERR_FORMAT);
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    ck_assert_uint_eq(ae_live_allocations(), 0);
    unlink(p);
}
END_TEST

START_TEST(idx_checks_the_labels_file)
{
    unsigned char img[256], lab[64];
    size_t ni = good_images(img);
    const char *ip = tmp_path("img"), *lp = tmp_path("lab");
    ae_dataset *ds = (ae_dataset *)0x1;
    write_file(ip, img, ni, 0);
    for (int gz = 0; gz <= 1; gz++) {
        size_t nl = good_labels(lab, IMG_N - 1);
        write_file(lp, lab, nl, gz);
        ck_assert_int_eq(load(ip, lp, 0, &ds), AE_ERR_FORMAT);
        assert_msg_has("images file has 5 items, labels file has 4");
        nl = good_labels(lab, IMG_N);
        write_file(lp, lab, nl - 1, gz);
        ck_assert_int_eq(load(ip, lp, 0, &ds), AE_ERR_FORMAT);
        assert_msg_has("file ends after 4 of 5 data bytes");
        lab[nl] = 0;
        write_file(lp, lab, nl + 1, gz);
        ck_assert_int_eq(load(ip, lp, 0, &ds), AE_ERR_FORMAT);
        assert_msg_has("unexpected bytes");
        lab[2] = 0x0C;
        write_file(lp, lab, nl, gz);
        ck_assert_int_eq(load(ip, lp, 0, &ds), AE_ERR_UNSUPPORTED);
        /* An images file where labels belong. */
        write_file(lp, img, ni, gz);
        ck_assert_int_eq(load(ip, lp, 0, &ds), AE_ERR_FORMAT);
        assert_msg_has("labels file has rank 3, expected 1");
    }
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    ck_assert_uint_eq(ae_live_allocations(), 0);
    unlink(ip);
    unlink(lp);
}
END_TEST

START_TEST(idx_reports_io_errors_and_bad_arguments)
{
    unsigned char img[256];
    size_t ni = good_images(img);
    const char *ip = tmp_path("img");
    ae_dataset *ds = (ae_dataset *)0x1;
    write_file(ip, img, ni, 0);
    ck_assert_int_eq(load(tmp_path("no-such-file"), NULL, 0, &ds), AE_ERR_IO);
    assert_msg_has("no-such-file");
    ck_assert_int_eq(load(ip, tmp_path("no-labels"), 0, &ds), AE_ERR_IO);
    assert_msg_has("no-labels");
    ck_assert_int_eq(load(test_tmpdir(), NULL, 0, &ds), AE_ERR_IO);
    ck_assert_int_eq(ae_dataset_load_idx(NULL, ip, NULL, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_load_idx(&ds, NULL, NULL, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_load_idx(&ds, ip, NULL, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_dataset_load_idx_v(&ds, ip, NULL, 0, (AE_VERSION_MAJOR + 1) * 10000u),
                     AE_ERR_VERSION);
    ck_assert_ptr_eq(ds, (ae_dataset *)0x1);
    ck_assert_uint_eq(ae_live_allocations(), 0);
    unlink(ip);
}
END_TEST

static const char *g_nomem_images, *g_nomem_labels;

static int op_load(ae_dataset *base, ae_dataset **o1, ae_dataset **o2)
{
    (void)base, (void)o2;
    return ae_dataset_load_idx(o1, g_nomem_images, g_nomem_labels, 0);
}

START_TEST(idx_allocation_failures_leak_nothing)
{
    unsigned char img[256], lab[64];
    size_t ni = good_images(img), nl = good_labels(lab, IMG_N);
    for (int gz = 0; gz <= 1; gz++) {
        g_nomem_images = tmp_path("img");
        g_nomem_labels = tmp_path("lab");
        write_file(g_nomem_images, img, ni, gz);
        write_file(g_nomem_labels, lab, nl, gz);
        run_nomem(op_load, 0);
    }
    /* The growing path: a gzip file bigger than the first buffer. */
    const uint32_t dims[2] = {1100, 1000};
    unsigned char *big = calloc(1, 12 + 1100 * 1000);
    ck_assert_ptr_nonnull(big);
    size_t n = idx_head(big, 0x08, 2, dims);
    write_file(g_nomem_images, big, n + 1100 * 1000, 1);
    free(big);
    g_nomem_labels = NULL;
    run_nomem(op_load, 0);
    unlink(tmp_path("img"));
    unlink(tmp_path("lab"));
}
END_TEST

#define FASHION "/usr/share/datasets/fashion-mnist/"

START_TEST(idx_loads_fashion_mnist_test_set)
{
    const char *images = FASHION "t10k-images-idx3-ubyte.gz";
    const char *labels = FASHION "t10k-labels-idx1-ubyte.gz";
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0)
        return; /* not installed: nothing to check */
    ae_dataset *ds = NULL;
    ck_assert_int_eq(ae_dataset_load_idx(&ds, images, labels, AE_IDX_SCALE), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(ds), 10000);
    ae_shape s, want = {3, {1, 28, 28, 0}};
    ck_assert_int_eq(ae_dataset_shape(ds, &s), AE_OK);
    ck_assert(ae__shape_equal(&s, &want));
    /* Count, don't assert, per value: each Check assertion costs a write. */
    int counts[10] = {0};
    size_t outside = 0, bad_labels = 0;
    float hi = 0.0f;
    for (size_t i = 0; i < 10000; i++) {
        const float *x = ae__dataset_row(ds, i);
        for (size_t j = 0; j < 784; j++) {
            outside += !(x[j] >= 0.0f && x[j] <= 1.0f);
            hi = x[j] > hi ? x[j] : hi;
        }
        int32_t label = -1;
        if (ae_dataset_label(ds, i, &label) != AE_OK || label < 0 || label > 9)
            bad_labels++;
        else
            counts[label]++;
    }
    ck_assert_uint_eq(outside, 0);
    ck_assert_uint_eq(bad_labels, 0);
    ck_assert_float_eq(hi, 1.0f);
    for (int c = 0; c < 10; c++)
        ck_assert_int_eq(counts[c], 1000); /* the test set is balanced */
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

Suite *ae_dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("memory");
    tcase_add_test(tc, from_memory_copy_does_not_see_later_changes);
    tcase_add_test(tc, from_memory_borrow_uses_the_callers_arrays);
    tcase_add_test(tc, from_memory_rejects_bad_arguments);
    tcase_add_test(tc, queries_on_null_and_out_of_range);
    tcase_add_test(tc, unlabelled_dataset_refuses_label_requests);
    tcase_add_test(tc, get_batch_copies_samples_and_labels);
    tcase_add_test(tc, get_batch_rejects_bad_ranges);
    tcase_add_test(tc, subset_shares_data_and_outlives_its_parent);
    tcase_add_test(tc, subset_of_a_shuffled_view_keeps_its_order);
    tcase_add_test(tc, subset_rejects_bad_ranges);
    tcase_add_test(tc, select_follows_the_indices_with_repeats);
    tcase_add_test(tc, select_rejects_bad_indices);
    tcase_add_test(tc, filter_label_keeps_matching_samples_in_order);
    tcase_add_test(tc, filter_label_reports_missing_labels);
    tcase_add_test(tc, split_partitions_by_rounded_fraction);
    tcase_add_test(tc, split_differs_by_seed);
    tcase_add_test(tc, split_rejects_bad_fractions);
    tcase_add_test(tc, shuffle_is_a_seeded_permutation);
    tcase_add_test(tc, shuffle_order_is_pinned);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);

    TCase *idx = tcase_create("idx");
    tcase_set_timeout(idx, 30);
    tcase_add_test(idx, idx_loads_plain_and_gzip_files);
    tcase_add_test(idx, idx_maps_ranks_to_sample_shapes);
    tcase_add_test(idx, idx_rejects_bad_magic_and_types);
    tcase_add_test(idx, idx_rejects_wrong_ranks_and_zero_dims);
    tcase_add_test(idx, idx_rejects_truncated_files);
    tcase_add_test(idx, idx_rejects_counts_larger_than_the_data);
    tcase_add_test(idx, idx_rejects_trailing_bytes);
    tcase_add_test(idx, idx_rejects_overflowing_dimensions);
    tcase_add_test(idx, idx_gzip_declaring_huge_data_allocates_little);
    tcase_add_test(idx, idx_reads_large_gzip_with_one_allocation);
    tcase_add_test(idx, idx_reads_a_pipe_by_growing);
    tcase_add_test(idx, idx_gzip_trailing_bytes_follow_the_plain_rule);
    tcase_add_test(idx, idx_a_small_gzip_inflating_to_much_reserves_nothing);
    tcase_add_test(idx, idx_max_bytes_limits_the_dataset);
    tcase_add_test(idx, idx_rejects_damaged_gzip_streams);
    tcase_add_test(idx, idx_checks_the_labels_file);
    tcase_add_test(idx, idx_reports_io_errors_and_bad_arguments);
    tcase_add_test(idx, idx_allocation_failures_leak_nothing);
    tcase_add_test(idx, idx_loads_fashion_mnist_test_set);
    suite_add_tcase(s, idx);
    return s;
}
