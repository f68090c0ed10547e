/* SPDX-License-Identifier: MIT */
/* encoder.c - the public encoder handle: a net plus ownership rules,
 * stamped from handle.h. */
#include "ae/encoder.h"
#include "nn.h"

#define AE__H encoder
#define AE__H_INPUT input
#define AE__H_IN_SHAPE input_shape
#define AE__H_OUT_SHAPE latent_shape
#define AE__H_OUT_SIZE latent_size
#define AE__H_RUN encode
#define AE__H_X "x"
#define AE__H_Y "z"
#include "handle.h"
