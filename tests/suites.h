/* suites.h - one line per Check suite; check_main.c runs them all.
 * Each tests/check_<module>.c defines Suite *ae_<module>_suite(void). */
AE_SUITE(core)
AE_SUITE(optimizer)
AE_SUITE(dataset)
