#!/bin/sh
# SPDX-License-Identifier: MIT
# check-headers.sh - every public header compiles on its own (self-contained),
# twice in a row (include guard), as C11 and as C++11, with
# -Wall -Wextra -Wpedantic -Werror. Compile only (-fsyntax-only).
# Usage: scripts/check-headers.sh [INCLUDE_DIR]   (default: include)
set -eu

inc=${1:-include}
cc=${CC:-cc}
cxx=${CXX:-c++}
flags="-Wall -Wextra -Wpedantic -Werror -fsyntax-only -I$inc"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
fails=0
for h in $(cd "$inc" && find . -name '*.h' | sed 's|^\./||' | LC_ALL=C sort); do
    printf '#include <%s>\n#include <%s>\n' "$h" "$h" >"$tmp/t.c"
    # shellcheck disable=SC2086 # $flags is a list of options
    if ! "$cc" -std=c11 $flags -x c "$tmp/t.c" 2>"$tmp/err"; then
        echo "check-headers: FAIL: $h does not compile alone as C11:" >&2
        cat "$tmp/err" >&2
        fails=$((fails + 1))
    fi
    # shellcheck disable=SC2086
    if ! "$cxx" -std=c++11 $flags -x c++ "$tmp/t.c" 2>"$tmp/err"; then
        echo "check-headers: FAIL: $h does not compile alone as C++11:" >&2
        cat "$tmp/err" >&2
        fails=$((fails + 1))
    fi
    n=$((n + 1))
done

if [ "$n" -eq 0 ]; then
    echo "check-headers: no headers under $inc" >&2
    exit 1
fi
if [ "$fails" -ne 0 ]; then
    echo "check-headers: $fails failure(s)" >&2
    exit 1
fi
echo "check-headers: OK: $n headers compile alone as C11 and C++11 (-Wall -Wextra -Wpedantic -Werror)"
