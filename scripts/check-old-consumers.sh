#!/bin/sh
# SPDX-License-Identifier: MIT
# check-old-consumers.sh - programs built against older headers of this
# major version run against the new library (the promise of
# docs/stability.md: a program built against libae 1.x keeps working with
# every later 1.x, fields appended to versioned structs included).
# Usage: scripts/check-old-consumers.sh LIBDIR   (from the top of the tree)
#   LIBDIR holds the shared library libae.so to test.
# For every frozen header snapshot abi/include-X.Y.Z.tar.gz (a top-level
# include/ folder with ae.h and ae/, written at release time) whose major X
# is AE_VERSION_MAJOR of include/ae/common.h: extracts it, compiles
# tests/abi/consumer_X_Y.c against those headers (C11, warnings are errors),
# links it with LIBDIR/libae.so (rpath LIBDIR), runs it and requires exit
# status 0. A snapshot without its consumer_X_Y.c is skipped with a note.
# Fails when a consumer does not build or run, when it loads libae from
# anywhere but LIBDIR, or when there is no snapshot of the current major.
# Settings (environment): CC (cc), BLAS_PC (openblas), INC (include),
#   SNAPSHOTS (the snapshot files, space-separated; default
#   abi/include-*.tar.gz), CONSUMER_DIR (tests/abi).
set -eu

libdir=${1:?usage: $0 LIBDIR}
cc=${CC:-cc}
blas_pc=${BLAS_PC:-openblas}
inc=${INC:-include}
consumer_dir=${CONSUMER_DIR:-tests/abi}
me=check-old-consumers

fail() {
    echo "$me: FAIL: $*" >&2
    exit 1
}

[ -d "$libdir" ] || fail "$libdir is not a directory"
libdir=$(cd "$libdir" && pwd)
so=$libdir/libae.so
[ -e "$so" ] || fail "$so does not exist (make lib)"
major=$(sed -n 's/^#define AE_VERSION_MAJOR \([0-9]*\).*/\1/p' "$inc/ae/common.h")
[ -n "$major" ] || fail "no AE_VERSION_MAJOR in $inc/ae/common.h"
if [ -n "${SNAPSHOTS:-}" ]; then
    snapshots=$SNAPSHOTS
else
    snapshots=$(ls abi/include-*.tar.gz 2>/dev/null || true)
fi
pkg_libs="$(pkg-config --libs "$blas_pc" zlib) -lm -lpthread" ||
    fail "pkg-config --libs $blas_pc zlib failed"
warn="-std=c11 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The version of the library in LIBDIR, as the library says it.
printf '#include <stdio.h>\n#include <ae.h>\nint main(void) { puts(ae_version_string()); return 0; }\n' \
    >"$tmp/version.c"
# shellcheck disable=SC2086 # $pkg_libs is a list of options
"$cc" -std=c11 -I"$inc" -o "$tmp/version" "$tmp/version.c" "$so" -Wl,-rpath,"$libdir" $pkg_libs ||
    fail "cannot build a program against $so"
libversion=$("$tmp/version") || fail "a program linked with $so does not run"

# uses_libdir EXE: libae as the dynamic loader resolves it for EXE is LIBDIR's.
uses_libdir() {
    command -v ldd >/dev/null 2>&1 || return 0
    got=$(ldd "$1" | sed -n 's/^[[:space:]]*libae\.so[^ ]* => \([^ ]*\) .*/\1/p')
    [ -n "$got" ] && [ "$(cd "$(dirname "$got")" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ]
}

found=0
fails=0
for snap in $snapshots; do
    name=$(basename "$snap")
    version=$(printf '%s\n' "$name" | sed -n 's/^include-\([0-9]*\.[0-9]*\.[0-9]*\)\.tar\.gz$/\1/p')
    if [ -z "$version" ]; then
        echo "$me: note: $snap is not named include-X.Y.Z.tar.gz; skipped"
        continue
    fi
    vmajor=${version%%.*}
    rest=${version#*.}
    vminor=${rest%%.*}
    [ "$vmajor" = "$major" ] || continue
    found=$((found + 1))
    [ -f "$snap" ] || { echo "$me: FAIL: $snap does not exist" >&2; fails=$((fails + 1)); continue; }
    src=$consumer_dir/consumer_${vmajor}_${vminor}.c
    if [ ! -f "$src" ]; then
        echo "$me: note: no $src for the $version headers; $snap skipped"
        continue
    fi
    d=$tmp/$version
    mkdir -p "$d"
    if ! tar -xzf "$snap" -C "$d" || [ ! -f "$d/include/ae.h" ]; then
        echo "$me: FAIL: $snap does not hold include/ae.h" >&2
        fails=$((fails + 1))
        continue
    fi
    exe=$d/consumer
    # shellcheck disable=SC2086
    if ! "$cc" $warn -O2 -g -I"$d/include" -o "$exe" "$src" "$so" -Wl,-rpath,"$libdir" $pkg_libs; then
        echo "$me: FAIL: $src does not build against the $version headers" >&2
        fails=$((fails + 1))
        continue
    fi
    if ! uses_libdir "$exe"; then
        echo "$me: FAIL: $exe does not load libae from $libdir (LD_LIBRARY_PATH?):" >&2
        ldd "$exe" | grep libae >&2 || true
        fails=$((fails + 1))
        continue
    fi
    if ! "$exe"; then
        echo "$me: FAIL: consumer built against $version headers fails against libae $libversion" >&2
        fails=$((fails + 1))
        continue
    fi
    echo "$me: OK: consumer built against $version headers runs against libae $libversion"
done

if [ "$found" -eq 0 ]; then
    fail "no header snapshot of major $major (abi/include-$major.*.tar.gz): create it with make abi-baseline at release"
fi
if [ "$fails" -ne 0 ]; then
    echo "$me: $fails failure(s)" >&2
    exit 1
fi
