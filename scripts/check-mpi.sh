#!/bin/sh
# SPDX-License-Identifier: MIT
# check-mpi.sh - the Open MPI gate of `make check`: examples/mpi/mpi_train on
# localhost with mpirun --oversubscribe, on the first 3000 Fashion-MNIST
# training images (2-3 epochs each, a few seconds per run):
#   - 2 ranks against 1 rank with the same global batch and seed: max weight
#     difference below 1e-4, test MSE within 1 % (MPI's own all-reduce);
#   - the deterministic mode: two 2-rank runs give bit-identical weights;
#   - resume: a file saved by 2 ranks continues on 1 rank, and one saved by
#     1 rank on 2, each as the uninterrupted run (weights within 1e-4);
#   - faults: a rank that exits, and a rank that hangs (the adapter's
#     collective timeout), end the job with an error within 120 s, and no
#     model file (nor a temporary one) is left behind.
# Usage: scripts/check-mpi.sh MPI_TRAIN (empty: mpicc was not found, skip).
set -eu

bin=${1:-}
if [ -z "$bin" ]; then
    echo "check-mpi: SKIP: mpicc not found (scripts/ensure-deps.sh mpi installs Open MPI)"
    exit 0
fi
mpirun=${MPIRUN:-mpirun}
export OPENBLAS_NUM_THREADS=1
# containers often forbid the cross-process memory copy of the shared-memory
# transport (a warning or a failure); plain copies work everywhere
export OMPI_MCA_btl_vader_single_copy_mechanism=none
run_flags="--oversubscribe"
if [ "$(id -u)" = 0 ]; then
    run_flags="$run_flags --allow-run-as-root"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-mpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() { echo "check-mpi: FAIL: $*" >&2; fails=$((fails + 1)); }

# run NP ARGS...: mpi_train's stdout in $tmp/out, stderr in $tmp/err
run() {
    np=$1
    shift
    timeout 300 $mpirun $run_flags -np "$np" "$bin" --limit 3000 "$@" >"$tmp/out" 2>"$tmp/err" || {
        cat "$tmp/err" >&2
        fail "mpirun -np $np mpi_train $* failed"
        return 1
    }
}
value() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$tmp/out" | tail -n 1; }
# below A B: A < B (floating point)
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# 1. 2 ranks = 1 rank within rounding
run 2 --epochs 2 --save "$tmp/a2.aem" && mse2=$(value test_mse)
run 1 --epochs 2 --save "$tmp/b1.aem" --compare "$tmp/a2.aem" && mse1=$(value test_mse) &&
    d=$(value max_weight_diff) && {
    echo "check-mpi: 2 ranks vs 1 rank, global batch 32: max_weight_diff=$d test_mse $mse2 vs $mse1"
    below "$d" 1e-4 || fail "2 ranks vs 1 rank: max weight difference $d"
    awk -v a="$mse2" -v b="$mse1" 'BEGIN { r = (a - b) / b; exit !(r < 0.01 && r > -0.01) }' ||
        fail "2 ranks vs 1 rank: test MSE $mse2 vs $mse1"
    grep -q '^ranks=1 test_mse=[0-9.]* samples_per_s=[0-9]*$' "$tmp/out" ||
        fail "1 rank: last line: $(tail -n 1 "$tmp/out")"
}

# 2. deterministic mode: bit for bit run to run
run 2 --epochs 2 --deterministic --save "$tmp/d2.aem" &&
    run 2 --epochs 2 --deterministic --compare "$tmp/d2.aem" && d=$(value max_weight_diff) && {
    echo "check-mpi: deterministic, two 2-rank runs: max_weight_diff=$d"
    [ "$d" = 0 ] || fail "deterministic mode: two runs differ by $d"
}

# 3. resume 2 -> 1 and 1 -> 2 against the uninterrupted 3 epochs
run 1 --epochs 1 --load "$tmp/a2.aem" --save "$tmp/r1.aem" &&
    run 2 --epochs 3 --compare "$tmp/r1.aem" && d=$(value max_weight_diff) && {
    echo "check-mpi: 2 ranks x 2 epochs + 1 rank x 1 vs 2 ranks x 3: max_weight_diff=$d"
    below "$d" 1e-4 || fail "resume 2 -> 1 ranks: max weight difference $d"
}
run 1 --epochs 3 --save "$tmp/c1.aem" &&
    run 2 --epochs 1 --load "$tmp/b1.aem" --compare "$tmp/c1.aem" && d=$(value max_weight_diff) && {
    echo "check-mpi: 1 rank x 2 epochs + 2 ranks x 1 vs 1 rank x 3: max_weight_diff=$d"
    below "$d" 1e-4 || fail "resume 1 -> 2 ranks: max weight difference $d"
}

# 4. faults: no hang, no file
for mode in exit hang; do
    start=$(date +%s)
    if timeout 120 $mpirun $run_flags -np 2 "$bin" --limit 3000 --epochs 3 --fail-rank 1 \
        --fail-epoch 1 --fail-mode $mode --timeout 5 --save "$tmp/f.aem" >"$tmp/out" 2>"$tmp/err"; then
        fail "a rank that does $mode: the job succeeded"
    else
        rc=$?
        [ "$rc" != 124 ] || fail "a rank that does $mode: the job hung (killed after 120 s)"
    fi
    echo "check-mpi: a rank that does $mode in epoch 2: the job failed after $(($(date +%s) - start)) s"
    left=$(find "$tmp" -name 'f.aem*')
    [ -z "$left" ] || fail "a rank that does $mode: left $left"
done

if [ "$fails" -ne 0 ]; then
    echo "check-mpi: $fails failure(s)" >&2
    exit 1
fi
echo "check-mpi: OK"
