#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check.py - the ONNX gate of `make check` (Debian's python3-onnx and
python3-torch):

1. libae's exports (tests/onnx/helper.c: a dense and a convolutional
   autoencoder holding every built-in kind, and one with a custom kind
   exported through its vtable's onnx_node hook; model, encoder and
   decoder files, and the dense model with a scaler, whose libae.scaler.*
   metadata_props are read back) pass onnx.checker.check_model(m, full_check=True);
2. a dense and a convolutional autoencoder built in PyTorch, exported with
   torch.onnx.export (opset 13, outputs x_hat and z), are imported by libae
   (helper run) and reconstruct the same inputs as PyTorch: max relative
   error <= 1e-5, the error of each output relative to max(|y|, 0.01)
   (an absolute test below 0.01, where float32 rounding alone is ~1e-8
   and a relative figure would measure only that noise).

3. with BINDIR, ae-convert turns libae files into ONNX and back, and
   ae-inspect describes the result as it described the original.

Usage: check.py HELPER WORKDIR [BINDIR].  Prints one line per check and a closing
"N passed, M failed" line; exits 1 on any failure.
"""
import os
import subprocess
import sys

import warnings

try:
    import numpy as np
    import onnx
    import onnx.checker
    import torch
    from torch import nn
except ImportError as e:
    sys.exit(f"check.py: {e}: this gate needs Debian's python3-numpy, python3-onnx and "
             f"python3-torch for {sys.executable} (scripts/ensure-deps.sh onnx installs them as root)")

warnings.filterwarnings("ignore")  # torch.onnx.export warns about its own internals
helper, work = sys.argv[1], sys.argv[2]
bindir = sys.argv[3] if len(sys.argv) > 3 else None
os.makedirs(work, exist_ok=True)
passed = failed = 0


def report(ok, line):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + line, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


# ---- 1. libae's exports pass the checker ---------------------------------
subprocess.run([helper, "models", work], check=True)
for name in ("dense", "conv", "custom"):
    for suffix in ("", "_enc", "_dec"):
        path = os.path.join(work, name + suffix + ".onnx")
        try:
            m = onnx.load(path)
            onnx.checker.check_model(m, full_check=True)
            ops = sorted({n.op_type for n in m.graph.node})
            report(True, f"{os.path.basename(path)}: onnx {onnx.__version__} check_model(full_check=True), "
                         f"opset {m.opset_import[0].version}, ops {' '.join(ops)}")
        except Exception as e:  # noqa: BLE001 - any checker error is a failure
            report(False, f"{os.path.basename(path)}: {e}")

# the dense model with a standard scaler attached: still a valid model, and
# the settings in metadata_props (libae.scaler.*), one finite float per
# feature, every scale > 0
path = os.path.join(work, "dense_scaled.onnx")
try:
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    meta = {p.key: p.value for p in m.metadata_props}
    n = int(meta["libae.scaler.features"])
    shift = np.array([float(v) for v in meta["libae.scaler.shift"].split(",")], dtype=np.float32)
    scale = np.array([float(v) for v in meta["libae.scaler.scale"].split(",")], dtype=np.float32)
    ok = (meta["libae.scaler.kind"] == "standard" and n == 20 and len(shift) == n and len(scale) == n
          and np.all(np.isfinite(shift)) and np.all(scale > 0))
    report(ok, f"dense_scaled.onnx: check_model(full_check=True), libae.scaler.* of {n} features")
except Exception as e:  # noqa: BLE001 - any checker error is a failure
    report(False, f"dense_scaled.onnx: {e}")


# ---- 2. PyTorch's exports run in libae -----------------------------------
class Unflatten(nn.Module):  # torch 1.13 cannot export nn.Unflatten to opset 13
    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.reshape((-1,) + self.dims)


class AE(nn.Module):
    def __init__(self, enc, dec):
        super().__init__()
        self.enc, self.dec = enc, dec

    def forward(self, x):
        z = self.enc(x)
        return self.dec(z), z


def dense_ae():
    return AE(nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 8), nn.LeakyReLU(0.1),
                            nn.BatchNorm1d(8), nn.Dropout(0.2), nn.Linear(8, 6), nn.Tanh()),
              nn.Sequential(nn.Linear(6, 16), nn.Sigmoid(), nn.Linear(16, 20)))


def conv_ae():
    return AE(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, stride=2, padding=1),
                            nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(72, 10)),
              nn.Sequential(nn.Linear(10, 72), nn.ReLU(), Unflatten(8, 3, 3),
                            nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
                            nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
                            nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid()))


torch.manual_seed(0)
# the dense AE with a fixed batch of 16, the conv AE with a symbolic batch
for name, model, shape, dynamic in (("torch_dense", dense_ae(), (20,), False),
                                    ("torch_conv", conv_ae(), (1, 12, 12), True)):
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
    model.eval()
    x = torch.rand((16,) + shape)
    with torch.no_grad():
        want = model(x)[0].numpy()
    path = os.path.join(work, name + ".onnx")
    axes = {v: {0: "N"} for v in ("x", "x_hat", "z")} if dynamic else None
    torch.onnx.export(model, x, path, opset_version=13, input_names=["x"],
                      output_names=["x_hat", "z"], dynamic_axes=axes)
    xin, yout = os.path.join(work, name + ".in.f32"), os.path.join(work, name + ".out.f32")
    x.numpy().astype("<f4").tofile(xin)
    r = subprocess.run([helper, "run", path, xin, yout, str(x.shape[0])], capture_output=True, text=True)
    if r.returncode != 0:
        report(False, f"{name}.onnx (torch {torch.__version__}) import: {r.stderr.strip()}")
        continue
    got = np.fromfile(yout, dtype="<f4").reshape(want.shape)
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-2)
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    report(rel.max() <= 1e-5,
           f"{name}.onnx (torch {torch.__version__} export, {'symbolic' if dynamic else 'fixed'} batch, "
           f"ops {' '.join(ops)}) in libae: "
           f"{x.shape[0]} samples, max abs error {np.abs(got - want).max():.2e}, "
           f"max rel error {rel.max():.2e} (limit 1e-5)")

# ---- 3. ae-convert: .aem -> .onnx -> .aem keeps the network and the detector
if bindir:
    for name in ("dense", "conv"):
        aem, onx, back = (os.path.join(work, name + s) for s in (".aem", "_cv.onnx", "_back.aem"))
        steps = [subprocess.run([os.path.join(bindir, "ae-convert"), a, b], capture_output=True, text=True)
                 for a, b in ((aem, onx), (onx, back))]
        bad = [r.stderr.strip() for r in steps if r.returncode != 0]
        if bad:
            report(False, f"ae-convert {name}: {bad[0]}")
            continue
        onnx.checker.check_model(onnx.load(onx), full_check=True)
        def described(path):
            out = subprocess.run([os.path.join(bindir, "ae-inspect"), path], capture_output=True,
                                 text=True, check=True).stdout.splitlines()
            # the layers, parameters and what the file holds; not the sizes or the writer
            return [l.strip() for l in out[2:] if not l.strip().startswith(("history", "training"))]
        a, b = described(aem), described(back)
        report(a == b, f"ae-convert {name}.aem -> ONNX (checker ok) -> .aem: ae-inspect describes the same "
                       f"network{' and detector' if any('detector' in l for l in a) else ''} "
                       f"({len(a)} lines compared)")

print(f"onnx: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
