/* SPDX-License-Identifier: MIT */
/* suites.h - one line per Check suite; check_main.c runs them all.
 * Each tests/check_<module>.c defines Suite *ae_<module>_suite(void). */
AE_SUITE(core)
AE_SUITE(optimizer)
AE_SUITE(dataset)
AE_SUITE(layers)
AE_SUITE(pca)
AE_SUITE(latent)
AE_SUITE(model)
AE_SUITE(train)
AE_SUITE(conv)
AE_SUITE(io)
AE_SUITE(metrics)
AE_SUITE(anomaly)
AE_SUITE(csv)
AE_SUITE(threads)
AE_SUITE(scaler)
AE_SUITE(search)
