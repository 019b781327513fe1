"""Shared helpers of the PyTorch reference scripts (run with Debian's /usr/bin/python3).

The scripts build exactly the models of shared/REFERENCE.md so that latentcl's
figures can be compared like for like. PyTorch is timed in its fastest setting
here: OpenBLAS as the system BLAS, torch's own intra-op threads left at 1.
"""
import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import struct
import sys
import tempfile
import time

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


# ---- captions (the mmvae and clip references) ------------------------------------------------

PAD, BOS, EOS, UNK = 0, 1, 2, 3


def words(text):
    return re.findall(r"[A-Za-z0-9']+", text.lower())


def build_vocab(captions):
    count = {}
    for c in captions:
        for w in words(c):
            count[w] = count.get(w, 0) + 1
    order = sorted(count, key=lambda w: (-count[w], w))
    return ["<pad>", "<bos>", "<eos>", "<unk>"] + order


def encode(captions, vocab, T):
    index = {w: i for i, w in enumerate(vocab)}
    ids = np.zeros((len(captions), T), dtype=np.int64)
    eos = np.zeros(len(captions), dtype=np.int64)
    for i, c in enumerate(captions):
        toks = [index.get(w, UNK) for w in words(c)][: T - 2]
        row = [BOS] + toks + [EOS]
        ids[i, : len(row)] = row
        eos[i] = len(row) - 1
    import torch
    return torch.from_numpy(ids), torch.from_numpy(eos)


def decode(row, vocab):
    out = []
    for t in row.tolist()[1:]:
        if t in (EOS, PAD):
            break
        out.append(vocab[t])
    return " ".join(out)


def load_folder(path):
    """The images (N, 3, H, W) in [0, 1] and captions of a folder with a captions.tsv."""
    import torch
    from PIL import Image
    files, caps = [], []
    with open(os.path.join(path, "captions.tsv")) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[0] != "file":
                files.append(parts[0])
                caps.append(parts[1])
    x = np.stack([np.asarray(Image.open(os.path.join(path, n)).convert("RGB"), dtype=np.float32)
                  .transpose(2, 0, 1) / 255.0 for n in files])
    return torch.from_numpy(x), caps


def caption_pairs(n, T, vocab_size, seed, lengths):
    """Shapes-sized pairs for timing: sparse 32x32 images and captions of random words, caption
    i of lengths[i % len(lengths)] words; ids (n, T) as BOS words EOS, eos the index of EOS."""
    import torch
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, 32, 32, generator=g) > 0.9).float()
    ids = torch.zeros(n, T, dtype=torch.long)
    eos = torch.zeros(n, dtype=torch.long)
    for i in range(n):
        k = lengths[i % len(lengths)]
        ids[i, 0] = BOS
        ids[i, 1:k + 1] = torch.randint(4, vocab_size, (k,), generator=g)
        ids[i, k + 1] = EOS
        eos[i] = k + 1
    return x, ids, eos


def captioned_folder(path, T):
    """A folder with captions for training: images x, captions caps, their ids and eos (T
    columns), the vocabulary of the training part and n_test (the first tenth, held out)."""
    x, caps = load_folder(path)
    n_test = max(1, len(x) // 10)
    vocab = build_vocab(caps[n_test:])
    ids, eos = encode(caps, vocab, T)
    return x, caps, ids, eos, vocab, n_test


# ---- training and timing (the mmvae and clip references) -------------------------------------

def optimizer_step(opt, loss):
    opt.zero_grad()
    loss.backward()
    opt.step()


def train_epoch(opt, batch_loss, n, batch):
    """One pass over n items in random batches, batch_loss(idx) giving each batch's loss:
    milliseconds per step and the last loss."""
    import torch
    perm = torch.randperm(n)
    t0, steps = time.perf_counter(), 0
    for i in range(0, n, batch):
        loss = batch_loss(perm[i:i + batch])
        optimizer_step(opt, loss)
        steps += 1
    return 1e3 * (time.perf_counter() - t0) / steps, loss


def pytorch_step_ms(opt, batch_loss, n, batch, steps):
    """PyTorch's side: the median milliseconds of a training step on random batches of the n
    items (batch_loss(idx) builds the loss), over `steps` steps after 2 of warm-up."""
    import torch
    times = []
    for _ in range(steps + 2):
        idx = torch.randint(0, n, (batch,))
        t0 = time.perf_counter()
        optimizer_step(opt, batch_loss(idx))
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times[2:])


def latentcl_step_ms(cli, family, steps, batch, out, tmp, extra=()):
    """latentcl trains `family` (with the options in extra) `steps` steps on a shapes folder;
    the median of its per-step times (the first two steps, warm-up, dropped), from the run's
    metrics."""
    data = os.path.join(tmp, "shapes")
    if not os.path.isdir(data):
        subprocess.run([cli, "data", "shapes", "--n", str(max(4 * batch, 512)), "--out", data],
                       check=True, stdout=subprocess.DEVNULL)
    cmd = [cli, "train", family, "--data", data, "--iters", str(steps), "--batch", str(batch),
           "--lr", "1e-3", "--log-every", "1", "--out", out, "--force", *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))
            if '"elapsed_s"' in l and '"loss"' in l]
    el = [r["elapsed_s"] for r in rows]
    return 1e3 * statistics.median([b - a for a, b in zip(el, el[1:])][1:])


def emit_step_times(row, torch_ms, args, family, extra=()):
    """Prints the timing row: PyTorch's milliseconds per step and, with --latentcl, latentcl's
    (`latentcl train family` for the same steps on the same sizes) and their ratio."""
    row["pytorch_ms"] = torch_ms
    if args.latentcl:
        with tempfile.TemporaryDirectory() as tmp:
            ours = latentcl_step_ms(args.latentcl, family, args.time + 2, args.batch,
                                    os.path.join(tmp, "run"), tmp, extra)
        row.update({"latentcl_ms": ours, "ratio_pytorch_over_latentcl": torch_ms / ours})
    emit(row)


def reference_parser(doc, batch):
    """The options the mmvae and clip references share (--time, --latentcl, --data, ...)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time", type=int, default=0, help="time N training steps")
    p.add_argument("--latentcl", help="latentcl binary: time it on the same sizes in this run")
    p.add_argument("--data", help="a shapes folder (latentcl data shapes --out DIR) to train on")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    return p


def run_reference(args, time_steps, train):
    """Checks the BLAS, prints the configuration line, then times (--time) and trains (--data)."""
    import torch
    libs = require_fast_blas()
    torch.manual_seed(args.seed)
    emit({"config": config_line(), "blas_libs": libs})
    if args.time:
        time_steps(args)
    if args.data:
        train(args)
