/* SPDX-License-Identifier: MIT */
/*
 * data.h - loads the Fashion-MNIST (or MNIST) IDX files the examples use.
 */
#ifndef EXAMPLES_DATA_H
#define EXAMPLES_DATA_H

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

#endif /* EXAMPLES_DATA_H */
