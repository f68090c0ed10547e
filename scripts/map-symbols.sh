#!/bin/sh
# SPDX-License-Identifier: MIT
# map-symbols.sh - prints the symbol names a GNU version script lists (every
# node, global entries only), one per line, in file order. Comments (/* */ and
# #) and the "global:"/"local:" labels are skipped; a wildcard such as "ae_*"
# is printed as is, so callers can reject it.
# Usage: scripts/map-symbols.sh [MAP]   (default: src/ae.map)
set -eu

map=${1:-src/ae.map}
[ -r "$map" ] || { echo "map-symbols: cannot read $map" >&2; exit 1; }

# Strip comments, put every ";"-terminated item on its own line, then keep the
# items of global sections only.
sed -e 's|#.*||' "$map" | tr '\n' ' ' |
    sed -e 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/| |g' |
    sed -e 's/[{};]/&\n/g' |
    awk '
        { gsub(/^[ \t]+|[ \t]+$/, "") }
        /global:/ { scope = "g"; sub(/.*global:[ \t]*/, "") }
        /local:/  { scope = "l"; sub(/.*local:[ \t]*/, "") }
        /\{/      { scope = "g"; next }
        /\}/      { scope = ""; next }
        /;$/ && scope == "g" { sub(/[ \t]*;$/, ""); if ($0 != "") print }
    '
