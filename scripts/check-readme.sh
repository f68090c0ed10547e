#!/bin/sh
# SPDX-License-Identifier: MIT
# check-readme.sh - the program README.md shows (its first ```c block) is
# compiled with the project's warnings against the freshly built library and
# run: it trains the Fashion-MNIST autoencoder for 10 epochs and saves it. It
# must exit 0 and leave a model file that ae-inspect accepts.
# Usage: scripts/check-readme.sh O   (the build folder; settings: CC BLAS_PC)
set -eu

o=${1:?usage: $0 O}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on { print }' README.md >"$tmp/readme.c"
[ -s "$tmp/readme.c" ] || { echo "check-readme: FAIL: README.md has no \`\`\`c block" >&2; exit 1; }
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude -o "$tmp/readme" "$tmp/readme.c" \
    "$o/lib/libae.a" $(pkg-config --libs "${BLAS_PC:-openblas}" zlib) -lm -lpthread
(cd "$tmp" && ./readme) || { echo "check-readme: FAIL: the README program exited $?" >&2; exit 1; }
[ -s "$tmp/fashion.aem" ] || { echo "check-readme: FAIL: the README program wrote no fashion.aem" >&2; exit 1; }
"$o/bin/ae-inspect" "$tmp/fashion.aem" >/dev/null
echo "check-readme: OK: the README program ($(wc -l <"$tmp/readme.c") lines) trained and saved" \
     "a model of $(wc -c <"$tmp/fashion.aem") bytes"
