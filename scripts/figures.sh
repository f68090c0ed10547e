#!/bin/sh
# SPDX-License-Identifier: MIT
# figures.sh - `make figures`: regenerates every picture in docs/img from the
# examples (default settings, seed 1, one thread: the same bits on every run
# of one machine), and next to each picture the standard output of the run
# that drew it (docs/img/<run>.txt, the command on its first line), the
# numbers the pages quote. Fails when a picture in docs/img has no run that
# makes it. About 10 minutes on 2 cores (the convolutional denoiser is most
# of it).
# Usage: scripts/figures.sh BINDIR IMGDIR   (FIGURES_ONLY="run ..." redraws
# only those runs, e.g. FIGURES_ONLY=search; the completeness check is then
# skipped)
set -eu

bin=${1:?usage: $0 BINDIR IMGDIR}
img=${2:?usage: $0 BINDIR IMGDIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/figures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
OPENBLAS_NUM_THREADS=1 AE_NUM_THREADS=1
export OPENBLAS_NUM_THREADS AE_NUM_THREADS

# run NAME PICTURES -- PROGRAM [ARGS...]: runs it with --out into a fresh
# folder, keeps its stdout as NAME.txt and the listed pictures
only=${FIGURES_ONLY:-}
run() {
    name=$1
    shift
    case " ${only:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    pics=
    while [ "$1" != "--" ]; do
        pics="$pics $1"
        shift
    done
    shift
    prog=$1
    shift
    echo "figures: $prog $*" >&2
    mkdir -p "$tmp/$name"
    start=$(date +%s)
    { echo "# OPENBLAS_NUM_THREADS=1 AE_NUM_THREADS=1 ./bin/$prog $*"; "$bin/$prog" "$@" --out "$tmp/$name"; } \
        >"$tmp/$name.txt" 2>"$tmp/$name.err" ||
        { cat "$tmp/$name.err" >&2; echo "figures: FAIL: $prog $* failed" >&2; exit 1; }
    for p in $pics; do
        [ -s "$tmp/$name/$p" ] || { echo "figures: FAIL: $prog $* drew no $p" >&2; exit 1; }
        cp "$tmp/$name/$p" "$img/$p"
    done
    cp "$tmp/$name.txt" "$img/$name.txt"
    echo "figures: $name: $(($(date +%s) - start)) s:$pics" >&2
}

run reconstruct reconstruct.png -- reconstruct
run latent latent_scatter.png latent_classes.png latent_neighbourhood.png \
    latent_interpolation.png latent_samples.png -- latent
run pca_vs_ae pca_vs_ae.png -- pca_vs_ae
run anomaly_class6 anomaly_class6.png -- anomaly --class 6
run anomaly_class7 anomaly_class7.png -- anomaly --class 7
run search search.png -- search
run denoise denoise.png -- denoise
run transfer transfer.png -- transfer
run vae vae_samples.png vae_neighbourhood.png vae_interpolation.png vae_scatter.png \
    vae_grid.png -- vae

[ -z "$only" ] || { echo "figures: OK: redrew $only"; exit 0; }

# every picture of docs/img comes from a run above
made=$(ls "$tmp"/*/*.png | sed 's|.*/||' | sort -u)
for p in "$img"/*.png; do
    echo "$made" | grep -qx "$(basename "$p")" ||
        { echo "figures: FAIL: $p is drawn by no run of scripts/figures.sh" >&2; exit 1; }
done
echo "figures: OK: $(ls "$img"/*.png | wc -l) pictures and their runs' output in $img"
