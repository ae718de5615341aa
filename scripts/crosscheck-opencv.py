#!/usr/bin/python3
"""Compare nzk's image preprocessing with OpenCV, bit for bit.

Developer check, not a test: it needs Debian's python3-opencv and
python3-numpy (apt-get install python3-opencv), which the suite itself does
not use.  For each case it runs `nzk datasets --load ...`, reads back the
CSV (17 significant digits, so doubles round-trip exactly) and recomputes
every row the way the authors' zo_ntk/data.py does:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)    (colour images only)
    x    = cv2.resize(gray / 255.0, (r, r)).reshape(-1)
Cases: the installed Fashion-MNIST at several resolutions (including the
scale-2 shortcut), and generated CIFAR-10 batches and a Tiny ImageNet tree
(colour and grayscale JPEGs written by OpenCV) at several resolutions.

usage: scripts/crosscheck-opencv.py path/to/nzk
Prints one line per case and exits non-zero on any mismatch.
"""
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def run_load(nzk, out, name, extra):
    cmd = [nzk, "datasets", "--load", name, "--out", out] + extra
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    with open(out + ".csv") as f:
        rows = list(csv.reader(f))[1:]
    with open(out + ".json") as f:
        meta = json.load(f)
    y = np.array([float(r[0]) for r in rows])
    idx = [int(float(r[1])) for r in rows]
    x = np.array([[float(v) for v in r[2:]] for r in rows])
    return y, idx, x, meta


def compare(label, x, ref):
    diff = np.abs(x - ref)
    bad = int(np.sum(x != ref))
    print(f"{'ok  ' if bad == 0 else 'FAIL'} {label}: {x.size} values, {bad} differ, "
          f"max |diff| {diff.max():.3g}")
    return bad == 0


def read_idx_images(path):
    with gzip.open(path) as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(3))
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, h, w)


def check_fashion(nzk, tmp):
    if not os.path.isdir(FASHION):
        print("skip Fashion-MNIST: not installed")
        return True
    imgs = read_idx_images(os.path.join(FASHION, "train-images-idx3-ubyte.gz"))
    ok = True
    for r in (8, 14, 10, 5, 3):
        _, idx, x, _ = run_load(nzk, os.path.join(tmp, "fm"), "fashion-mnist",
                                ["--resolution", str(r), "--seed", str(r)])
        ref = np.array([cv2.resize(imgs[i] / 255.0, (r, r)).reshape(-1) for i in idx])
        ok &= compare(f"fashion-mnist 28x28 -> {r}x{r}", x, ref)
    return ok


def check_cifar(nzk, tmp):
    rng = np.random.default_rng(5)
    root = os.path.join(tmp, "data", "cifar-10-batches-bin")
    os.makedirs(root, exist_ok=True)
    recs = {}
    for b in range(1, 6):
        n = 40
        labels = (np.arange(n) + b) % 10
        pix = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        with open(os.path.join(root, f"data_batch_{b}.bin"), "wb") as f:
            for i in range(n):
                f.write(bytes([labels[i]]) + pix[i].tobytes())
        for i in range(n):
            recs[(b - 1) * n + i] = pix[i].transpose(1, 2, 0)  # planes -> RGB
    ok = True
    for r in (8, 16, 7):
        _, idx, x, _ = run_load(nzk, os.path.join(tmp, "cf"), "cifar10",
                                ["--data", os.path.join(tmp, "data"), "--resolution", str(r)])
        ref = np.array([cv2.resize(cv2.cvtColor(recs[i], cv2.COLOR_RGB2GRAY) / 255.0,
                                   (r, r)).reshape(-1) for i in idx])
        ok &= compare(f"cifar10 (generated) 32x32 -> {r}x{r}", x, ref)
    return ok


def check_tiny(nzk, tmp):
    rng = np.random.default_rng(6)
    root = os.path.join(tmp, "data", "tiny-imagenet-200")
    wnids = ["n00000001", "n00000002"]
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "wnids.txt"), "w") as f:
        f.write("\n".join(wnids) + "\n")
    for k, w in enumerate(wnids):
        d = os.path.join(root, "train", w, "images")
        os.makedirs(d, exist_ok=True)
        for i in range(6):
            base = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            img = cv2.resize(base, (64, 64), interpolation=cv2.INTER_CUBIC)
            if i % 3 == 2:  # some grayscale JPEGs, as in Tiny ImageNet
                img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            cv2.imwrite(os.path.join(d, f"{w}_{i}.JPEG"), img)
    files = [os.path.join(root, "train", w, "images", f"{w}_{i}.JPEG")
             for w in wnids for i in range(6)]
    ok = True
    for r in (8, 32, 5):
        _, idx, x, _ = run_load(nzk, os.path.join(tmp, "tn"), "tiny-imagenet",
                                ["--data", os.path.join(tmp, "data"), "--resolution", str(r),
                                 "--per-class", "20"])
        ref = []
        for i in idx:
            img = cv2.imread(files[i], cv2.IMREAD_UNCHANGED)
            if img.ndim == 3:
                img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), cv2.COLOR_RGB2GRAY)
            ref.append(cv2.resize(img / 255.0, (r, r)).reshape(-1))
        ok &= compare(f"tiny-imagenet (generated JPEGs) 64x64 -> {r}x{r}", x, np.array(ref))
    return ok


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    nzk = os.path.abspath(sys.argv[1])
    print(f"OpenCV {cv2.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        ok = check_fashion(nzk, tmp) & check_cifar(nzk, tmp) & check_tiny(nzk, tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
