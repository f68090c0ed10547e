#!/bin/sh
# abi-map.sh - adds to src/ae.map every AE_API function of the public headers
# that it does not list yet, in the newest version node (the last one in the
# file), just before that node's "local:" line or closing brace. Nothing is
# ever removed: a name listed but no longer declared is only reported (taking
# a released symbol away breaks the ABI).
# With --prune, names of the newest node that no header declares any more
# are deleted too: only for a node that has not been released yet.
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

"$here/api-symbols.sh" "$inc" | awk '{print $1}' | LC_ALL=C sort -u >"$tmp/api"
"$here/map-symbols.sh" "$map" | LC_ALL=C sort -u >"$tmp/map"
LC_ALL=C comm -23 "$tmp/api" "$tmp/map" >"$tmp/add"
LC_ALL=C comm -13 "$tmp/api" "$tmp/map" >"$tmp/stale"

if [ "$prune" = 1 ] && [ -s "$tmp/stale" ]; then
    # delete "name;" lines of the stale names after the last node's opening brace
    awk -v stalefile="$tmp/stale" '
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
        echo "abi-map: $map lists $name, which no header declares AE_API (left in place;" \
             "'make abi-map PRUNE=1' deletes such names from the newest, unreleased node)" >&2
    done <"$tmp/stale"
fi

if [ ! -s "$tmp/add" ]; then
    echo "abi-map: $map already lists every AE_API function ($(wc -l <"$tmp/map") symbols)"
    exit 0
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
