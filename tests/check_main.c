/* SPDX-License-Identifier: MIT */
/* check_main.c - runs every libae Check suite (listed in suites.h).
 * CK_RUN_SUITE=<name> runs one suite; CK_FORK=no runs in-process (valgrind). */
#include <check.h>
#include <stdlib.h>

#define AE_SUITE(name) Suite *ae_##name##_suite(void);
#include "suites.h"
#undef AE_SUITE

int main(void)
{
    SRunner *runner = srunner_create(NULL);
#define AE_SUITE(name) srunner_add_suite(runner, ae_##name##_suite());
#include "suites.h"
#undef AE_SUITE
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
