#!/usr/bin/python3
"""PyTorch reference of latentcl's multimodal VAE (include/latentcl/mmvae.h, text.h).

  /usr/bin/python3 tools/bench/mmvae_reference.py --time 20 --latentcl build/latentcl
  /usr/bin/python3 tools/bench/mmvae_reference.py --data DIR --epochs 5   (a shapes folder)

The same model under the same state_dict names: the conv VAE's image encoder/decoder, the
text encoder and decoder (pre-LayerNorm transformers, d 128, 2 layers, 4 heads, causal),
a product of Gaussian experts with the prior N(0, I), and the MVAE loss: -ELBO of the joint
and of each modality alone (--cross: the one-modality terms reconstruct both).

--time N times N training steps (after 2 warm-up steps) on batches of shapes-like pairs
and, with --latentcl CLI, runs `latentcl train mmvae` for the same steps on the same sizes
in the same run and prints both medians and their ratio. --data DIR trains on a folder
written by `latentcl data shapes --out DIR` (PNGs + captions.tsv) and prints the held-out
caption accuracy (greedy caption equal word for word) per epoch.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import config_line, emit, require_fast_blas

PAD, BOS, EOS, UNK = 0, 1, 2, 3


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x, mask):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Trunk(nn.Module):
    def __init__(self, vocab, max_len, d, layers, heads):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d)
        self.position_embedding = nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(d)

    def run(self, x):
        T = x.shape[1]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)  # causal
        for b in self.blocks:
            x = b(x, mask)
        return self.ln_final(x)

    def embed(self, ids):
        return self.token_embedding(ids) + self.position_embedding.weight[: ids.shape[1]]


class TextEncoder(Trunk):
    def forward(self, ids, eos):  # (B, T), (B) -> (B, D): the state at <eos>
        h = self.run(self.embed(ids))
        return h[torch.arange(ids.shape[0]), eos]


class TextDecoder(Trunk):
    def __init__(self, vocab, max_len, d, layers, heads, cond_dim):
        super().__init__(vocab, max_len, d, layers, heads)
        self.cond = nn.Linear(cond_dim, d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids, z):  # teacher-forced (B, T), (B, Z) -> logits (B, T, V)
        x = self.embed(ids) + self.cond(z)[:, None, :]
        return self.head(self.run(x))


class MMVAE(nn.Module):
    """latentcl's mmvae under the same names (image_encoder.*, image_mu, text.*, text_mu,
    image_decoder.*, text_decoder.*)."""

    def __init__(self, vocab, channels=3, side=32, latent=32, hidden=256, max_len=16, d=128,
                 layers=2, heads=4):
        super().__init__()
        flat = 64 * (side // 4) ** 2
        self.shape = (channels, side, side)
        self.image_encoder = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU())
        self.image_mu, self.image_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.text = TextEncoder(vocab, max_len, d, layers, heads)
        self.text_mu, self.text_logvar = nn.Linear(d, latent), nn.Linear(d, latent)
        self.image_decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, flat), nn.ReLU(),
            nn.Unflatten(1, (64, side // 4, side // 4)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, channels, 4, 2, 1))
        self.text_decoder = TextDecoder(vocab, max_len, d, layers, heads, latent)

    def image_expert(self, x):
        h = self.image_encoder(x)
        return self.image_mu(h), self.image_logvar(h)

    def text_expert(self, ids, eos):
        h = self.text(ids, eos)
        return self.text_mu(h), self.text_logvar(h)

    @staticmethod
    def poe(experts):
        """Product of Gaussian experts with the prior N(0, I): precisions add."""
        T = 1 + sum(torch.exp(-lv) for _, lv in experts)
        num = sum(mu * torch.exp(-lv) for mu, lv in experts)
        logvar = -torch.log(T)
        return num * torch.exp(logvar), logvar

    def text_rec(self, ids, z):
        logits = self.text_decoder(ids, z)[:, :-1]
        target = ids[:, 1:]
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                             ignore_index=PAD, reduction="sum")
        return ce / ids.shape[0]

    def loss(self, x, ids, eos, beta=1.0, text_weight=1.0, cross=False):
        ex, ey = self.image_expert(x), self.text_expert(ids, eos)
        rec_x = rec_y = kl = 0.0
        for given in ("xy", "x", "y"):
            experts = ([ex] if "x" in given else []) + ([ey] if "y" in given else [])
            mu, lv = self.poe(experts)
            z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            rec = "xy" if cross else given
            if "x" in rec:
                rec_x = rec_x + F.binary_cross_entropy_with_logits(
                    self.image_decoder(z), x, reduction="sum") / x.shape[0]
            if "y" in rec:
                rec_y = rec_y + self.text_rec(ids, z)
            kl = kl + 0.5 * (mu.pow(2) + lv.exp() - 1 - lv).sum(1).mean()
        return rec_x + text_weight * rec_y + beta * kl, (rec_x, rec_y, kl)

    @torch.no_grad()
    def caption(self, x, max_len):
        z = self.poe([self.image_expert(x)])[0]
        ids = torch.full((x.shape[0], max_len), PAD, dtype=torch.long)
        ids[:, 0] = BOS
        done = torch.zeros(x.shape[0], dtype=torch.bool)
        for t in range(max_len - 1):
            logits = self.text_decoder(ids[:, : t + 1], z)[:, t]
            logits[:, PAD] = logits[:, BOS] = -float("inf")
            nxt = logits.argmax(1)
            ids[:, t + 1] = torch.where(done, torch.full_like(nxt, PAD), nxt)
            done |= nxt == EOS
            if done.all():
                break
        return ids


# ---- data ------------------------------------------------------------------------------------

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
    return torch.from_numpy(ids), torch.from_numpy(eos)


def decode(row, vocab):
    out = []
    for t in row.tolist()[1:]:
        if t in (EOS, PAD):
            break
        out.append(vocab[t])
    return " ".join(out)


def load_folder(path):
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


def synthetic(n, T, vocab_size, seed):
    """Shapes-sized pairs for timing: sparse images, captions of 7-8 words."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 3, 32, 32, generator=g) > 0.9).float()
    ids = torch.zeros(n, T, dtype=torch.long)
    eos = torch.zeros(n, dtype=torch.long)
    for i in range(n):
        k = 7 + i % 2
        ids[i, 0] = BOS
        ids[i, 1:k + 1] = torch.randint(4, vocab_size, (k,), generator=g)
        ids[i, k + 1] = EOS
        eos[i] = k + 1
    return x, ids, eos


# ---- timing side by side ---------------------------------------------------------------------

def latentcl_step_ms(cli, steps, args, out, tmp):
    """latentcl trains the same model `steps` steps on a shapes folder; the median of its
    per-step times (the first two steps, warm-up, dropped), from the run's metrics."""
    data = os.path.join(tmp, "shapes")
    if not os.path.isdir(data):
        subprocess.run([cli, "data", "shapes", "--n", str(max(4 * args.batch, 512)), "--out", data],
                       check=True, stdout=subprocess.DEVNULL)
    cmd = [cli, "train", "mmvae", "--data", data, "--iters", str(steps), "--batch", str(args.batch),
           "--lr", "1e-3", "--log-every", "1", "--out", out, "--force"]
    if args.cross:
        cmd.append("--cross")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl"))
            if '"elapsed_s"' in l and '"loss"' in l]
    el = [r["elapsed_s"] for r in rows]
    return 1e3 * statistics.median([b - a for a, b in zip(el, el[1:])][1:])


def time_steps(args):
    T, V = 16, 32
    model = MMVAE(V)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, ids, eos = synthetic(max(4 * args.batch, 512), T, V, args.seed)
    times = []
    for s in range(args.time + 2):
        idx = torch.randint(0, len(x), (args.batch,))
        t0 = time.perf_counter()
        loss, _ = model.loss(x[idx], ids[idx], eos[idx], cross=args.cross)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    torch_ms = 1e3 * statistics.median(times[2:])
    row = {"bench": "mmvae_step", "batch": args.batch, "cross": args.cross,
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
    model = MMVAE(len(vocab), latent=args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    xtr, itr, etr = x[n_test:], ids[n_test:], eos[n_test:]
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        t0, steps = time.perf_counter(), 0
        for i in range(0, len(xtr), args.batch):
            b = perm[i:i + args.batch]
            beta = min(1.0, (step + 1) / args.kl_warmup) if args.kl_warmup else 1.0
            loss, _ = model.loss(xtr[b], itr[b], etr[b], beta=beta, text_weight=args.text_weight,
                                 cross=args.cross)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            step += 1
        ms = 1e3 * (time.perf_counter() - t0) / steps
        model.eval()
        got = model.caption(x[:n_test], T)
        hits = sum(decode(row, vocab) == " ".join(words(c)) for row, c in zip(got, caps[:n_test]))
        emit({"epoch": epoch, "caption_exact": hits / n_test, "n_test": n_test, "ms_per_step": ms,
              "loss": loss.item()})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time", type=int, default=0, help="time N training steps")
    p.add_argument("--latentcl", help="latentcl binary: time it on the same sizes in this run")
    p.add_argument("--data", help="a shapes folder (latentcl data shapes --out DIR) to train on")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--kl-warmup", type=int, default=0)
    p.add_argument("--text-weight", type=float, default=1.0)
    p.add_argument("--cross", action="store_true")
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
