#!/bin/sh
# SPDX-License-Identifier: MIT
# check-pinned.sh - the enumerator values of the public headers are pinned
# forever (docs/stability.md): model files store them and compiled programs
# pass them as plain ints, where abidiff cannot see them. tests/abi/pinned.c
# holds one _Static_assert per value, written at the release that added it.
# This script fails when
#   - a header declares an enumerator pinned.c does not assert (a new value
#     needs its line, in the section of the release that adds it), or
#   - pinned.c does not compile against the headers (a value changed or an
#     enumerator was removed).
# Usage: scripts/check-pinned.sh [INCLUDE_DIR]   (settings: CC)
set -eu

inc=${1:-include}
cc=${CC:-cc}
pinned=tests/abi/pinned.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -rhoE '^[[:space:]]*AE_[A-Z0-9_]+[[:space:]]*=' "$inc" |
    sed 's/[[:space:]=]//g' | LC_ALL=C sort -u >"$tmp/declared"
grep -oE 'PIN\(AE_[A-Z0-9_]+,' "$pinned" | sed 's/PIN(//; s/,//' | LC_ALL=C sort -u >"$tmp/pinned"
missing=$(LC_ALL=C comm -23 "$tmp/declared" "$tmp/pinned")
if [ -n "$missing" ]; then
    for name in $missing; do
        echo "check-pinned: FAIL: $name is declared in $inc/ but $pinned does not pin its value:" \
             "add 'PIN($name, <value>);' under the release that adds it" >&2
    done
    exit 1
fi
"$cc" -std=c11 -fsyntax-only -Werror -I"$inc" "$pinned"
echo "check-pinned: OK: $(wc -l <"$tmp/pinned") enumerator values and the sentinel constants are as released"
