#!/bin/sh
# SPDX-License-Identifier: MIT
# ensure-deps.sh - makes sure the Debian packages a libae target needs are
# installed.  Usage: scripts/ensure-deps.sh SET...   (SET: build test data abi
# valgrind mpi bench docs onnx ort tabular; several may be given).  Called by `make check`, `make demo`,
# `make check-asan`, `make check-tsan`, `make check-valgrind`, `make abi-check`,
# `make docs`, and by `make bench` for the bench set (the PyTorch peer; optional there: a
# failure only skips the peer).
#
# Installed already: returns at once (dpkg-query only, no apt call).
# Missing and root:  apt-get update (once), then apt-get install -y
#                    --no-install-recommends <missing>, non-interactively.
# Missing, not root: prints the exact `sudo apt-get install ...` command and
#                    exits 1.
# AE_SKIP_DEPS=1 skips the whole check (non-Debian systems, custom setups).
set -eu

if [ "${AE_SKIP_DEPS:-0}" = 1 ]; then
    exit 0
fi

if [ $# -eq 0 ]; then
    echo "usage: $0 SET... (build test data abi valgrind mpi bench docs onnx ort)" >&2
    exit 2
fi

pkgs=""
for set in "$@"; do
    case "$set" in
    # compiler, BLAS, zlib, pkg-config; libpng for the examples
    build) pkgs="$pkgs gcc make binutils pkg-config libopenblas-dev zlib1g-dev libpng-dev" ;;
    # Check; g++ for the C++ consumer, cmake to build it through aeConfig.cmake;
    # gfortran because `pkg-config --static
    # --libs openblas` asks for -lgfortran (static consumer test)
    test) pkgs="$pkgs check g++ gfortran cmake" ;;
    # the Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist
    data) pkgs="$pkgs dataset-fashion-mnist" ;;
    # abidw/abidiff; readelf and nm come with binutils; python3 runs
    # scripts/abi-layout.py
    abi) pkgs="$pkgs abigail-tools binutils python3" ;;
    valgrind) pkgs="$pkgs valgrind" ;;
    # Open MPI: mpicc builds examples/mpi, mpirun runs the MPI gate of make check
    mpi) pkgs="$pkgs libopenmpi-dev openmpi-bin" ;;
    # scikit-learn (its bundled tables, PCA, Isolation Forest) for
    # docs/examples/tabular_anomaly.py (`make tabular`)
    tabular) pkgs="$pkgs python3-sklearn" ;;
    # the PyTorch peer of the benchmarks (bench/torch_peer.py)
    bench) pkgs="$pkgs python3 python3-torch" ;;
    # the API reference of `make docs` (docs/Doxyfile)
    docs) pkgs="$pkgs doxygen" ;;
    # the ONNX gate of `make check` (tests/onnx/check.py): the checker and
    # PyTorch's exporter
    onnx) pkgs="$pkgs python3 python3-numpy python3-onnx python3-torch" ;;
    # `make check-onnx`: node and npm for onnxruntime-node (npm only when
    # no npm is there: a node from elsewhere may bring its own)
    ort)
        pkgs="$pkgs nodejs"
        command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
        ;;
    *)
        echo "$0: unknown set '$set' (known: build test data abi valgrind mpi bench docs onnx ort tabular)" >&2
        exit 2
        ;;
    esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "ensure-deps: no dpkg-query (not Debian?): not checking packages;" \
         "make sure these are installed:$pkgs" >&2
    exit 0
fi

missing=""
for p in $pkgs; do
    case " $missing " in *" $p "*) continue ;; esac
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *" installed") ;;
    *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi
missing=${missing# }

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-deps: missing Debian packages: $missing" >&2
    echo "ensure-deps: install them with:" >&2
    echo "    sudo apt-get install -y --no-install-recommends $missing" >&2
    echo "ensure-deps: (or set AE_SKIP_DEPS=1 to skip this check)" >&2
    exit 1
fi

echo "ensure-deps: installing missing Debian packages: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q -o Dpkg::Use-Pty=0 </dev/null >&2
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends $missing </dev/null >&2
