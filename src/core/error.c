/* SPDX-License-Identifier: MIT */
/*
 * error.c - status strings (one switch, so each string exists once) and the
 * thread-local detail message.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define AE_MESSAGE_MAX 512

static _Thread_local char last_message[AE_MESSAGE_MAX];

const char *ae_strerror(int status)
{
    switch (status) {
    case AE_OK: return "success";
    case AE_ERR_INVALID: return "invalid argument";
    case AE_ERR_NOMEM: return "out of memory";
    case AE_ERR_SHAPE: return "shape mismatch";
    case AE_ERR_IO: return "input/output error";
    case AE_ERR_FORMAT: return "malformed data";
    case AE_ERR_VERSION: return "version mismatch";
    case AE_ERR_NOT_FOUND: return "not found";
    case AE_ERR_UNSUPPORTED: return "operation not supported";
    case AE_ERR_NUMERIC: return "numeric overflow (NaN or infinity)";
    case AE_ERR_CANCELLED: return "cancelled by a callback";
    case AE_ERR_STATE: return "not allowed in the current state";
    case AE_ERR_LIMIT: return "limit exceeded";
    case AE_ERR_CHECKSUM: return "checksum mismatch";
    case AE_ERR_EXISTS: return "already exists";
    default: return "unknown error";
    }
}

const char *ae_last_error(void) { return last_message; }

const char *ae__errno_text(int err, char buf[AE__ERRNO_MAX])
{
    if (strerror_r(err, buf, AE__ERRNO_MAX) != 0)
        snprintf(buf, AE__ERRNO_MAX, "error %d", err);
    return buf;
}

void ae_clear_error(void) { last_message[0] = '\0'; }

int ae__verror(int status, const char *format, va_list ap)
{
    vsnprintf(last_message, sizeof last_message, format, ap);
    return status;
}

int ae__error(int status, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    ae__verror(status, format, ap);
    va_end(ap);
    return status;
}

int ae__null_arg(const char *who, const char *names, const void *const *args, size_t n)
{
    size_t i = 0;
    while (i < n && args[i] != NULL)
        i++;
    if (i == n)
        return ae__error(AE_ERR_INVALID, "%s: an argument is NULL", who);
    /* names is the macro's argument list as written: "a, b, c" */
    for (size_t k = 0; k < i && names != NULL; k++) {
        names = strchr(names, ',');
        if (names != NULL)
            names++;
    }
    if (names == NULL)
        return ae__error(AE_ERR_INVALID, "%s: argument %zu is NULL", who, i + 1);
    names += strspn(names, " \t\n");
    int len = (int)strcspn(names, ", \t\n");
    return ae__error(AE_ERR_INVALID, "%s: %.*s is NULL", who, len, names);
}

int ae_error_set(int status, const char *format, ...)
{
    va_list ap;
    if (format == NULL) {
        last_message[0] = '\0';
        return status;
    }
    va_start(ap, format);
    ae__verror(status, format, ap);
    va_end(ap);
    return status;
}

int ae__check_struct(const void *s, size_t user_size, size_t min_size,
                     size_t our_size, const char *what)
{
    if (user_size < min_size)
        return ae__error(AE_ERR_INVALID,
                         "%s: struct_size %zu is smaller than the oldest layout (%zu bytes);"
                         " initialize it with its _INIT macro",
                         what, user_size, min_size);
    /* No 1.x struct grows by kilobytes: a size that far out is garbage
     * (an uninitialized struct), and reading its "tail" would run past the
     * caller's object. */
    if (user_size > our_size + AE__STRUCT_GROWTH_MAX)
        return ae__error(AE_ERR_INVALID,
                         "%s: struct_size %zu is not the size of any version of it (this "
                         "library's is %zu bytes); initialize it with its _INIT macro",
                         what, user_size, our_size);
    if (user_size > our_size) {
        const unsigned char *tail = (const unsigned char *)s + our_size;
        for (size_t i = 0; i < user_size - our_size; i++)
            if (tail[i] != 0)
                return ae__error(AE_ERR_VERSION,
                                 "%s: struct_size %zu is newer than this library's %zu bytes"
                                 " and sets fields it does not know",
                                 what, user_size, our_size);
    }
    return AE_OK;
}

int ae__fill_struct(void *out, const void *src, size_t ours, size_t oldest, const char *what)
{
    uint32_t user;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    memcpy(&user, out, sizeof user);
    if (user < oldest)
        return ae__error(AE_ERR_INVALID,
                         "%s: out->struct_size is %u, smaller than the oldest layout (%zu bytes);"
                         " initialize it with its _INIT macro",
                         what, (unsigned)user, oldest);
    uint32_t n = user < ours ? user : (uint32_t)ours;
    memcpy(out, src, n);
    memcpy(out, &n, sizeof n);
    return AE_OK;
}

int ae__take_struct(void *dst, const void *src, size_t oldest, size_t ours, const char *what)
{
    uint32_t user;
    memcpy(&user, src, sizeof user);
    int rc = ae__check_struct(src, user, oldest, ours, what);
    if (rc < 0)
        return rc;
    memcpy(dst, src, user < ours ? user : ours);
    uint32_t n = (uint32_t)ours;
    memcpy(dst, &n, sizeof n);
    return AE_OK;
}
