/* SPDX-License-Identifier: MIT */
/* decoder.c - the public decoder handle: a net plus ownership rules,
 * stamped from handle.h. */
#include "ae/decoder.h"
#include "nn.h"

#define AE__H decoder
#define AE__H_INPUT latent
#define AE__H_IN_SHAPE latent_shape
#define AE__H_OUT_SHAPE output_shape
#define AE__H_OUT_SIZE output_size
#define AE__H_RUN decode
#define AE__H_X "z"
#define AE__H_Y "x"
#include "handle.h"
