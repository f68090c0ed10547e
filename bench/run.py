#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""run.py - runs libae's benchmarks and the same workloads in PyTorch, side
by side, and prints markdown tables (what `make bench` shows).

    bench/run.py --bench BUILD/bin/bench [--repeats N] [--quick]
                 [--out bench/results.json] [--no-peer] [--python PY] [--only WORKLOAD]
                 [--gemm-table BUILD/tests/kernels/gemm_table [--gemm-rounds N] [--gemm-only]]
                 [--mpi bin/mpi_train [--mpi-rounds N]]

Both sides are servers (bench/bench.c, bench/torch_peer.py) kept running for
the whole run: data loaded once, every workload set up and warmed up once
per thread count (the warm-up is not timed), then measured in rounds that
alternate the sides (libae first in even rounds, PyTorch first in odd ones)
so both see the same machine. Each side reports medians over the rounds;
each ratio is the median of the per-round ratios (pair by pair). Both sides
start from the same initial weights (libae writes them, PyTorch loads
them). The machine is shared and noisy: compare the ratios.

Writes every measurement to --out (one record per workload, side and
thread count, with all values), and prints:
  1. the main table against the bars of issue 6,
  2. cblas_sgemm alone on the dense AE's GEMM shapes (GFLOP/s) and
     libae's fraction of that ceiling,
  3. libae's own GEMM kernels against cblas_sgemm, OPENBLAS_CORETYPE as
     configured and unset (with --gemm-table),
  4. with --mpi: data-parallel training on 1 and 2 MPI ranks of this machine
     (examples/mpi through mpirun): samples/s and the step time,
  5. scaling: samples/s against batch size and latent size, and time per
     epoch against dataset size.
Only the Python standard library is needed here; the peer needs torch.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Side:
    """A benchmark server on the other end of a pipe."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, env=env)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError("%s: the benchmark process ended (command: %s)" % (self.name, line))
        obj = json.loads(reply)
        if "error" in obj:
            raise RuntimeError("%s: %s (command: %s)" % (self.name, obj["error"], line))
        return obj

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        self.proc.wait(timeout=60)


def find_peer_python(explicit):
    """A Python that imports torch: --python, $AE_BENCH_PYTHON, Debian's
    /usr/bin/python3, then python3 on PATH. None when there is none."""
    cands = [explicit, os.environ.get("AE_BENCH_PYTHON"), "/usr/bin/python3", "python3"]
    for py in cands:
        if not py:
            continue
        try:
            r = subprocess.run([py, "-c", "import torch"], capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if r.returncode == 0:
            return py
    return None


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(v, unit):
    if v != v:  # NaN
        return "-"
    if unit == "samples/s":
        return "%.1fk" % (v / 1000) if v >= 1000 else "%.0f" % v
    if unit == "us":
        return "%.2f us" % v
    if unit == "ms":
        return "%.1f ms" % v
    if unit == "s":
        return "%.3f s" % v
    return "%.3g" % v


def speed_ratio(lib, peer, unit):
    """How many times faster libae is (> 1: libae faster)."""
    if lib is None or peer is None or lib <= 0 or peer <= 0:
        return None
    return lib / peer if unit == "samples/s" else peer / lib


class Runner:
    def __init__(self, args):
        self.args = args
        self.records = []
        self.lib = None
        self.peer = None

    # ---- one workload, both sides, rounds alternating the order -------------
    def measure(self, workload, params, threads, repeats, sides=("libae", "pytorch")):
        """One thread count; see measure_threads."""
        return self.measure_threads(workload, params, (threads,), repeats, sides)[threads]

    def measure_threads(self, workload, params, thread_list, repeats,
                        sides=("libae", "pytorch")):
        """Every (thread count, side) once per round, the order reversed in
        odd rounds, so a change of the machine's load during the run hits
        all of them alike. Returns {threads: {side: record, "ratio": x}}."""
        words = " ".join("%s=%s" % kv for kv in sorted(params.items()))
        servers = [s for s in (self.lib, self.peer) if s is not None and s.name in sides]
        values = {(t, s.name): [] for t in thread_list for s in servers}
        seq = [(t, s) for t in thread_list for s in servers]
        unit = None
        for r in range(repeats):
            for t, s in (seq if r % 2 == 0 else list(reversed(seq))):
                rep = s.ask(("run %s %d %s" % (workload, t, words)).strip())
                unit = rep["unit"]
                values[(t, s.name)].append(rep["value"])
                # OpenBLAS's and OpenMP's idle threads spin for up to ~0.1 s
                # after a call: let them go to sleep before the next run
                time.sleep(0.25)
        out = {}
        for t in thread_list:
            out[t] = {}
            for s in servers:
                vals = values[(t, s.name)]
                rec = {"workload": workload, "params": params, "side": s.name, "threads": t,
                       "unit": unit, "values": vals, "median": median(vals)}
                self.records.append(rec)
                out[t][s.name] = rec
            if "libae" in out[t] and "pytorch" in out[t]:
                pairs = [speed_ratio(a, b, unit) for a, b in
                         zip(values[(t, "libae")], values[(t, "pytorch")])]
                pairs = [p for p in pairs if p is not None]
                ratio = median(pairs) if pairs else None
                self.records.append({"workload": workload, "params": params, "side": "ratio",
                                     "threads": t, "unit": "x (libae speed / PyTorch speed)",
                                     "values": pairs, "median": ratio})
                out[t]["ratio"] = ratio
        if len(thread_list) == 2 and self.lib is not None and self.lib.name in sides:
            a, b = thread_list
            pairs = [speed_ratio(y, x, unit) for x, y in
                     zip(values[(a, "libae")], values[(b, "libae")])]
            pairs = [p for p in pairs if p is not None]
            out["libae_scaling"] = median(pairs) if pairs else None
        return out

    def info(self):
        info = {"machine": platform.machine(), "kernel": platform.release(),
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
                "AE_NUM_THREADS": os.environ.get("AE_NUM_THREADS", "(unset)"),
                "libae": self.lib.ask("info")}
        if self.peer is not None:
            info["pytorch"] = self.peer.ask("info")
        try:
            with open("/proc/meminfo") as f:
                info["mem_total"] = f.readline().split(":")[1].strip()
        except OSError:
            pass
        info["loadavg_start"] = os.getloadavg()
        return info

    def run(self):
        a = self.args
        env = dict(os.environ)
        self.lib = Side("libae", [a.bench] + ([a.data] if a.data else []), env)
        if a.no_peer:
            print("PyTorch peer: skipped (--no-peer)")
        else:
            py = find_peer_python(a.python)
            if py is None:
                print("PyTorch peer: SKIPPED - no Python with torch found (tried --python, "
                      "$AE_BENCH_PYTHON, /usr/bin/python3, python3). On Debian: "
                      "apt-get install python3-torch (make bench does it when run as root).")
            else:
                peer_env = dict(env)
                if a.data:
                    peer_env["AE_BENCH_DATA"] = a.data
                self.peer = Side("pytorch", [py, os.path.join(HERE, "torch_peer.py")], peer_env)
        info = self.info()
        rep = a.repeats
        tmp = tempfile.mkdtemp(prefix="ae-bench-")
        try:
            return self.tables(info, rep, tmp)
        finally:
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
            os.rmdir(tmp)
            for s in (self.lib, self.peer):
                if s is not None:
                    s.close()

    def share_init(self, kind, latent, tmp):
        path = os.path.join(tmp, "%s-%d.f32" % (kind, latent))
        self.lib.ask("init %s %d %s" % (kind, latent, path))
        if self.peer is not None:
            self.peer.ask("init %s %d %s" % (kind, latent, path))

    def tables(self, info, rep, tmp):
        a = self.args
        lib = info["libae"]
        print("## Machine\n")
        print("- CPU: %s, %s cores online; %s; kernel %s" %
              (lib["cpu"], lib["cpus"], info.get("mem_total", "?") + " RAM", info["kernel"]))
        print("- OpenBLAS: %s (core %s); OPENBLAS_CORETYPE=%s" %
              (lib["openblas_config"], lib["openblas_core"], info["OPENBLAS_CORETYPE"]))
        print("- libae %s, default threads %s (AE_NUM_THREADS=%s)" %
              (lib["version"], lib["threads_default"], info["AE_NUM_THREADS"]))
        if self.peer is not None:
            print("- PyTorch %s (%s)" % (info["pytorch"]["version"], info["pytorch"]["parallel"]))
        print("- load average at start: %.2f %.2f %.2f (a shared machine: compare ratios)" %
              info["loadavg_start"])
        print("- %d rounds per cell, sides alternating; medians; ratio = median of per-round "
              "ratios, > 1 means libae is faster\n" % rep)
        sys.stdout.flush()

        for lat in sorted(set([64] + a.latents)):
            self.share_init("dense", lat, tmp)
        self.share_init("conv", 0, tmp)
        self.share_init("vae", 20, tmp)

        cap = {"max_s": a.max_s}
        main = [
            ("dense AE 784-64-784 training, batch 32", "train_dense",
             dict(b=32, latent=64, n=20480, **cap), 2.0),
            ("same, batch 256", "train_dense", dict(b=256, latent=64, n=20480, **cap), 1.5),
            ("VAE 784-400-(20+20)-20-400-784 (PyTorch's example) training, batch 128",
             "train_vae", dict(b=128, latent=20, n=20480, **cap), 1.5),
            ("conv denoising AE (tutorial) training, batch 32", "train_conv",
             dict(b=32, n=4096, **cap), 1.5),
            ("encode one sample 784->64 (latency)", "encode1", dict(latent=64, calls=2000), None),
            ("reconstruct 10,000 test images (dense AE)", "infer_dense",
             dict(latent=64, n=10000), 2.0),
            ("reconstruct 10,000 test images (conv AE)", "infer_conv", dict(n=10000), None),
            ("search: 1,000 queries among 60,000 latents (64-d), k = 10", "search",
             dict(latent=64, n=60000, q=1000, k=10), None),
            ("search: 1,000 queries among 60,000 images (784 pixels), k = 10", "search",
             dict(latent=0, n=60000, q=1000, k=10), None),
        ]
        print("## libae vs PyTorch (`make bench`)\n")
        print("| workload | libae 1T | libae 2T | PyTorch 1T | PyTorch 2T | ratio 1T | ratio 2T "
              "| best vs best | bar |")
        print("|---|---|---|---|---|---|---|---|---|")
        summary = []
        scaling = []
        if a.only:
            main = [row for row in main if a.only in row[1]]
        for title, wl, params, bar in main:
            res = self.measure_threads(wl, params, (1, 2), rep)
            scaling.append((title, res.get("libae_scaling")))
            unit = res[1]["libae"]["unit"]
            lib_m = {t: res[t]["libae"]["median"] for t in (1, 2)}
            peer_m = {t: res[t]["pytorch"]["median"] if "pytorch" in res[t] else None for t in (1, 2)}
            better = max if unit == "samples/s" else min
            best_lib = better(lib_m.values())
            best_peer = better([v for v in peer_m.values() if v is not None]) \
                if self.peer is not None else None
            best = speed_ratio(best_lib, best_peer, unit)
            if wl == "encode1":
                bar_text = "<= 3 us"
                ok = best_lib <= 3.0
            elif wl == "search" and params["latent"]:
                bar_text = "<= 200 us/query 1T"
                ok = lib_m[1] <= 200.0
            elif bar is not None:
                bar_text = ">= %.1fx" % bar
                ok = best >= bar if best is not None else None
                if self.peer is None:
                    bar_text += " (no peer)"
            else:
                bar_text, ok = "-", None
            mark = "" if ok is None else (" ok" if ok else " MISSED")
            r = lambda t: "%.2fx" % res[t]["ratio"] if res[t].get("ratio") else "-"
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s%s |" % (
                title, fmt(lib_m[1], unit), fmt(lib_m[2], unit),
                fmt(peer_m[1] if peer_m[1] is not None else float("nan"), unit),
                fmt(peer_m[2] if peer_m[2] is not None else float("nan"), unit),
                r(1), r(2), "%.2fx" % best if best else "-", bar_text, mark))
            sys.stdout.flush()
            summary.append({"workload": title, "best_vs_best": best, "bar": bar_text, "ok": ok})
            self.lib.ask("drop")
            if self.peer is not None:
                self.peer.ask("drop")
        print("\nUnits: samples/s for training (higher is better), microseconds per call "
              "(encode), per query (search) and milliseconds per call (lower is better). "
              "1T/2T: 1 or 2 threads "
              "(ae_set_num_threads, torch.set_num_threads).")
        print("\nlibae 2 threads vs 1 thread (speed ratio, median of the per-round ratios): " +
              "; ".join("%s %.2fx" % (t, x) for t, x in scaling if x))
        self.records.append({"workload": "libae_2_vs_1_threads", "side": "libae",
                             "values": {t: x for t, x in scaling}})

        if a.only:
            return self.finish(info, summary)

        # ---- GEMM ceiling -------------------------------------------------------
        print("\n## cblas_sgemm alone on the dense AE's GEMM shapes\n")
        print("| batch | threads | enc fwd | dec fwd | dec dW | dec dX | enc dW | GEMM-only step "
              "| ceiling | libae training | libae fraction |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        gemv = None
        for b in (32, 256):
            for t in (1, 2):
                g = self.lib.ask("gemm %d b=%d latent=64" % (t, b))
                if gemv is None:
                    gemv = g["sgemv_us"]
                trained = [r for r in self.records if r["side"] == "libae" and
                           r["workload"] == "train_dense" and r["threads"] == t and
                           r["params"].get("b") == b and r["params"].get("latent") == 64]
                lib_speed = trained[0]["median"] if trained else float("nan")
                g["libae_samples_per_s"] = lib_speed
                g["libae_fraction"] = lib_speed / g["ceiling_samples_per_s"]
                self.records.append({"workload": "gemm", "side": "cblas_sgemm", "threads": t,
                                     "params": {"b": b, "latent": 64}, "detail": g})
                print("| %d | %d | %s | %.0f us | %.1fk/s | %s | %.0f%% |" % (
                    b, t, " | ".join("%.1f GF/s" % s["gflops"] for s in g["shapes"]),
                    g["step_us"], g["ceiling_samples_per_s"] / 1000, fmt(lib_speed, "samples/s"),
                    100 * g["libae_fraction"]))
        print("\nGEMM-only step: the five products of one training step (forward 2, backward 3: "
              "the first layer needs no dX); ceiling = batch / that time. cblas_sgemv for one "
              "sample 784->64: %.2f us." % gemv)
        sys.stdout.flush()

        if a.gemm_table:
            self.records.extend(gemm_table(a.gemm_table, a.gemm_rounds))
        if a.mpi:
            self.records.extend(mpi_table(a.mpi, a.mpi_rounds, a.data))
            sys.stdout.flush()

        if a.quick:
            return self.finish(info, summary)

        # ---- scaling --------------------------------------------------------------
        srep = max(3, rep // 2)
        print("\n## Scaling: samples/s against batch size (784-64-784, 1 thread)\n")
        print("| batch | libae | PyTorch | ratio |")
        print("|---|---|---|---|")
        for b in a.batches:
            n = 2048 if b == 1 else (8192 if b <= 8 else 20480)
            res = self.measure("train_dense", dict(b=b, latent=64, n=n, **cap), 1, srep)
            print("| %d | %s | %s | %s |" % (b, fmt(res["libae"]["median"], "samples/s"),
                  fmt(res["pytorch"]["median"], "samples/s") if "pytorch" in res else "-",
                  "%.2fx" % res["ratio"] if res.get("ratio") else "-"))
            sys.stdout.flush()
            self.drop()
        print("\n## Scaling: samples/s against latent size (784-L-784, batch 32, 1 thread)\n")
        print("| latent | libae | PyTorch | ratio |")
        print("|---|---|---|---|")
        for lat in a.latents:
            res = self.measure("train_dense", dict(b=32, latent=lat, n=20480, **cap), 1, srep)
            print("| %d | %s | %s | %s |" % (lat, fmt(res["libae"]["median"], "samples/s"),
                  fmt(res["pytorch"]["median"], "samples/s") if "pytorch" in res else "-",
                  "%.2fx" % res["ratio"] if res.get("ratio") else "-"))
            sys.stdout.flush()
            self.drop()
        print("\n## Scaling: time per epoch against dataset size (libae, 784-64-784, batch 32, "
              "1 thread)\n")
        print("| samples | seconds per epoch | seconds per 10,000 samples |")
        print("|---|---|---|")
        for n in a.sizes:
            res = self.measure("train_dense", dict(b=32, latent=64, n=n), 1, srep, sides=("libae",))
            sps = res["libae"]["median"]
            rec = {"workload": "epoch_time", "params": {"b": 32, "latent": 64, "n": n},
                   "side": "libae", "threads": 1, "unit": "s",
                   "values": [n / v for v in res["libae"]["values"]], "median": n / sps}
            self.records.append(rec)
            print("| %d | %.3f | %.3f |" % (n, n / sps, 1e4 / sps))
            sys.stdout.flush()
            self.drop()
        return self.finish(info, summary)

    def drop(self):
        self.lib.ask("drop")
        if self.peer is not None:
            self.peer.ask("drop")

    def finish(self, info, summary):
        info["loadavg_end"] = os.getloadavg()
        out = {"info": info, "summary": summary, "records": self.records}
        with open(self.args.out, "w") as f:
            json.dump(out, f, indent=1)
        print("\nload average at the end: %.2f %.2f %.2f; wrote %s" %
              (info["loadavg_end"] + (self.args.out,)))
        return 0


def mpi_table(program, rounds, data):
    """examples/mpi on 1 and 2 ranks of this machine (mpirun --oversubscribe,
    one BLAS thread a rank), one epoch over the first 8192 training images,
    global batch 32, the sides alternating for `rounds` rounds. Prints the
    table and returns its records; prints why and returns none when mpirun
    is missing or a run fails."""
    mpirun = shutil.which("mpirun")
    if mpirun is None or not os.path.exists(program):
        print("\n(MPI step time skipped: %s not found)" % ("mpirun" if mpirun is None else program))
        return []
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", AE_NUM_THREADS="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")
    flags = ["--oversubscribe"]
    if os.geteuid() == 0:
        flags.append("--allow-run-as-root")
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    args = ["--epochs", "1", "--limit", "8192", "--batch", "32", "--threads", "1"]
    if data:
        args += ["--data", data]
    speeds = {1: [], 2: []}
    for r in range(rounds):
        for np in ((1, 2) if r % 2 == 0 else (2, 1)):
            try:
                out = subprocess.run([mpirun] + flags + ["-np", str(np), program] + args, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     timeout=300, check=True).stdout
                speeds[np].append(float(out.split("samples_per_s=")[1].split()[0]))
            except (subprocess.SubprocessError, IndexError, ValueError) as e:
                print("\n(MPI step time skipped: mpirun -np %d failed: %s)" % (np, e))
                return []
    print("\n## Data-parallel training on MPI ranks of this machine (examples/mpi)\n")
    print("784-64-784, global batch 32, one epoch over 8192 images, one BLAS thread a rank, "
          "median of %d alternating rounds; the step time is the global batch's: 32 images "
          "over all ranks, one all-reduce of the 101k gradients. Ranks on one 2-core machine "
          "share its cores and memory: docs/distributed.md models more machines.\n" % rounds)
    print("| ranks | samples/s | step time | vs 1 rank |")
    print("|---|---|---|---|")
    records = []
    base = statistics.median(speeds[1])
    for np in (1, 2):
        med = statistics.median(speeds[np])
        print("| %d | %s | %.0f us | %.2fx |" % (np, fmt(med, "samples/s"), 32 / med * 1e6,
                                                 med / base))
        records.append({"workload": "mpi_train", "side": "libae", "threads": 1, "ranks": np,
                        "unit": "samples/s", "values": speeds[np], "median": med})
    return records


def gemm_table(program, rounds):
    """tests/kernels/gemm_table.c twice, in child processes: OPENBLAS_CORETYPE as the
    environment sets it, then unset (OpenBLAS reads it once, at load). Prints
    the table and returns its records."""
    settings = [("as configured", dict(os.environ))]
    unset = dict(os.environ)
    configured = unset.pop("OPENBLAS_CORETYPE", None)
    settings.append(("unset", unset))
    runs = []
    for name, env in settings:
        out = subprocess.run([program, str(rounds)], env=env, stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        runs.append([json.loads(line) for line in out.splitlines() if line.strip()])
    print("\n## libae's own GEMM kernels against cblas_sgemm (1 thread, CPU time)\n")
    print("OPENBLAS_CORETYPE as configured: %s; then unset. Speed-up = cblas time / kernel time, "
          "median of %d interleaved rounds per run; each run measures its kernels again. "
          "Load average now: %.1f.\n" % (configured or "(not set: both runs are the same setting)",
                                          rounds, os.getloadavg()[0]))
    paths = [k["path"] for k in runs[0][0]["kernels"]] if runs[0] else []
    print("| shape | op | M | N | K | cblas (configured) | " +
          " | ".join("%s: speed-up configured / unset" % p for p in paths) +
          " | cblas (unset) | wins both | kept |")
    print("|---|---|---|---|---|---|" + "---|" * len(paths) + "---|---|---|")
    records = []
    for conf, uns in zip(*runs):
        cells = []
        wins = False
        for kc, ku in zip(conf["kernels"], uns["kernels"]):
            both = kc["speedup"] > 1.0 and ku["speedup"] > 1.0
            if kc["path"] == conf.get("path"):
                wins = both
            cells.append("%.2fx / %.2fx%s" % (kc["speedup"], ku["speedup"], " **" if both else ""))
        print("| %s | %s%s | %d | %d | %d | %.1f us | %s | %.1f us | %s | %s |" % (
            conf["what"], "A^T" if conf["ta"] else "A", " B^T" if conf["tb"] else " B",
            conf["m"], conf["n"], conf["k"], conf["cblas_us"], " | ".join(cells), uns["cblas_us"],
            "yes" if wins else "no", "yes" if conf.get("kept") else "no"))
        records.append({"workload": "gemm_kernel", "side": "libae", "threads": 1,
                        "detail": {"configured": conf, "unset": uns}})
    print("\n** the kernel beat cblas_sgemm in both runs. wins both: the path libae chooses "
          "(%s) did; kept: the rule of src/core/gemm.c sends the shape to it "
          "(bench/README.md)." % (runs[0][0].get("path") if runs[0] else "-"))
    sys.stdout.flush()
    return records


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", required=True, help="the built bench/bench.c program")
    p.add_argument("--out", default=os.path.join(HERE, "results.json"))
    p.add_argument("--repeats", type=int, default=5, help="rounds per cell (default 5)")
    p.add_argument("--quick", action="store_true", help="main table and GEMM table only")
    p.add_argument("--no-peer", action="store_true", help="libae only")
    p.add_argument("--only", help="main-table workloads whose name contains this (e.g. vae); "
                   "nothing else")
    p.add_argument("--python", help="Python that imports torch (default: found)")
    p.add_argument("--data", help="Fashion-MNIST directory (default: Debian's)")
    p.add_argument("--max-s", dest="max_s", type=float, default=1.5,
                   help="a timed training pass stops after this many seconds (default 1.5)")
    p.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 8, 32, 128, 512])
    p.add_argument("--latents", type=lambda s: [int(x) for x in s.split(",")],
                   default=[16, 32, 64, 128, 256])
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                   default=[7500, 15000, 30000, 60000])
    p.add_argument("--gemm-table", dest="gemm_table",
                   help="the built tests/kernels/gemm_table.c program: adds the own-kernel GEMM table")
    p.add_argument("--mpi", help="examples/mpi's binary (bin/mpi_train): adds the MPI step time")
    p.add_argument("--mpi-rounds", dest="mpi_rounds", type=int, default=3,
                   help="alternating rounds of 1 and 2 ranks (default 3)")
    p.add_argument("--gemm-rounds", dest="gemm_rounds", type=int, default=11,
                   help="rounds per shape of the GEMM table (default 11)")
    p.add_argument("--gemm-only", dest="gemm_only", action="store_true",
                   help="the own-kernel GEMM table alone (needs --gemm-table; writes no --out)")
    args = p.parse_args()
    if args.gemm_only:
        if not args.gemm_table:
            p.error("--gemm-only needs --gemm-table")
        gemm_table(args.gemm_table, args.gemm_rounds)
        return 0
    return Runner(args).run()


if __name__ == "__main__":
    sys.exit(main())
