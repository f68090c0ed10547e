#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""torch_peer.py - the PyTorch side of libae's benchmarks (bench/run.py).

Runs the same workloads as bench/bench.c with PyTorch (Debian's
python3-torch), on the same data (the Fashion-MNIST IDX files), the same
architecture and, when the runner passes them, the same initial weights.

It is a small server: one command per line on stdin, one JSON object per
line on stdout.

    info                                   -> versions and thread settings
    init KIND LATENT PATH                  -> take KIND's initial weights from
                                              PATH (raw float32, libae's order)
    run WORKLOAD THREADS key=value ...     -> one measurement (see WORKLOADS)
    drop                                   -> forget the cached models
    quit

Each (workload, parameters, threads) is set up and run once untimed (the
warm-up) the first time it is asked for; every later `run` is one timed
repetition. The runner interleaves these with libae's and takes medians.
"""
import gzip
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = os.environ.get("AE_BENCH_DATA", "/usr/share/datasets/fashion-mnist")


def load_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8)
    n = dims[0]
    return data.reshape(n, -1).to(torch.float32).div_(255.0).contiguous()


_data = {}


def dataset(name):
    if name not in _data:
        _data[name] = load_idx(os.path.join(DATA_DIR, name + "-images-idx3-ubyte.gz"))
    return _data[name]


_init = {}


def load_init(model, key):
    path = _init.get(key)
    if path is None:
        return
    flat = torch.from_numpy(__import__("numpy").fromfile(path, dtype="<f4"))
    params = list(model.parameters())
    need = sum(p.numel() for p in params)
    if flat.numel() != need:
        raise ValueError("%s: %d floats, the model has %d" % (path, flat.numel(), need))
    off = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[off:off + p.numel()].view_as(p))
            off += p.numel()


def dense_model(latent):
    enc = nn.Sequential(nn.Linear(784, latent), nn.ReLU())
    dec = nn.Sequential(nn.Linear(latent, 784), nn.Sigmoid())
    model = nn.Sequential(enc, dec)
    load_init(model, ("dense", latent))
    return enc, model


def conv_model():
    # TensorFlow's denoising tutorial; PyTorch pads "same" symmetrically,
    # which gives the same shapes (28 -> 14 -> 7 -> 14 -> 28).
    enc = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 8, 3, stride=2, padding=1), nn.ReLU())
    dec = nn.Sequential(
        nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid())
    model = nn.Sequential(enc, dec)
    load_init(model, ("conv", 0))
    return enc, model


class VAE(nn.Module):
    """PyTorch's own VAE example (examples/vae/main.py): 784-400-(20+20),
    z = mu + exp(logvar/2) eps, 20-400-784, ReLU, sigmoid output. The two
    heads fc21 and fc22 are one Linear(400, 40) here (mean first, then the
    log-variance), as libae's encoder has them: the same function and the
    same work."""

    def __init__(self, latent=20, hidden=400):
        super().__init__()
        self.k = latent
        self.enc = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 784),
                                 nn.Sigmoid())

    def forward(self, x, gen=None):
        h = self.enc(x)
        mu, logvar = h[:, :self.k], h[:, self.k:]
        eps = torch.randn(mu.shape, generator=gen)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.dec(z), mu, logvar


def vae_loss(recon, x, mu, logvar):
    """Negative ELBO summed over the batch: BCE summed over the pixels plus
    KL(q(z|x) || N(0, I)), as the example's loss_function."""
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce, kld


def vae_model(latent=20, hidden=400):
    model = VAE(latent, hidden)
    load_init(model, ("vae", latent))
    return model


def adam(model):
    # libae's examples: Adam, learning rate 1e-3, epsilon 1e-7.
    return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)


class Train:
    """One pass over the first n training images, shuffled, batch b, stopped
    after max_s seconds if not done: samples/s."""
    unit = "samples/s"

    def __init__(self, p, conv):
        self.b, self.n = int(p.get("b", 32)), int(p.get("n", 20480))
        self.max_s = float(p.get("max_s", 1e9))
        self.noise = float(p.get("noise", 0.2 if conv else 0.0))
        x = dataset("train")[: self.n]
        self.x = x.reshape(-1, 1, 28, 28).contiguous() if conv else x
        _, self.model = conv_model() if conv else dense_model(int(p.get("latent", 64)))
        self.opt = adam(self.model)
        self.gen = torch.Generator().manual_seed(3)

    def run(self):
        b, n, x, model, opt = self.b, self.n, self.x, self.model, self.opt
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=self.gen)
        done, t = 0, t0
        for first in range(0, n, b):
            xb = x.index_select(0, perm[first:first + b])
            inp = xb
            if self.noise > 0:
                inp = torch.clamp(xb + self.noise * torch.randn(xb.shape, generator=self.gen), 0.0, 1.0)
            opt.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(inp), xb)
            loss.backward()
            opt.step()
            done += xb.shape[0]
            t = time.perf_counter()
            if t - t0 > self.max_s:
                break
        return done / (t - t0)


class TrainVAE:
    """One pass of PyTorch's VAE example over the first n training images,
    shuffled, batch b (128), Adam 1e-3 (the example's defaults), stopped
    after max_s seconds if not done: samples/s."""
    unit = "samples/s"

    def __init__(self, p):
        self.b, self.n = int(p.get("b", 128)), int(p.get("n", 20480))
        self.max_s = float(p.get("max_s", 1e9))
        self.x = dataset("train")[: self.n]
        self.model = vae_model(int(p.get("latent", 20)))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.gen = torch.Generator().manual_seed(3)

    def run(self):
        b, n, x, model, opt = self.b, self.n, self.x, self.model, self.opt
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=self.gen)
        done, t = 0, t0
        for first in range(0, n, b):
            xb = x.index_select(0, perm[first:first + b])
            opt.zero_grad(set_to_none=True)
            recon, mu, logvar = model(xb, self.gen)
            bce, kld = vae_loss(recon, xb, mu, logvar)
            (bce + kld).backward()
            opt.step()
            done += xb.shape[0]
            t = time.perf_counter()
            if t - t0 > self.max_s:
                break
        return done / (t - t0)


class Encode1:
    """Latency of encoding one sample 784 -> latent: microseconds per call."""
    unit = "us"

    def __init__(self, p):
        self.calls = int(p.get("calls", 2000))
        self.enc, _ = dense_model(int(p.get("latent", 64)))
        self.x = dataset("t10k")[:1].clone()

    def run(self):
        enc, x, block = self.enc, self.x, 100
        means = []
        with torch.inference_mode():
            for _ in range(max(1, self.calls // block)):
                t0 = time.perf_counter_ns()
                for _ in range(block):
                    enc(x)
                means.append((time.perf_counter_ns() - t0) / block / 1000.0)
        means.sort()
        return means[len(means) // 2]


class Infer:
    """Reconstruct the first n test images in one call: milliseconds."""
    unit = "ms"

    def __init__(self, p, conv):
        n = int(p.get("n", 10000))
        x = dataset("t10k")[:n]
        self.x = x.reshape(-1, 1, 28, 28).contiguous() if conv else x
        _, self.model = conv_model() if conv else dense_model(int(p.get("latent", 64)))

    def run(self):
        with torch.inference_mode():
            t0 = time.perf_counter()
            self.model(self.x)
            return (time.perf_counter() - t0) * 1e3


class Search:
    """k nearest of q test images among n training images, one call:
    microseconds per query (torch.cdist + topk, what a PyTorch program
    writes). The vectors are the images encoded by the dense model's
    encoder (the shared initial weights), or the raw pixels for latent=0."""
    unit = "us"

    def __init__(self, p):
        latent, n = int(p.get("latent", 64)), int(p.get("n", 60000))
        self.k = int(p.get("k", 10))
        x, q = dataset("train")[:n], dataset("t10k")[:int(p.get("q", 1000))]
        if latent:
            enc, _ = dense_model(latent)
            with torch.inference_mode():
                x, q = enc(x), enc(q)
        self.x, self.q = x.contiguous(), q.contiguous()

    def run(self):
        with torch.inference_mode():
            t0 = time.perf_counter()
            torch.cdist(self.q, self.x).topk(self.k, dim=1, largest=False)
            return (time.perf_counter() - t0) / self.q.shape[0] * 1e6


WORKLOADS = {
    "train_dense": lambda p: Train(p, False),
    "train_conv": lambda p: Train(p, True),
    "train_vae": TrainVAE,
    "encode1": Encode1,
    "infer_dense": lambda p: Infer(p, False),
    "infer_conv": lambda p: Infer(p, True),
    "search": Search,
}


def main():
    torch.manual_seed(1)
    cache = {}
    out = sys.stdout
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == "quit":
                break
            if cmd == "info":
                reply = {"side": "pytorch", "version": torch.__version__,
                         "threads_default": torch.get_num_threads(),
                         "parallel": torch.__config__.parallel_info().splitlines()[-1].strip()}
            elif cmd == "init":
                _init[(words[1], int(words[2]))] = words[3]
                reply = {"ok": True}
            elif cmd == "drop":
                cache.clear()
                reply = {"ok": True}
            elif cmd == "run":
                name, threads = words[1], int(words[2])
                params = dict(w.split("=", 1) for w in words[3:])
                torch.set_num_threads(threads)
                key = (name, threads, tuple(sorted(params.items())))
                if key not in cache:
                    wl = WORKLOADS[name](params)
                    wl.run()  # warm-up
                    cache[key] = wl
                wl = cache[key]
                reply = {"side": "pytorch", "workload": name, "threads": threads,
                         "params": params, "unit": wl.unit, "value": wl.run()}
            else:
                reply = {"error": "unknown command " + cmd}
        except Exception as e:  # report, keep serving
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
