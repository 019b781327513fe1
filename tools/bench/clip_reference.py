#!/usr/bin/python3
"""PyTorch reference of latentcl's CLIP-style aligned embeddings (include/latentcl/clip.h).

  /usr/bin/python3 tools/bench/clip_reference.py --time 20 --latentcl build/latentcl
  /usr/bin/python3 tools/bench/clip_reference.py --data DIR --epochs 5   (a shapes folder)

The same model under the same state_dict names: the conv VAE's image encoder
(image.0 Conv2d(C, 32, 4, 2, 1), ReLU, image.2 Conv2d(32, 64, 4, 2, 1), ReLU, flatten,
image.5 Linear(64 H/4 W/4, 256), ReLU) and image_projection Linear(256, 128, bias=False);
the text encoder of text.h (pre-LayerNorm causal transformer, d 128, 2 layers, 4 heads, the
state at <eos>) and text_projection Linear(128, 128, bias=False); logit_scale (1) initialised
ln(1/0.07), exp clamped at 100; the symmetric InfoNCE loss with captions that repeat in a batch
as positives (a uniform target over them).

--time N times N training steps (after 2 warm-up steps) on batches of shapes-like pairs
(captions of 7-10 words, as the shapes folder latentcl trains on) and,
with --latentcl CLI, runs `latentcl train clip` for the same steps on the same sizes in the
same run and prints both medians and their ratio. --data DIR trains on a folder written by
`latentcl data shapes --out DIR` and prints held-out recall@1 in both directions per epoch.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import config_line, emit, require_fast_blas
from mmvae_reference import BOS, EOS, TextEncoder, build_vocab, encode, load_folder, words


class CLIP(nn.Module):
    def __init__(self, vocab, channels=3, side=32, hidden=256, embed=128, max_len=16, d=128,
                 layers=2, heads=4):
        super().__init__()
        flat = 64 * (side // 4) ** 2
        self.image = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU())
        self.image_projection = nn.Linear(hidden, embed, bias=False)
        self.text = TextEncoder(vocab, max_len, d, layers, heads)
        self.text_projection = nn.Linear(d, embed, bias=False)
        self.logit_scale = nn.Parameter(torch.full((1,), math.log(1 / 0.07)))
        # latentcl's text init (CLIP's): token N(0, 0.02^2), position N(0, 0.01^2)
        nn.init.normal_(self.text.token_embedding.weight, std=0.02)
        nn.init.normal_(self.text.position_embedding.weight, std=0.01)

    def embed_images(self, x):
        return F.normalize(self.image_projection(self.image(x)), dim=-1)

    def embed_texts(self, ids, eos):
        return F.normalize(self.text_projection(self.text(ids, eos)), dim=-1)

    def loss(self, x, ids, eos):
        u, v = self.embed_images(x), self.embed_texts(ids, eos)
        logits = self.logit_scale.exp().clamp(max=100) * u @ v.t()  # (images, captions)
        same = (ids[:, None, :] == ids[None, :, :]).all(-1).float()  # word for word
        target = same / same.sum(1, keepdim=True)  # symmetric: columns alike
        row = -(target * logits.log_softmax(1)).sum(1).mean()
        col = -(target * logits.log_softmax(0)).sum(0).mean()
        return (row + col) / 2


def recall_at_1(model, x, ids, eos):
    """Image -> caption and caption -> image recall@1 among the pairs, a hit when the
    retrieved caption is word for word the true one."""
    with torch.no_grad():
        u, v = model.embed_images(x), model.embed_texts(ids, eos)
    same = (ids[:, None, :] == ids[None, :, :]).all(-1)
    sim = u @ v.t()
    i2t = same[torch.arange(len(x)), sim.argmax(1)].float().mean().item()
    t2i = same[sim.argmax(0), torch.arange(len(x))].float().mean().item()
    return i2t, t2i


# ---- timing side by side ---------------------------------------------------------------------

def shapes_like(n, T, vocab_size, seed):
    """Pairs of the shapes folder's sizes: sparse 32x32 images and captions of 7 to 10 words
    (the generator's one- and two-shape captions), so the batch's longest caption, which
    sets the text encoder's columns on both sides, is the same as latentcl's (12 tokens)."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, 32, 32, generator=g) > 0.9).float()
    ids = torch.zeros(n, T, dtype=torch.long)
    eos = torch.zeros(n, dtype=torch.long)
    for i in range(n):
        k = 7 + i % 4
        ids[i, 0] = BOS
        ids[i, 1:k + 1] = torch.randint(4, vocab_size, (k,), generator=g)
        ids[i, k + 1] = EOS
        eos[i] = k + 1
    return x, ids, eos


def latentcl_step_ms(cli, steps, args, out, tmp):
    """latentcl trains the same model `steps` steps on a shapes folder; the median of its
    per-step times (the first two steps, warm-up, dropped), from the run's metrics."""
    data = os.path.join(tmp, "shapes")
    if not os.path.isdir(data):
        subprocess.run([cli, "data", "shapes", "--n", str(max(4 * args.batch, 512)), "--out", data],
                       check=True, stdout=subprocess.DEVNULL)
    cmd = [cli, "train", "clip", "--data", data, "--iters", str(steps), "--batch", str(args.batch),
           "--lr", "1e-3", "--log-every", "1", "--out", out, "--force"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))
            if '"elapsed_s"' in l and '"loss"' in l]
    el = [r["elapsed_s"] for r in rows]
    return 1e3 * statistics.median([b - a for a, b in zip(el, el[1:])][1:])


def time_steps(args):
    T, V = 16, 32
    model = CLIP(V)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, ids, eos = shapes_like(max(4 * args.batch, 512), T, V, args.seed)
    times = []
    for s in range(args.time + 2):
        idx = torch.randint(0, len(x), (args.batch,))
        t0 = time.perf_counter()
        tb = int(eos[idx].max()) + 1  # as latentcl: columns up to the longest caption
        loss = model.loss(x[idx], ids[idx, :tb], eos[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    torch_ms = 1e3 * statistics.median(times[2:])
    row = {"bench": "clip_step", "batch": args.batch,
           "params": sum(p.numel() for p in model.parameters()), "pytorch_ms": torch_ms}
    if args.latentcl:
        with tempfile.TemporaryDirectory() as tmp:
            ours = latentcl_step_ms(args.latentcl, args.time + 2, args, os.path.join(tmp, "run"), tmp)
        row.update({"latentcl_ms": ours, "ratio_pytorch_over_latentcl": torch_ms / ours})
    emit(row)


def train(args):
    x, caps = load_folder(args.data)
    n_test = max(1, len(x) // 10)
    vocab = build_vocab(caps[n_test:])
    T = 16
    ids, eos = encode(caps, vocab, T)
    model = CLIP(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    xtr, itr, etr = x[n_test:], ids[n_test:], eos[n_test:]
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        t0, steps = time.perf_counter(), 0
        for i in range(0, len(xtr), args.batch):
            b = perm[i:i + args.batch]
            tb = int(etr[b].max()) + 1
            loss = model.loss(xtr[b], itr[b, :tb], etr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
        ms = 1e3 * (time.perf_counter() - t0) / steps
        model.eval()
        i2t, t2i = recall_at_1(model, x[:n_test], ids[:n_test], eos[:n_test])
        emit({"epoch": epoch, "recall_at_1_i2t": i2t, "recall_at_1_t2i": t2i, "n_test": n_test,
              "ms_per_step": ms, "loss": loss.item(),
              "logit_scale": model.logit_scale.exp().clamp(max=100).item()})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time", type=int, default=0, help="time N training steps")
    p.add_argument("--latentcl", help="latentcl binary: time it on the same sizes in this run")
    p.add_argument("--data", help="a shapes folder (latentcl data shapes --out DIR) to train on")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    libs = require_fast_blas()
    torch.manual_seed(args.seed)
    emit({"config": config_line(), "blas_libs": libs})
    if args.time:
        time_steps(args)
    if args.data:
        train(args)


if __name__ == "__main__":
    main()
