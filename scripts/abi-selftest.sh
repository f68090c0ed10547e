#!/bin/sh
# SPDX-License-Identifier: MIT
# abi-selftest.sh - proves that the ABI gate's policy (the abidiff flags and
# abi/ae.abignore that scripts/abi-check.sh uses) lets through exactly what
# the stability promise allows (docs/stability.md):
#   allowed: a field appended at the end of a versioned struct (struct_size
#            first), a new function;
#   refused: a field inserted before the end, a field widened, a callback
#            slot's signature changed, a field appended to a struct that is
#            not versioned (ae_shape), a changed enumerator value, a changed
#            parameter type, a removed function.
# It builds a small probe library from tests/abi/probe.c twice (against the
# real headers, and against a copy edited the way each case says) and runs
# both halves of the gate between the two exactly as abi-check.sh does:
# abidiff with the suppressions, and scripts/abi-layout.py on the versioned
# structs (the case widen-field is the one abidiff alone lets through).
# Runs in a few seconds; part of `make check`.
# Usage: scripts/abi-selftest.sh   (settings: CC ABIDIFF ABIDW PYTHON ABI_SUPPR)
set -eu

cc=${CC:-cc}
abidiff=${ABIDIFF:-abidiff}
abidw=${ABIDW:-abidw}
python=${PYTHON:-python3}
suppr=${ABI_SUPPR:-abi/ae.abignore}
here=$(dirname "$0")
versioned=$(sed -n 's/^ *name_regexp *= *//p' "$suppr")
probe=tests/abi/probe.c
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build DIR [CFLAGS...]: the probe library from DIR/include into DIR/libprobe.so
build() {
    d=$1
    shift
    "$cc" -std=c11 -g -O0 -shared -fPIC -I"$d/include" "$@" -o "$d/libprobe.so" "$probe"
}

cp -R include "$tmp/base-include"
mkdir -p "$tmp/base"
mv "$tmp/base-include" "$tmp/base/include"
build "$tmp/base"
"$abidw" --headers-dir "$tmp/base/include" --drop-private-types --out-file "$tmp/base/probe.abi" \
    "$tmp/base/libprobe.so"

fails=0
# case NAME EXPECT SED_SCRIPT HEADER [CFLAGS...]
#   EXPECT: pass or fail; SED_SCRIPT edits HEADER (relative to include/) in a
#   copy of the headers ("" for none); CFLAGS go to the probe's compiler.
case_() {
    name=$1 expect=$2 script=$3 header=$4
    shift 4
    d=$tmp/$name
    mkdir -p "$d"
    cp -R include "$d/include"
    if [ -n "$script" ]; then
        sed -i "$script" "$d/include/$header"
        if cmp -s "include/$header" "$d/include/$header"; then
            echo "abi-selftest: FAIL: case $name: the edit did not apply to $header" >&2
            fails=$((fails + 1))
            return
        fi
    fi
    build "$d" "$@"
    set +e
    "$abidiff" --no-added-syms --drop-private-types \
        --headers-dir1 "$tmp/base/include" --headers-dir2 "$d/include" \
        --suppressions "$suppr" "$tmp/base/libprobe.so" "$d/libprobe.so" >"$d/report" 2>&1
    rc=$?
    "$abidw" --headers-dir "$d/include" --drop-private-types --out-file "$d/probe.abi" \
        "$d/libprobe.so" &&
        "$python" "$here/abi-layout.py" "$tmp/base/probe.abi" "$d/probe.abi" "$versioned" \
            >>"$d/report" 2>&1
    lrc=$?
    set -e
    if [ $((rc & 3)) -ne 0 ] || [ "$lrc" -ge 2 ]; then
        cat "$d/report" >&2
        echo "abi-selftest: FAIL: case $name: a tool failed to run (abidiff $rc, layout $lrc)" >&2
        fails=$((fails + 1))
    elif [ "$expect" = pass ] && { [ "$rc" -ne 0 ] || [ "$lrc" -ne 0 ]; }; then
        cat "$d/report" >&2
        echo "abi-selftest: FAIL: case $name: an allowed change was refused" \
             "(abidiff $rc, layout $lrc)" >&2
        fails=$((fails + 1))
    elif [ "$expect" = fail ] && [ "$rc" -eq 0 ] && [ "$lrc" -eq 0 ]; then
        echo "abi-selftest: FAIL: case $name: an incompatible change went through the gate" >&2
        fails=$((fails + 1))
    else
        echo "abi-selftest: ok: $name ($expect; abidiff exit $rc, layout exit $lrc)"
    fi
}

# Allowed. (The appended train-options field is 8-byte aligned: a field
# that fell into the current layout's tail padding would be refused.)
case_ unchanged pass "" ae/train.h
# (appended before the closing brace: after whatever field is last now)
case_ append-train-options pass \
    's/^} ae_train_options;$/    uint64_t appended_later;\n} ae_train_options;/' ae/train.h
case_ append-layer-vtable pass \
    's/^} ae_layer_vtable;$/    int (*appended_in_1_1)(void *state);\n} ae_layer_vtable;/' \
    ae/sys/layer.h
case_ append-file-info pass \
    's/^\(} ae_file_info;\)$/    uint64_t appended_in_1_1;\n\1/' ae/io.h
case_ new-function pass "" ae/train.h -DPROBE_NEW_FUNCTION

# Refused.
case_ insert-train-options fail \
    's/^\( *uint32_t epochs; .*\)$/    uint32_t inserted;\n\1/' ae/train.h
case_ append-shape fail \
    's/^\( *uint32_t dims\[AE_MAX_RANK\];.*\)$/\1\n    uint32_t appended;/' ae/common.h
case_ enum-value fail 's/AE_LOSS_BCE = 1/AE_LOSS_BCE = 2/' ae/model.h
case_ widen-field fail 's/^\( *\)uint32_t batch_size; /\1uint64_t batch_size; /' ae/train.h
case_ vtable-slot-signature fail \
    's/const ae_layer_ctx \*ctx, const float \*x, float \*y);/const ae_layer_ctx *ctx, const double *x, float *y);/' \
    ae/sys/layer.h
case_ parameter-type fail "" ae/train.h -DPROBE_COUNT_T=int
case_ removed-function fail "" ae/train.h -DPROBE_REMOVE_FUNCTION

if [ "$fails" -ne 0 ]; then
    echo "abi-selftest: $fails case(s) failed: the gate's policy is not the promised one" >&2
    exit 1
fi
echo "abi-selftest: OK: the gate allows appended fields and new functions, refuses the rest"
