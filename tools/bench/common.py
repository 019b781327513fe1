"""Shared helpers of the PyTorch reference scripts (run with Debian's /usr/bin/python3).

The scripts build exactly the models of shared/REFERENCE.md so that latentcl's
figures can be compared like for like. PyTorch is timed in its fastest setting
here: OpenBLAS as the system BLAS, torch's own intra-op threads left at 1.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np

FASHION_DIR = os.environ.get("LATENTCL_DATA", "/usr/share/datasets/fashion-mnist")


def blas_in_use():
    """The libblas that this process has mapped (PyTorch calls the system BLAS)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in path or "lapack" in path:
                libs.add(os.path.realpath(path))
    return sorted(libs)


def require_fast_blas():
    import torch  # noqa: F401  (loads libblas)
    torch.zeros(2, 2) @ torch.zeros(2, 2)
    libs = blas_in_use()
    if not any("openblas" in l for l in libs):
        sys.exit("refusing to time PyTorch with the reference BLAS (%s): install libopenblas-dev" % libs)
    return libs


def config_line():
    import torch
    return {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "blas": ",".join(os.path.basename(l) for l in blas_in_use()),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(split):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(FASHION_DIR, prefix + "-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(FASHION_DIR, prefix + "-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def emit(obj):
    print(json.dumps(obj), flush=True)
