#!/usr/bin/python3
"""PyTorch reference of latentcl's VAE on Fashion-MNIST (shared/REFERENCE.md).

  /usr/bin/python3 tools/bench/vae_reference.py --model mlp --epochs 10 --seed 0
  /usr/bin/python3 tools/bench/vae_reference.py --model conv --epochs 10
  /usr/bin/python3 tools/bench/vae_reference.py --check RUN --cli build/latentcl

Training prints one JSON line per epoch (test -ELBO split into rec and KL, nats per
image, one draw per image; ms per step) and the configuration PyTorch ran in; --iwae K
adds the IWAE bound at the end. --check loads a latentcl run into the same module (via
`latentcl export`), decodes the codes that `latentcl sample --tsv` decoded and reports
the largest difference (goal <= 1e-4), and compares the test -ELBO (mean of --draws
draws) with `latentcl eval --json` (goal: within 0.3 nats).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from classifier_reference import load_safetensors
from common import config_line, emit, fashion_mnist, require_fast_blas


class VAE(nn.Module):
    """latentcl's VAE under the same state_dict names (include/latentcl/vae.h), so that a
    latentcl export loads with strict=True."""

    def __init__(self, model="mlp", latent=32, hidden=(512, 256), side=28, channels=1):
        super().__init__()
        h1, h2 = hidden
        P = channels * side * side
        self.model, self.shape = model, (channels, side, side)
        if model == "mlp":
            self.encoder = nn.Sequential(nn.Linear(P, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU())
            self.decoder = nn.Sequential(nn.Linear(latent, h2), nn.ReLU(), nn.Linear(h2, h1), nn.ReLU(),
                                         nn.Linear(h1, P))
        else:
            flat = 64 * (side // 4) * (side // 4)
            self.encoder = nn.Sequential(
                nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                nn.Flatten(), nn.Linear(flat, h2), nn.ReLU())
            self.decoder = nn.Sequential(
                nn.Linear(latent, h2), nn.ReLU(), nn.Linear(h2, flat), nn.ReLU(),
                nn.Unflatten(1, (64, side // 4, side // 4)),
                nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, channels, 4, 2, 1))
        self.fc_mu = nn.Linear(h2, latent)
        self.fc_logvar = nn.Linear(h2, latent)

    def encode(self, x):  # q(z|x): mean and log-variance
        h = self.encoder(x.flatten(1) if self.model == "mlp" else x.view(-1, *self.shape))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z):  # p(x|z): Bernoulli logits, (B, P)
        return self.decoder(z).flatten(1)

    def neg_elbo(self, x):
        """Per-image reconstruction and KL terms (nats), one reparameterised draw."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.decode(z)
        rec = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return rec, kl

    def iwae(self, x, k):
        """-log p(x) bound with k importance samples, per image."""
        mu, logvar = self.encode(x)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(k, *mu.shape)
        z = mu + std * eps  # (k, B, Z)
        logits = self.decode(z.flatten(0, 1)).view(k, x.shape[0], -1)
        log_px = -F.binary_cross_entropy_with_logits(
            logits, x.flatten(1).expand(k, -1, -1), reduction="none").sum(2)
        log_pz = -0.5 * z.pow(2).sum(2)
        log_qz = -0.5 * eps.pow(2).sum(2) - 0.5 * logvar.sum(1)
        logw = log_px + log_pz - log_qz
        return -(torch.logsumexp(logw, 0) - math.log(k))


def evaluate(model, x, batch=500, draws=1):
    model.eval()
    rec = kl = 0.0
    with torch.no_grad():
        for _ in range(draws):
            for i in range(0, len(x), batch):
                r, k = model.neg_elbo(x[i:i + batch])
                rec += r.sum().item()
                kl += k.sum().item()
    n = len(x) * draws
    return rec / n, kl / n


def evaluate_iwae(model, x, k, batch=50):
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            total += model.iwae(x[i:i + batch], k).sum().item()
    return total / len(x)


def train(args):
    libs = require_fast_blas()
    torch.manual_seed(args.seed)
    xtr = torch.from_numpy(fashion_mnist("train")[0].reshape(-1, 1, 28, 28).copy())
    xte = torch.from_numpy(fashion_mnist("test")[0].reshape(-1, 1, 28, 28).copy())
    model = VAE(args.model, args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    emit({"config": config_line(), "blas_libs": libs, "model": args.model, "latent": args.latent,
          "batch": args.batch})
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr))
        t0, steps = time.perf_counter(), 0
        for i in range(0, len(xtr), args.batch):
            x = xtr[perm[i:i + args.batch]]
            rec, kl = model.neg_elbo(x)
            loss = (rec + kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
        ms = 1e3 * (time.perf_counter() - t0) / steps
        rec, kl = evaluate(model, xte)
        emit({"epoch": epoch, "test_neg_elbo": rec + kl, "test_rec": rec, "test_kl": kl,
              "ms_per_step": ms, "steps": steps})
    if args.iwae:
        emit({"iwae_neg_ll": evaluate_iwae(model, xte, args.iwae), "iwae_k": args.iwae})


def check(args):
    """A latentcl run loaded into the PyTorch module: same decoder outputs, same -ELBO."""
    cli, run = args.cli, args.check
    with tempfile.TemporaryDirectory() as tmp:
        exported, tsv = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "s.tsv")
        subprocess.run([cli, "export", run, "--out", exported], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([cli, "sample", run, "--n", "64", "--seed", "1", "--out",
                        os.path.join(tmp, "s.png"), "--tsv", tsv], check=True, stdout=subprocess.DEVNULL)
        ev = json.loads(subprocess.run([cli, "eval", run, "--json"], check=True,
                                       capture_output=True, text=True).stdout.strip().splitlines()[-1])
        with open(os.path.join(run, "config.json")) as f:
            cfg = json.load(f)["model"]
        state = {k: torch.as_tensor(np.asarray(v)) for k, v in load_safetensors(exported).items()}
        z, xs = [], []
        with open(tsv) as f:
            for line in f:
                a, b = line.rstrip("\n").split("\t")
                z.append([float(v) for v in a.split()])
                xs.append([float(v) for v in b.split()])
    model = VAE(cfg["model"], cfg["latent"], tuple(cfg["hidden"]), cfg["height"], cfg["channels"])
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        ours = torch.sigmoid(model.decode(torch.tensor(z))).numpy()
    err = float(np.abs(ours - np.array(xs, dtype=np.float64)).max())
    torch.manual_seed(args.seed)
    xte = torch.from_numpy(fashion_mnist("test")[0].reshape(-1, 1, 28, 28).copy())
    rec, kl = evaluate(model, xte, draws=args.draws)
    diff = abs(rec + kl - ev["test_neg_elbo"])
    emit({"decoder_max_abs_err": err, "decoder_ok": err <= 1e-4,
          "torch_test_neg_elbo": rec + kl, "torch_test_rec": rec, "torch_test_kl": kl,
          "torch_draws": args.draws, "latentcl_test_neg_elbo": ev["test_neg_elbo"],
          "neg_elbo_diff": diff, "neg_elbo_ok": diff <= 0.3})
    return 0 if err <= 1e-4 and diff <= 0.3 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "conv"], default="mlp")
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iwae", type=int, default=0, help="IWAE bound with K samples at the end")
    p.add_argument("--check", metavar="RUN", help="compare a latentcl run with this module")
    p.add_argument("--cli", default="latentcl", help="the latentcl program for --check")
    p.add_argument("--draws", type=int, default=5, help="--check: draws averaged in the -ELBO")
    args = p.parse_args()
    if args.check:
        sys.exit(check(args))
    train(args)


if __name__ == "__main__":
    main()
