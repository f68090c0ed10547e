#!/bin/sh
# SPDX-License-Identifier: MIT
# api-symbols.sh - prints the name of every function declared with AE_API in
# the public headers, one per line, sorted, as "name header".
# Usage: scripts/api-symbols.sh [INCLUDE_DIR]   (default: include)
#
# Comments are stripped with the C preprocessor (-fpreprocessed keeps the
# directives unexpanded), directive lines are dropped, and each declaration
# "AE_API <type> name(" yields the identifier right before the first "(".
set -eu

inc=${1:-include}
cc=${CC:-cc}

find "$inc" -name '*.h' | LC_ALL=C sort | while read -r h; do
    "$cc" -fpreprocessed -dD -E -P -w -x c "$h" |
        grep -v '^[[:space:]]*#' | tr '\n' ' ' |
        grep -o 'AE_API[^;{}()]*(' |
        sed -E 's/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\($/\1/' |
        sed "s|\$| ${h#"$inc"/}|" || true
done | LC_ALL=C sort -u
