#!/bin/sh
# SPDX-License-Identifier: MIT
# link-footprint.sh [--check] [LIBDIR] - what an inference-only static program pays.
#
# Links tests/link/encode_only.c (load an encoder from a file, encode; public
# API only) statically against LIBDIR/libae.a (default lib) with a link map,
# and prints how many of the archive's objects the linker pulled in and their
# text + data bytes (from size(1)), then the objects by name.
# --check (a gate of make check): fail if the program pulls in any object of
# training, optimizers, datasets, analysis, the decoder, the model, losses,
# the writer or the model/analysis loaders.
#   CC, BLAS_PC as for make; O=DIR keeps the map and the program (default: a
#   temporary directory, removed).
set -eu
CHECK=0
if [ "${1:-}" = --check ]; then
    CHECK=1
    shift
fi
LIBDIR=${1:-lib}
CC=${CC:-cc}
BLAS_PC=${BLAS_PC:-openblas}
ARCHIVE=$LIBDIR/libae.a
[ -f "$ARCHIVE" ] || { echo "link-footprint: no $ARCHIVE (run make lib)" >&2; exit 1; }
if [ -n "${O:-}" ]; then
    OUT=$O
    mkdir -p "$OUT"
else
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
fi
# shellcheck disable=SC2046
$CC -std=c11 -O2 -Iinclude -o "$OUT/encode_only" tests/link/encode_only.c \
    -Wl,-Map="$OUT/encode_only.map" "$ARCHIVE" \
    $(pkg-config --libs "$BLAS_PC" zlib) -lm -lpthread
# The map's first section lists each archive member the link pulled in.
sed -n '/^Archive member included/,/^Discarded input sections\|^Memory Configuration/p' \
    "$OUT/encode_only.map" | grep -o 'libae\.a([^)]*)' | sed 's/.*(\(.*\))/\1/' |
    sort -u >"$OUT/members"
total=$(ar t "$ARCHIVE" | grep -c '\.o$')
pulled=$(wc -l <"$OUT/members")
# size(1) of the archive: text data bss dec hex filename (of libae.a)
bytes=$(size "$ARCHIVE" | awk -v list="$OUT/members" '
    BEGIN { while ((getline m < list) > 0) want[m] = 1 }
    NR > 1 { name = $6; sub(/ \(ex .*/, "", name); if (name in want) s += $1 + $2 }
    END { print s + 0 }')
all=$(size "$ARCHIVE" | awk 'NR > 1 { s += $1 + $2 } END { print s + 0 }')
echo "encoder-only static link: $pulled of $total libae objects, $bytes of $all bytes (text+data)"
tr '\n' ' ' <"$OUT/members"
echo
[ "$CHECK" = 1 ] || exit 0
forbidden=$(for d in src/train src/optim src/analysis src/data; do
                 for f in "$d"/*.c; do basename "$f" .c; done
             done
             echo decoder model loss writer load_model load_analysis)
bad=
for o in $forbidden; do
    if grep -qx "$o.o" "$OUT/members"; then bad="$bad $o.o"; fi
done
if [ -n "$bad" ]; then
    echo "link-footprint: an encoder-only program links non-inference code:$bad" >&2
    exit 1
fi
echo "link-footprint: OK: no training, optimizer, dataset, analysis, decoder or writer code"
