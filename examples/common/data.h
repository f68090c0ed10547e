/* SPDX-License-Identifier: MIT */
/*
 * data.h - loads the Fashion-MNIST (or MNIST) IDX files the examples use.
 */
#ifndef EXAMPLES_DATA_H
#define EXAMPLES_DATA_H

#include <stdint.h>

#include <ae.h>

/* Where Debian's dataset package puts Fashion-MNIST. */
#define DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/*
 * Loads DIR/train-images-idx3-ubyte.gz into @p train and
 * DIR/t10k-images-idx3-ubyte.gz into @p test, pixels scaled to [0, 1].
 * With @p labels set, also the matching *-labels-idx1-ubyte.gz files (then
 * they must exist). Both datasets must have the same sample shape.
 * Returns AE_OK or a negative AE_ERR_* code with ae_last_error() set; on
 * failure neither output is written.
 */
int data_load_mnist_dir(const char *dir, int labels, ae_dataset **train,
                        ae_dataset **test);

/*
 * data_load_mnist_dir(), then the check every image example makes: the
 * samples are greyscale images (N x H x W IDX files), whose height and
 * width go to @p h and @p w. Returns AE_OK, or a negative AE_ERR_* code with
 * ae_last_error() set (AE_ERR_SHAPE naming @p dir for other files); on
 * failure no output is written.
 */
int data_load_mnist_images(const char *dir, int labels, ae_dataset **train,
                           ae_dataset **test, uint32_t *h, uint32_t *w);

#endif /* EXAMPLES_DATA_H */
