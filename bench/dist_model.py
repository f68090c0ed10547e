#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dist_model.py - the paper model of docs/distributed.md: data-parallel
training throughput at 8, 64 and 512 ranks on 10 and 100 Gb/s networks with
a ring all-reduce of the gradient (4 bytes x parameters) once per step.

    step time  = b * t_s + T_comm            (no overlap of the two)
    T_comm     = 2 (N-1)/N * 4P / BW + 2 (N-1) * alpha      (ring)
    throughput = N * b / step time
    b*         = T_comm / t_s  (per-rank batch where compute = communication)

t_s (seconds per training sample on one core) comes from the command line:
    python3 bench/dist_model.py DENSE_SAMPLES_PER_S CONV_SAMPLES_PER_S
(measured with build/bench/bench: `run train_dense 1 b=32 latent=64 n=6000`
and `run train_conv 1 b=32 n=2000 noise=0`)."""
import sys

MODELS = [("dense 784-64-784", 101200), ("conv (bench)", 3217)]
NETS = [("10 Gb/s", 10e9 / 8, 10e-6), ("100 Gb/s", 100e9 / 8, 2e-6)]


def main():
    rates = [float(a) for a in sys.argv[1:3]] if len(sys.argv) >= 3 else [14000.0, 720.0]
    print("| AE | network | ranks | T_comm (ms) | b* per rank | B* global |"
          " samples/s at b=32 per rank | efficiency |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, p), rate in zip(MODELS, rates):
        ts = 1.0 / rate
        for net, bw, alpha in NETS:
            for n in (8, 64, 512):
                comm = 2 * (n - 1) / n * 4 * p / bw + 2 * (n - 1) * alpha
                bstar = comm / ts
                thr = n * 32 / (32 * ts + comm)
                print(f"| {name} | {net} | {n} | {comm * 1e3:.3f} | {bstar:.1f} |"
                      f" {bstar * n:.0f} | {thr:.0f} | {thr / (n * rate):.0%} |")


if __name__ == "__main__":
    main()
