/* SPDX-License-Identifier: MIT */
/*
 * data.c - IDX dataset loading for the example programs. See data.h.
 */
#include "data.h"

#include <stdlib.h>
#include <string.h>

#include <ae/sys/layer.h> /* ae_error_set() */

#include "cli.h"

/* "1x28x28" */
static void shape_text(const ae_shape *s, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < s->rank && i < AE_MAX_RANK && n < size; i++) {
        int w = snprintf(buf + n, size - n, i == 0 ? "%u" : "x%u", (unsigned)s->dims[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int load_part(const char *dir, const char *part, int labels, ae_dataset **out)
{
    static const char images_suffix[] = "-images-idx3-ubyte.gz";
    static const char labels_suffix[] = "-labels-idx1-ubyte.gz";
    char images_name[64], labels_name[64];
    snprintf(images_name, sizeof images_name, "%s%s", part, images_suffix);
    snprintf(labels_name, sizeof labels_name, "%s%s", part, labels_suffix);

    int rc = AE_ERR_NOMEM;
    char *images = cli_path_join(dir, images_name);
    char *labels_path = labels ? cli_path_join(dir, labels_name) : NULL;
    if (images == NULL || (labels && labels_path == NULL))
        rc = ae_error_set(AE_ERR_NOMEM, "cannot build the paths of %s", images_name);
    else
        rc = ae_dataset_load_idx(out, images, labels_path, AE_IDX_SCALE);
    free(images);
    free(labels_path);
    return rc;
}

int data_load_mnist_dir(const char *dir, int labels, ae_dataset **train, ae_dataset **test)
{
    ae_dataset *tr = NULL, *te = NULL;
    ae_shape s1, s2;
    int rc;
    if ((rc = load_part(dir, "train", labels, &tr)) < 0 ||
        (rc = load_part(dir, "t10k", labels, &te)) < 0 ||
        (rc = ae_dataset_shape(tr, &s1)) < 0 || (rc = ae_dataset_shape(te, &s2)) < 0)
        goto fail;
    if (s1.rank != s2.rank || memcmp(s1.dims, s2.dims, sizeof s1.dims) != 0) {
        char a[64], b[64];
        shape_text(&s1, a, sizeof a);
        shape_text(&s2, b, sizeof b);
        rc = ae_error_set(AE_ERR_SHAPE, "%s: training samples are %s, test samples %s", dir, a, b);
        goto fail;
    }
    *train = tr;
    *test = te;
    return AE_OK;
fail:
    ae_dataset_destroy(tr);
    ae_dataset_destroy(te);
    return rc;
}

int data_load_mnist_images(const char *dir, int labels, ae_dataset **train, ae_dataset **test,
                           uint32_t *h, uint32_t *w)
{
    ae_dataset *tr = NULL, *te = NULL;
    ae_shape img;
    int rc = data_load_mnist_dir(dir, labels, &tr, &te);
    if (rc == AE_OK && (rc = ae_dataset_shape(tr, &img)) == AE_OK && (img.rank != 3 || img.dims[0] != 1))
        rc = ae_error_set(AE_ERR_SHAPE, "%s: expected greyscale images (N x H x W IDX files)", dir);
    if (rc < 0) {
        ae_dataset_destroy(tr);
        ae_dataset_destroy(te);
        return rc;
    }
    *train = tr;
    *test = te;
    *h = img.dims[1];
    *w = img.dims[2];
    return AE_OK;
}
