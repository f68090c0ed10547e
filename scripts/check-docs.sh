#!/bin/sh
# SPDX-License-Identifier: MIT
# check-docs.sh - the docs' numbers against the examples' output (make
# check), the way check-readme.sh runs the README's program.
#
# Every block of README.md and docs/**/*.md that follows a line starting
# with "<!-- check-docs" is a fenced block whose first line is either
#   $ COMMAND    a small example configuration, run now (in a scratch folder
#                where ./bin is BINDIR, one thread: OPENBLAS_NUM_THREADS=1
#                AE_NUM_THREADS=1), or
#   < FILE       the recorded output of a full run (docs/img/<run>.txt,
#                written with its picture by `make figures`);
# the other lines must appear in that output, in order, each matching one
# line as a shell pattern (`*` stands for what changes between runs, such as
# seconds). Usage: scripts/check-docs.sh BINDIR
set -eu

bindir=$(cd "${1:?usage: $0 BINDIR}" && pwd)
top=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-docs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
OPENBLAS_NUM_THREADS=1 AE_NUM_THREADS=1
export OPENBLAS_NUM_THREADS AE_NUM_THREADS

fails=0 blocks=0 runs=0
fail() { echo "check-docs: FAIL: $*" >&2; fails=$((fails + 1)); }

# match EXPECTED ACTUAL: every line of EXPECTED matches a line of ACTUAL,
# in order; prints the first that does not
match() {
    exec 3<"$2"
    while IFS= read -r want; do
        found=0
        while IFS= read -r got <&3; do
            # shellcheck disable=SC2254 # the expected line is a pattern
            case $got in $want) found=1; break ;; esac
        done
        [ "$found" -eq 1 ] || { exec 3<&-; echo "$want"; return 1; }
    done <"$1"
    exec 3<&-
    return 0
}

for md in README.md $(find docs -name '*.md' | LC_ALL=C sort); do
    # split the file's check blocks into tmp/b.N (first line: the source)
    rm -f "$tmp"/b.*
    awk -v dir="$tmp" '
        /^<!-- check-docs/ { armed = 1; next }
        armed && /^```/ { armed = 0; on = 1; n++; f = dir "/b." n; next }
        on && /^```/ { on = 0; close(f); next }
        on { print > f }
        armed && !/^```/ { armed = 0 }' "$md"
    for b in "$tmp"/b.*; do
        [ -e "$b" ] || continue
        blocks=$((blocks + 1))
        head=$(head -n 1 "$b")
        tail -n +2 "$b" >"$tmp/want"
        case $head in
        '$ '*)
            cmd=${head#'$ '}
            rm -rf "$tmp/run"
            mkdir -p "$tmp/run"
            ln -s "$bindir" "$tmp/run/bin"
            runs=$((runs + 1))
            if ! (cd "$tmp/run" && sh -c "$cmd") >"$tmp/got" 2>"$tmp/err"; then
                fail "$md: '$cmd' failed: $(tail -n 1 "$tmp/err")"
                continue
            fi ;;
        '< '*)
            src=${head#'< '}
            [ -f "$top/$src" ] || { fail "$md: $src is missing (make figures)"; continue; }
            cp "$top/$src" "$tmp/got" ;;
        *)
            fail "$md: a check-docs block starts with '$head', not '\$ COMMAND' or '< FILE'"
            continue ;;
        esac
        if ! miss=$(match "$tmp/want" "$tmp/got"); then
            fail "$md: '$head' gave no line matching '$miss'; it printed:"
            sed 's/^/    /' "$tmp/got" >&2
        fi
    done
done
[ "$blocks" -gt 0 ] || fail "no check-docs block found"
if [ "$fails" -ne 0 ]; then
    echo "check-docs: $fails of $blocks blocks differ from the examples' output" >&2
    exit 1
fi
echo "check-docs: OK: $blocks blocks of the docs match the examples' output ($runs small runs now, the rest recorded by make figures)"
