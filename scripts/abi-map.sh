#!/bin/sh
# SPDX-License-Identifier: MIT
# abi-map.sh - adds to src/ae.map every AE_API function of the public headers
# that it does not list yet, in the node of the current version,
# AE_MAJOR.MINOR (include/ae/common.h), just before that node's "local:"
# line or closing brace. When the newest node is an older release's, it
# first appends the new node, inheriting the old one:
#     AE_1.1 {
#       global:
#         ae_new_function;
#     } AE_1.0;
# (the "local: *;" stays in the first node). Nothing is ever removed: a
# name listed but no longer declared is only reported (taking a released
# symbol away breaks the ABI).
# With --prune, names of the newest node that no header declares any more
# are deleted too, unless a released baseline (abi/libae-*.abi) has them.
# Usage: scripts/abi-map.sh [--prune] [MAP] [INCLUDE_DIR]
#        (defaults: src/ae.map include)
set -eu

prune=0
if [ "${1:-}" = --prune ]; then
    prune=1
    shift
fi
map=${1:-src/ae.map}
inc=${2:-include}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

major=$(sed -n 's/^#define AE_VERSION_MAJOR \([0-9]*\).*/\1/p' "$inc/ae/common.h")
minor=$(sed -n 's/^#define AE_VERSION_MINOR \([0-9]*\).*/\1/p' "$inc/ae/common.h")
node="AE_$major.$minor"

"$here/api-symbols.sh" "$inc" | awk '{print $1}' | LC_ALL=C sort -u >"$tmp/api"
"$here/map-symbols.sh" "$map" | LC_ALL=C sort -u >"$tmp/map"
LC_ALL=C comm -23 "$tmp/api" "$tmp/map" >"$tmp/add"
LC_ALL=C comm -13 "$tmp/api" "$tmp/map" >"$tmp/stale"
# names a released baseline exports are never pruned
cat abi/libae-*.abi 2>/dev/null | sed -n "s/.*<elf-symbol name='\([^']*\)'.*/\1/p" |
    LC_ALL=C sort -u >"$tmp/released"
LC_ALL=C comm -23 "$tmp/stale" "$tmp/released" >"$tmp/prunable"

if [ "$prune" = 1 ] && [ -s "$tmp/prunable" ]; then
    # delete "name;" lines of the stale names after the last node's opening brace
    awk -v stalefile="$tmp/prunable" '
        BEGIN { while ((getline n < stalefile) > 0) stale[n] = 1 }
        { line[NR] = $0 }
        /\{/ { node = NR }
        END {
            for (i = 1; i <= NR; i++) {
                t = line[i]; gsub(/[[:space:];]/, "", t)
                if (i > node && (t in stale)) { print "abi-map: removed " t > "/dev/stderr"; continue }
                print line[i]
            }
        }' "$map" >"$tmp/pruned"
    cat "$tmp/pruned" >"$map"
else
    while read -r name; do
        echo "abi-map: $map lists $name, which no header declares AE_API (left in place: a released symbol is never removed, and" \
             "'make abi-map PRUNE=1' deletes only names no released baseline exports)" >&2
    done <"$tmp/stale"
fi

if [ ! -s "$tmp/add" ]; then
    echo "abi-map: $map already lists every AE_API function ($(wc -l <"$tmp/map") symbols)"
    exit 0
fi

newest=$(grep -oE '^AE_[0-9]+\.[0-9]+' "$map" | tail -n 1)
if [ "$newest" != "$node" ]; then
    printf '\n%s {\n  global:\n} %s;\n' "$node" "$newest" >>"$map"
    echo "abi-map: appended the node $node (inherits $newest) for the functions $major.$minor adds"
fi

# Line of the last node's opening brace, then the first "local:" or "}"
# after it: the new names go right before that line.
awk -v addfile="$tmp/add" '
    { line[NR] = $0 }
    /\{/ { node = NR }
    END {
        if (!node) { print "abi-map: no version node found" > "/dev/stderr"; exit 1 }
        at = 0
        for (i = node + 1; i <= NR; i++)
            if (line[i] ~ /^[[:space:]]*(local:|\})/) { at = i; break }
        if (line[node] ~ /\}/) {           # a one-line node: "V { global: a; } W;"
            names = ""
            while ((getline name < addfile) > 0) names = names " " name ";"
            sub(/[[:space:]]*\}/, names " }", line[node])
            at = 0
        } else if (!at) {
            print "abi-map: the last version node has no closing brace" > "/dev/stderr"; exit 1
        }
        for (i = 1; i <= NR; i++) {
            if (i == at)
                while ((getline name < addfile) > 0) print "    " name ";"
            print line[i]
        }
    }' "$map" >"$tmp/new"
cat "$tmp/new" >"$map"
sed 's/^/abi-map: added /' "$tmp/add"
