#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""torch_vae.py - the reference run of issue 16: PyTorch's own VAE example
(784-400-(20+20)-20-400-784, ReLU, sigmoid output, BCE summed over the
pixels + KL, Adam 1e-3, batch 128) on Fashion-MNIST, one thread by default.

    bench/torch_vae.py [--epochs 10] [--threads 1] [--seed 1] [--data DIR]

Prints per epoch the train negative ELBO (the mean over the epoch's batches,
as the example's "Average loss") and the test negative ELBO (nats per
sample; the test pass samples z as the example's test() does), then one line
`test_nelbo=... samples_per_s=...` (training samples per second, test
passes excluded) - the line examples/vae prints, for a side-by-side run.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_peer  # noqa: E402  (the model and the loss, one definition)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--data", default=None)
    a = p.parse_args()
    if a.data:
        torch_peer.DATA_DIR = a.data
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, test = torch_peer.dataset("train"), torch_peer.dataset("t10k")
    model = torch_peer.VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(a.seed)
    n, b = train.shape[0], a.batch
    seconds = 0.0
    test_nelbo = float("nan")
    print("epoch train_nelbo test_nelbo (nats per sample)", file=sys.stderr)
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for first in range(0, n, b):
            xb = train.index_select(0, perm[first:first + b])
            opt.zero_grad(set_to_none=True)
            recon, mu, logvar = model(xb, gen)
            bce, kld = torch_peer.vae_loss(recon, xb, mu, logvar)
            loss = bce + kld
            loss.backward()
            opt.step()
            total += loss.item()
        seconds += time.perf_counter() - t0
        model.eval()
        tot = 0.0
        with torch.inference_mode():
            for first in range(0, test.shape[0], b):
                xb = test[first:first + b]
                recon, mu, logvar = model(xb, gen)
                bce, kld = torch_peer.vae_loss(recon, xb, mu, logvar)
                tot += (bce + kld).item()
        test_nelbo = tot / test.shape[0]
        print("%d %.2f %.2f" % (epoch, total / n, test_nelbo), file=sys.stderr)
        sys.stderr.flush()
    print("test_nelbo=%.2f samples_per_s=%.0f" % (test_nelbo, a.epochs * n / seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
