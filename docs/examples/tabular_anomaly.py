#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tabular_anomaly.py - examples/anomaly's CSV mode against PCA reconstruction
error and an Isolation Forest on real tables, same splits, several seeds.

The tables are the ones Debian's python3-sklearn ships (scikit-learn's
bundled copies of UCI data sets: Breast Cancer Wisconsin (Diagnostic) and
Wine, CC BY 4.0; the handwritten digits, from the UCI optical digits set):

  breast_cancer  569 rows x 30: normal = benign (357), anomalies = malignant
  wine           178 rows x 13: normal = class 1 (71), anomalies = classes 0, 2
  digits        1797 rows x 64: normal = digit 8 (174), anomalies = the others

For each seed the rows are split at random (80 % training, 20 % test, the
same split for every method); every method fits on the normal training
rows only and scores every test row; the measure is ROC AUC (anomaly = the
positive class). Baselines (scikit-learn): PCA with as many components as
the autoencoder's latent, on standardised rows, scored by reconstruction
MSE; IsolationForest (100 trees) on the raw rows, scored by
-score_samples. The autoencoder is examples/anomaly (--csv TRAIN --test-csv
TEST) with the flags of each variant.

Usage: docs/examples/tabular_anomaly.py [--bin bin/anomaly] [--seeds 5]
           [--variants default|all] [--tables breast_cancer,wine,digits]
Prints markdown tables (mean and standard deviation over the seeds).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

TABLES = {
    # name: (loader, normal label)
    "breast_cancer": (datasets.load_breast_cancer, 1),
    "wine": (datasets.load_wine, 1),
    "digits": (datasets.load_digits, 8),
}

# Variants of examples/anomaly --csv: the 1.0 defaults first, then one
# change at a time, then the 1.1 defaults (no flag). "Steps" are optimizer
# steps (--steps: the epochs follow from the table's size, batch 64).
VARIANTS = [
    ("1.0 defaults: min-max, sigmoid out, 100 epochs", ["--scale", "minmax", "--epochs", "100"]),
    ("min-max, 100 epochs, early stopping (patience 10)", ["--scale", "minmax", "--epochs", "100",
                                                          "--patience", "10"]),
    ("min-max, 30 epochs", ["--scale", "minmax", "--epochs", "30"]),
    ("min-max, 300 epochs", ["--scale", "minmax", "--epochs", "300"]),
    ("min-max, 300 steps", ["--scale", "minmax", "--steps", "300"]),
    ("standardised, sigmoid out (cannot give < 0), 100 epochs",
     ["--scale", "standard", "--output", "sigmoid", "--epochs", "100"]),
    ("standardised, 100 epochs", ["--scale", "standard", "--epochs", "100"]),
    ("standardised, 100 epochs, early stopping (patience 10)",
     ["--scale", "standard", "--epochs", "100", "--patience", "10"]),
    ("standardised, 30 epochs", ["--scale", "standard", "--epochs", "30"]),
    ("standardised, 300 epochs", ["--scale", "standard", "--epochs", "300"]),
    ("standardised, 300 steps", ["--scale", "standard", "--steps", "300"]),
    ("standardised, 600 steps", ["--scale", "standard", "--steps", "600"]),
    ("standardised, 150 steps, latent x2", ["--latent", "LAT2"]),
    ("standardised, 150 steps, hidden x4", ["--hidden", "HID4"]),
    ("standardised, 150 steps, MAE score", ["--score", "mae"]),
    ("1.1 defaults: standardised, linear out, 150 steps", []),
]


def latent_of(f):
    return min(16, max(2, f // 8))


def hidden_of(f):
    return min(64, max(8, f // 2))


def run_ae(binary, train_csv, test_csv, normal, seed, flags, f, outdir):
    flags = [x.replace("LAT2", str(2 * latent_of(f))).replace("HID4", str(4 * hidden_of(f)))
             for x in flags]
    cmd = [binary, "--csv", train_csv, "--test-csv", test_csv, "--header",
           "--normal-label", str(normal), "--seed", str(seed), "--out", outdir] + flags
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    m = re.search(r"^auroc=([0-9.]+)", out, re.M)
    if m is None:
        sys.exit("no auroc= line from: " + " ".join(cmd) + "\n" + out)
    return float(m.group(1))


def write_csv(path, x, y, f):
    with open(path, "w") as fh:
        fh.write(",".join("c%d" % j for j in range(f)) + ",label\n")
        for row, lab in zip(x, y):
            fh.write(",".join("%.9g" % v for v in row) + ",%d\n" % lab)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="bin/anomaly")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--variants", default="default",
                    help="default (the 1.1 defaults only), all, or a comma-separated list of "
                         "variant numbers (0-based, in the order of VARIANTS)")
    ap.add_argument("--tables", default="breast_cancer,wine,digits")
    a = ap.parse_args()
    if a.variants == "all":
        variants = VARIANTS
    elif a.variants == "default":
        variants = VARIANTS[-1:]
    else:
        variants = [VARIANTS[int(i)] for i in a.variants.split(",")]
    tables = a.tables.split(",")
    seeds = list(range(1, a.seeds + 1))
    res = {}  # (table, method) -> list of AUCs
    with tempfile.TemporaryDirectory() as tmp:
        for name in tables:
            loader, normal = TABLES[name]
            x, y = loader(return_X_y=True)
            x = x.astype(np.float64)
            n, f = x.shape
            for seed in seeds:
                rng = np.random.default_rng(seed)
                perm = rng.permutation(n)
                n_te = int(round(0.2 * n))
                te, tr = perm[:n_te], perm[n_te:]
                xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
                anomaly = (yte != normal).astype(int)
                xn = xtr[ytr == normal]
                # PCA on standardised rows, k = the autoencoder's latent
                sc = StandardScaler().fit(xn)
                pca = PCA(n_components=latent_of(f)).fit(sc.transform(xn))
                zt = sc.transform(xte)
                rec = pca.inverse_transform(pca.transform(zt))
                res.setdefault((name, "PCA reconstruction MSE"), []).append(
                    roc_auc_score(anomaly, ((zt - rec) ** 2).mean(axis=1)))
                iso = IsolationForest(n_estimators=100, random_state=seed).fit(xn)
                res.setdefault((name, "Isolation Forest"), []).append(
                    roc_auc_score(anomaly, -iso.score_samples(xte)))
                trc, tec = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
                write_csv(trc, xtr, ytr, f)
                write_csv(tec, xte, yte, f)
                for label, flags in variants:
                    res.setdefault((name, "libae AE: " + label), []).append(
                        run_ae(a.bin, trc, tec, normal, seed, flags, f, tmp))
            print("%s done" % name, file=sys.stderr)
    methods = []
    for (_, m) in res:
        if m not in methods:
            methods.append(m)
    print("ROC AUC, mean ± standard deviation over seeds %s (min-max in brackets)\n" %
          ", ".join(map(str, seeds)))
    print("| method | " + " | ".join(tables) + " |")
    print("|---|" + "---|" * len(tables))
    for m in methods:
        cells = []
        for t in tables:
            v = np.array(res[(t, m)])
            cells.append("%.3f ± %.3f (%.3f-%.3f)" % (v.mean(), v.std(), v.min(), v.max()))
        print("| %s | %s |" % (m, " | ".join(cells)))


if __name__ == "__main__":
    main()
