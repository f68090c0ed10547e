#!/bin/sh
# SPDX-License-Identifier: MIT
# check-help.sh - the --help gate of `make check`: every example program and
# every tool says what a manual page would, and fails a bad command line
# cleanly.  Usage: scripts/check-help.sh BINDIR MANDIR
#
# The programs: the examples/*.c that parse their command line with
# cli_start() (examples/common/cli.h) and every tools/*.c, built in BINDIR.
# For each one:
#   --help  exits 0, prints on stdout only, in lines of at most 80 columns,
#           the sections "Usage: <name> ", "Options:", "Output", "Exit
#           status:", "Examples:" and "See also:" (examples also "Data:"
#           and "Environment:"), and names every option of the program:
#           for an example, each entry of its cli_option table; -h prints
#           the same;
#   an unknown option exits 2 with a message on stderr and nothing on stdout.
# For each tool, MANDIR/<name>.1 (the page `make` writes from man/<name>.1.in)
# exists, has the sections NAME, SYNOPSIS, DESCRIPTION, OPTIONS, OUTPUT,
# EXIT STATUS, EXAMPLES and SEE ALSO, the version of include/ae/common.h on
# its .TH line, and documents exactly the options --help lists.
set -eu

bindir=${1:?usage: $0 BINDIR MANDIR}
mandir=${2:?usage: $0 BINDIR MANDIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-help.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fails=0
fail() { echo "check-help: FAIL: $*" >&2; fails=$((fails + 1)); }

# The long options a --help text (file $1) lists: "  --name" at a line start,
# and "-h, --help".
help_options() {
    sed -n -e 's/^  \(-h, \)\{0,1\}--\([a-z][a-z0-9-]*\).*/\2/p' "$1" | LC_ALL=C sort -u
}

# check_program NAME KIND(example|tool) SOURCE
check_program() {
    name=$1 kind=$2 src=$3
    bin=$bindir/$name
    if [ ! -x "$bin" ]; then
        fail "$name: $bin is missing (make examples tools first)"
        return
    fi

    rc=0
    "$bin" --help >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 0 ] || fail "$name --help exited $rc, not 0"
    [ -s "$tmp/out" ] || fail "$name --help printed nothing on stdout"
    [ ! -s "$tmp/err" ] || fail "$name --help wrote to stderr: $(head -n 1 "$tmp/err")"
    grep -q "^Usage: $name " "$tmp/out" || fail "$name --help: no 'Usage: $name ...' line"
    headings="Options: Output Exit_status: Examples: See_also:"
    [ "$kind" = example ] && headings="$headings Data: Environment:"
    for h in $headings; do
        h=$(echo "$h" | tr _ ' ')
        grep -q "^$h" "$tmp/out" || fail "$name --help: no '$h' section"
    done
    long=$(awk 'length($0) > 80 { print NR": "$0 }' "$tmp/out")
    [ -z "$long" ] || fail "$name --help: lines longer than 80 columns: $long"

    # every option the program parses is in its help
    if [ "$kind" = example ]; then
        opts=$(sed -n -e 's/.*{"\([a-z][a-z0-9-]*\)", CLI_[A-Z0-9]*,.*/\1/p' "$src")
        grep -q 'CLI_THREADS_OPTION(' "$src" && opts="$opts threads"
        opts="$opts help"
    else
        opts=$(sed -n -e 's/.*strcmp(argv\[i\], "--\([a-z][a-z0-9-]*\)").*/\1/p' "$src")
    fi
    help_options "$tmp/out" >"$tmp/listed"
    for o in $opts; do
        grep -qx -- "$o" "$tmp/listed" || fail "$name --help does not describe --$o"
    done

    rc=0
    "$bin" -h >"$tmp/out-h" 2>/dev/null || rc=$?
    { [ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$tmp/out-h"; } || fail "$name -h differs from --help"

    rc=0
    "$bin" --no-such-option >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$name --no-such-option exited $rc, not 2"
    [ -s "$tmp/err" ] || fail "$name --no-such-option printed no message on stderr"
    [ ! -s "$tmp/out" ] || fail "$name --no-such-option wrote to stdout"
    grep -q -- '--no-such-option' "$tmp/err" || fail "$name --no-such-option: the message does not name the option"

    [ "$kind" = tool ] && check_manual "$name"
    return 0
}

# check_manual NAME: MANDIR/NAME.1 against NAME --help ($tmp/listed)
check_manual() {
    page=$mandir/$1.1
    if [ ! -f "$page" ]; then
        fail "$1: no manual page $page (man/$1.1.in)"
        return
    fi
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS OUTPUT "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -q "^\.SH \"\{0,1\}$s\"\{0,1\}\$" "$page" || fail "$page: no $s section"
    done
    grep -q "^\.TH .*\"libae $version\"" "$page" || fail "$page: the .TH line does not name libae $version"
    # options the page documents: ".B \-\-name" / ".BR \-h ", " \-\-help" at
    # the start of an OPTIONS entry
    sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" | sed -n '/^\.TP/{n;p;}' |
        sed -n -e 's/.*\\-\\-\([a-z][a-z0-9-]*\).*/\1/p' | LC_ALL=C sort -u >"$tmp/man-options"
    if ! cmp -s "$tmp/listed" "$tmp/man-options"; then
        fail "$page documents the options '$(tr '\n' ' ' <"$tmp/man-options")', $1 --help '$(tr '\n' ' ' <"$tmp/listed")'"
    fi
}

version=$(sed -n 's/^#define AE_VERSION_STRING "\(.*\)"/\1/p' include/ae/common.h)
n=0
for src in examples/*.c; do
    grep -q 'cli_start(' "$src" || continue
    name=$(basename "$src" .c)
    check_program "$name" example "$src"
    n=$((n + 1))
done
for src in tools/*.c; do
    name=$(basename "$src" .c)
    check_program "$name" tool "$src"
    n=$((n + 1))
done

# consumer_static (no cli.h: it is built alone against the installed
# library): --help and -h print its usage and exit 0, an unknown option exits 2
if [ -x "$bindir/consumer_static" ]; then
    for h in --help -h; do
        rc=0
        "$bindir/consumer_static" $h >"$tmp/out" 2>"$tmp/err" || rc=$?
        { [ "$rc" -eq 0 ] && grep -q '^Usage: consumer_static ' "$tmp/out" && [ ! -s "$tmp/err" ]; } ||
            fail "consumer_static $h: exit $rc, no usage on stdout, or text on stderr"
    done
    rc=0
    "$bindir/consumer_static" --no-such-option >"$tmp/out" 2>"$tmp/err" || rc=$?
    { [ "$rc" -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; } ||
        fail "consumer_static --no-such-option exited $rc (not 2) or printed on stdout"
    n=$((n + 1))
fi

if [ "$fails" -ne 0 ]; then
    echo "check-help: $fails failure(s) in $n programs" >&2
    exit 1
fi
echo "check-help: $n programs: --help complete, unknown options exit 2; manual pages match: OK"
