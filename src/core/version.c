/* SPDX-License-Identifier: MIT */
/* version.c - run-time version and the header/library check. */
#include "core.h"

unsigned ae_version(void) { return AE_VERSION_NUMBER; }

const char *ae_version_string(void) { return AE_VERSION_STRING; }

int ae__check_header(unsigned header_version, const char *what)
{
    if (header_version / 10000 != AE_VERSION_MAJOR)
        return ae__error(AE_ERR_VERSION,
                         "%s: program compiled against libae headers %u.%u.%u but linked"
                         " with library %s (major versions differ)",
                         what, header_version / 10000, header_version / 100 % 100,
                         header_version % 100, AE_VERSION_STRING);
    return AE_OK;
}
