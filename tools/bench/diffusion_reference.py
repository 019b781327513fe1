#!/usr/bin/python3
"""PyTorch reference of latentcl's class-conditional diffusion U-Net (shared/REFERENCE.md).

  # step time side by side (PyTorch and latentcl alternately, same data and batch, medians of
  # --rounds rounds), and DDIM 50 sampling speed at each --guidance
  /usr/bin/python3 tools/bench/diffusion_reference.py --time 10 --rounds 3 --guidance 1,3 \\
      --latentcl build/latentcl
  # train for 40 minutes (or --steps N), judging every 5 minutes with a latentcl classifier
  /usr/bin/python3 tools/bench/diffusion_reference.py --minutes 40 --eval-every 5 \\
      --judge runs/judge --cli build/latentcl --n 500 --guidance 1,3
  # a latentcl run loaded into this module (strict state_dict), sampled here and judged
  /usr/bin/python3 tools/bench/diffusion_reference.py --check runs/dif --judge runs/judge \\
      --cli build/latentcl --n 500

The model is latentcl's unet-tiny (src/models/diffusion_unet.c) under the same state_dict
names, so `latentcl export` weights load with strict=True: widths 16/32/64, one residual block
per level (GroupNorm(8), SiLU, conv 3x3, + the time projection, GroupNorm, SiLU, conv 3x3, a
1x1 skip conv where the width changes), 2x2 average pooling down, nearest x2 up with the skip
concatenated, single-head self-attention at 7x7, sinusoidal time features (16) through an MLP
to 64, a class embedding (K + 1 rows; row K = "no class") added to the time embedding.
DDPM linear betas 1e-4..0.02, T = 1000, epsilon prediction, label dropped 10% of the time,
Adam 1e-3, EMA 0.999, batch 128, data scaled to [-1, 1]. Sampling: DDIM 50 (eta 0), EMA
weights, classifier-free guidance eps = eps_u + w (eps_c - eps_u) in one pass over 2n rows
(w = 1: n rows, conditional only). Judge accuracy: the share of samples (N/10 per class) that
the judge (a latentcl conv classifier, exported) assigns the requested class.
"""
import argparse
import copy
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from classifier_reference import Classifier, load_safetensors
from common import config_line, emit, fashion_mnist, require_fast_blas

GROUPS = 8


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):  # e: SiLU(time (+ class) embedding), (n, tdim)
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(e)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class Attention(nn.Module):
    """x + proj(softmax(q k^T / sqrt(C)) v) over the H W positions, one head of width C."""

    def __init__(self, ch):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        n, c, hh, ww = x.shape
        q, k, v = self.qkv(self.norm(x)).view(n, 3, c, hh * ww).permute(1, 0, 3, 2)  # (n, T, C)
        o = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1) @ v
        return x + self.proj(o.transpose(1, 2).reshape(n, c, hh, ww))


class Level(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.res = nn.ModuleList(blocks)


class UNet(nn.Module):
    def __init__(self, channels=1, widths=(16, 32, 64), depth=1, n_classes=10, time_dim=None):
        super().__init__()
        w, tdim = widths, 4 * widths[0]
        self.time_dim, self.n_classes = time_dim or w[0], n_classes
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        if n_classes:
            self.class_emb = nn.Embedding(n_classes + 1, tdim)
        self.conv_in = nn.Conv2d(channels, w[0], 3, padding=1)
        self.down = nn.ModuleList(
            Level([ResBlock((w[l - 1] if l else w[0]) if b == 0 else w[l], w[l], tdim) for b in range(depth)])
            for l in range(3))
        self.mid = nn.Module()
        self.mid.attn = Attention(w[2])
        self.up = nn.ModuleList(
            Level([ResBlock(w[l + 1] + w[l] if b == 0 and l < 2 else w[l], w[l], tdim) for b in range(depth)])
            for l in range(3))
        self.norm_out = nn.GroupNorm(GROUPS, w[0])
        self.conv_out = nn.Conv2d(w[0], channels, 3, padding=1)

    def features(self, t):  # [sin(t f_j), cos(t f_j)], f_j = 10000^(-j / (dim/2))
        half = self.time_dim // 2
        f = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        a = t.float()[:, None] * f[None]
        return torch.cat([torch.sin(a), torch.cos(a)], dim=1)

    def forward(self, x, t, y=None):
        e = self.time_mlp(self.features(t))
        if self.n_classes and y is not None:
            e = e + self.class_emb(y)
        e = F.silu(e)
        h = self.conv_in(x)
        skips = []
        for l in range(3):
            for blk in self.down[l].res:
                h = blk(h, e)
            if l < 2:
                skips.append(h)
                h = F.avg_pool2d(h, 2)
        h = self.mid.attn(h)
        for l in (2, 1, 0):
            if l < 2:
                h = torch.cat([F.interpolate(h, scale_factor=2, mode="nearest"), skips[l]], dim=1)
            for blk in self.up[l].res:
                h = blk(h, e)
        return self.conv_out(F.silu(self.norm_out(h)))


class Diffusion:
    def __init__(self, T=1000):
        self.T = T
        # beta_1..beta_T: DDPM's 1e-4..0.02 at T = 1000, scaled by 1000/T otherwise (as latentcl)
        beta = torch.linspace(min(1e-4 * 1000 / T, 0.999), min(0.02 * 1000 / T, 0.999), T, dtype=torch.float64)
        self.abar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - beta, 0)])  # t = 0..T

    def loss(self, model, x0, y, p_uncond=0.1):
        n = x0.shape[0]
        t = torch.randint(1, self.T + 1, (n,))
        y = torch.where(torch.rand(n) < p_uncond, torch.full_like(y, model.n_classes), y)
        eps = torch.randn_like(x0)
        ab = self.abar[t].float()[:, None, None, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        return F.mse_loss(model(xt, t, y), eps)

    @torch.no_grad()
    def ddim(self, model, y, w=1.0, steps=50, shape=(1, 28, 28), gen=None):
        n, K = y.shape[0], model.n_classes
        x = torch.randn((n,) + shape, generator=gen)
        tau = [round((i + 1) * self.T / steps) for i in range(steps)]
        for k in range(steps - 1, -1, -1):
            t, tp = tau[k], tau[k - 1] if k > 0 else 0
            tt = torch.full((n,), t, dtype=torch.long)
            if w == 1.0:
                eps = model(x, tt, y)
            else:  # one pass over the conditional and unconditional rows
                both = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, torch.full_like(y, K)]))
                ec, eu = both[:n], both[n:]
                eps = eu + w * (ec - eu)
            ab, abp = float(self.abar[t]), float(self.abar[tp])
            x = math.sqrt(abp / ab) * x + (math.sqrt(1 - abp) - math.sqrt(abp) * math.sqrt(1 - ab) / math.sqrt(ab)) * eps
        return ((x + 1) / 2).clamp(0, 1)


def ema_decay(args, step):
    """latentcl's rule: the decay of update t = step + 1 is min(ema, (1 + t) / (w + t))."""
    if args.ema_warmup <= 0:
        return args.ema
    t = step + 1
    return min(args.ema, (1 + t) / (args.ema_warmup + t))


def ema_update(ema, model, decay):
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), model.parameters()):
            pe.mul_(decay).add_(p, alpha=1 - decay)


def export_run(cli, run, out, weights="ema"):
    args = [cli, "export", run, "--out", out]
    if weights:
        args[3:3] = ["--weights", weights]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def load_judge(args, tmp):
    if not args.judge:
        return None
    path = args.judge
    if not path.endswith(".safetensors"):
        path = os.path.join(tmp, "judge.safetensors")
        export_run(args.cli, args.judge, path, weights=None)
    judge = Classifier("conv")
    judge.load_state_dict(load_safetensors(path), strict=True)
    return judge.eval()


def judge_features(judge, x):
    """The judge's penultimate layer: the 128-wide dense layer after its ReLU."""
    return judge.layers[:-1](x)


def feature_stats(f):
    """Mean and unbiased covariance (as numpy.cov and latentcl), float64."""
    f = f.double()
    mu = f.mean(0)
    c = f - mu
    return mu, c.T @ c / (len(f) - 1)


def frechet_distance(s1, s2):
    """|mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2, float64 eigen-decompositions
    (the same route as latentcl's LAPACK dsyev one)."""
    (mu1, c1), (mu2, c2) = s1, s2
    w, v = torch.linalg.eigh(c1)
    r = v @ torch.diag(w.clamp(min=0).sqrt()) @ v.T
    m = r @ c2 @ r
    tr_sqrt = torch.linalg.eigvalsh(0.5 * (m + m.T)).clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + c1.trace() + c2.trace() - 2 * tr_sqrt)


_real_stats = {}


def real_stats(judge):
    """The judge's features of the 10,000 Fashion-MNIST test images (computed once)."""
    if "test" not in _real_stats:
        x, _ = fashion_mnist("test")
        with torch.no_grad():
            f = torch.cat([judge_features(judge, torch.from_numpy(x[i:i + 1000]).unsqueeze(1))
                           for i in range(0, len(x), 1000)])
        _real_stats["test"] = feature_stats(f)
    return _real_stats["test"]


def judge_accuracy(diff, model, judge, n, w, seed=0, batch=250):
    """The share of n samples (n/10 per class) the judge assigns the requested class, and the
    Frechet distance between the judge's features of them and of the test images."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % model.n_classes
    correct, feats = 0, []
    model.eval()
    with torch.no_grad():
        for i in range(0, n, batch):
            x = diff.ddim(model, y[i:i + batch], w=w, gen=gen)
            f = judge_features(judge, x)
            feats.append(f)
            correct += (judge.layers[-1](f).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return {"judge_accuracy": correct / n,
            "frechet_distance": frechet_distance(feature_stats(torch.cat(feats)), real_stats(judge))}


def sync():
    """Waits for queued GPU work (with --device cuda), so that a timer measures it."""
    if torch.cuda.is_available() and torch.get_default_device().type == "cuda":
        torch.cuda.synchronize()


def sampling_speed(diff, model, n, w):
    y = torch.arange(n) % model.n_classes
    sync()
    t0 = time.perf_counter()
    diff.ddim(model, y, w=w)
    sync()
    return n / (time.perf_counter() - t0)


def latentcl_step_ms(cli, steps, out):
    """latentcl trains the same model `steps` steps; the median of its per-step times (the
    first two steps, warm-up, dropped), from the run's metrics."""
    t0 = time.perf_counter()
    subprocess.run([cli, "train", "diffusion", "--data", "fashion-mnist", "--model", "unet-tiny",
                    "--cond", "class", "--iters", str(steps), "--batch", "128", "--lr", "1e-3",
                    "--log-every", "1", "--out", out, "--force"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    rows = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if '"elapsed_s"' in l]
    el = [r["elapsed_s"] for r in rows]
    dts = [b - a for a, b in zip(el, el[1:])][1:]
    return 1e3 * statistics.median(dts), wall


def latentcl_sampling(cli, run, n, w):
    t0 = time.perf_counter()
    r = subprocess.run([cli, "sample", run, "--n", str(n), "--guidance", str(w), "--out",
                        os.path.join(run, "speed.png"), "--json"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = json.loads(r.stdout.strip().splitlines()[-1])
    return n / line.get("sample_s", wall), wall


def torch_step_ms(args, model, ema, opt, diff, xtr, ytr, steps):
    """Median time of `steps` PyTorch training steps (2 warm-up steps dropped)."""
    times = []
    for _ in range(steps + 2):
        idx = torch.randint(0, len(xtr), (args.batch,))
        sync()
        t0 = time.perf_counter()
        loss = diff.loss(model, xtr[idx], ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_update(ema, model, args.ema)
        sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times[2:])


def time_side_by_side(args, model, diff, xtr, ytr):
    """PyTorch and latentcl alternately, --rounds times each (a shared machine's load drifts:
    alternating puts both under the same drift), then the medians and their ratio."""
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    ema = copy.deepcopy(model)
    gw = [float(v) for v in args.guidance.split(",")]
    torch_ms, ours_ms, torch_ips, ours_ips = [], [], {w: [] for w in gw}, {w: [] for w in gw}
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, "run")
        for _ in range(args.rounds):
            torch_ms.append(torch_step_ms(args, model, ema, opt, diff, xtr, ytr, args.time))
            if args.latentcl:
                ours_ms.append(latentcl_step_ms(args.latentcl, args.time + 2, run)[0])
            for w in gw:
                torch_ips[w].append(sampling_speed(diff, ema, args.sample_n, w))
                if args.latentcl:
                    ours_ips[w].append(latentcl_sampling(args.latentcl, run, args.sample_n, w)[0])
    med = statistics.median
    row = {"bench": "diffusion_train_step", "batch": args.batch, "steps": args.time,
           "rounds": args.rounds, "pytorch_ms": med(torch_ms), "pytorch_ms_rounds": torch_ms,
           **config_line()}
    if args.latentcl:
        row.update({"latentcl_ms": med(ours_ms), "latentcl_ms_rounds": ours_ms,
                    "ratio_pytorch_over_latentcl": med(torch_ms) / med(ours_ms)})
    emit(row)
    for w in gw:
        r = {"bench": "diffusion_sampling", "sampler": "ddim", "steps": 50, "guidance": w,
             "n": args.sample_n, "pytorch_images_per_s": med(torch_ips[w])}
        if args.latentcl:
            r.update({"latentcl_images_per_s": med(ours_ips[w]),
                      "ratio_latentcl_over_pytorch": med(ours_ips[w]) / med(torch_ips[w])})
        emit(r)


def train(args, model, diff, xtr, ytr, judge):
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    ema = copy.deepcopy(model)
    gw = [float(v) for v in args.guidance.split(",")]
    step, trained_s, next_eval = 0, 0.0, args.eval_every * 60 if args.eval_every else None
    last_eval_step = -1
    limit_s = args.minutes * 60 if args.minutes else None
    gen = torch.Generator().manual_seed(args.seed)
    perm, pos = torch.randperm(len(xtr), generator=gen), 0
    while (args.steps and step < args.steps) or (limit_s and trained_s < limit_s):
        if pos + args.batch > len(xtr):
            perm, pos = torch.randperm(len(xtr), generator=gen), 0
        idx = perm[pos:pos + args.batch]
        pos += args.batch
        t0 = time.perf_counter()
        loss = diff.loss(model, xtr[idx], ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_update(ema, model, ema_decay(args, step))
        trained_s += time.perf_counter() - t0
        step += 1
        if step % 500 == 0:
            emit({"step": step, "loss": loss.item(), "train_s": trained_s})
        if judge is not None and next_eval and trained_s >= next_eval:
            next_eval += args.eval_every * 60
            last_eval_step = step
            for w in gw:
                emit({"framework": "pytorch", "train_s": trained_s, "step": step, "guidance": w,
                      "n": args.n, "weights": "ema", **judge_accuracy(diff, ema, judge, args.n, w)})
            if args.save:
                torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "step": step,
                            "train_s": trained_s}, "%s.%03dmin" % (args.save, round(trained_s / 60)))
    if judge is not None:
        for w in gw:
            for name, m in (("ema", ema), ("raw", model)):
                if name == "ema" and next_eval and step == last_eval_step:
                    continue  # judged at this very step already
                emit({"framework": "pytorch", "final": True, "train_s": trained_s, "step": step,
                      "guidance": w, "n": args.n, "weights": name,
                      **judge_accuracy(diff, m, judge, args.n, w)})
    if args.save:
        torch.save({"model": model.state_dict(), "ema": ema.state_dict()}, args.save)


def check(args, diff, judge, tmp):
    """A latentcl run in this module: strict load, then sampled here and judged."""
    path = os.path.join(tmp, "dif.safetensors")
    export_run(args.cli, args.check, path, weights=args.weights)
    model = UNet()
    model.load_state_dict(load_safetensors(path), strict=True)
    row = {"check": args.check, "strict_load": True, "parameters": sum(p.numel() for p in model.parameters()),
           "weights": args.weights}
    if judge is not None:
        for w in [float(v) for v in args.guidance.split(",")]:
            emit({**row, "guidance": w, "n": args.n, **judge_accuracy(diff, model, judge, args.n, w)})
    else:
        emit(row)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time", type=int, default=0, help="time this many training steps (after 2 warm-up)")
    p.add_argument("--latentcl", help="with --time: the latentcl program timed in the same run")
    p.add_argument("--sample-n", type=int, default=128, help="with --time: images per sampling-speed run")
    p.add_argument("--rounds", type=int, default=3, help="with --time: alternating rounds (medians)")
    p.add_argument("--steps", type=int, default=0, help="train this many steps")
    p.add_argument("--minutes", type=float, default=0, help="train this long (training time only)")
    p.add_argument("--eval-every", type=float, default=0, help="judge every this many minutes of training")
    p.add_argument("--judge", help="a latentcl classifier run (or an exported .safetensors) as the judge")
    p.add_argument("--cli", default="latentcl", help="the latentcl program for exports")
    p.add_argument("--check", metavar="RUN", help="load a latentcl diffusion run into this module")
    p.add_argument("--weights", default="ema", choices=["ema", "raw"], help="--check: which weights")
    p.add_argument("--n", type=int, default=500, help="judged samples")
    p.add_argument("--guidance", default="1", help="guidance w (a list: 1,3)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--ema-warmup", type=int, default=10,
                   help="EMA decay min(ema, (1+t)/(N+t)) as latentcl's --ema-warmup (0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", help="write the trained weights (torch.save) here")
    p.add_argument("--device", default="cpu",
                   help="torch device; cuda only for --time (the GPU side-by-side, no BLAS check)")
    args = p.parse_args()
    if args.device != "cpu":
        if not args.time or args.steps or args.minutes or args.check:
            sys.exit("--device %s: only with --time" % args.device)
        torch.set_default_device(args.device)
        libs = []
    else:
        libs = require_fast_blas()
    torch.manual_seed(args.seed)
    diff = Diffusion()
    model = UNet()
    emit({"model": "unet-tiny", "parameters": sum(q.numel() for q in model.parameters()), "blas_libs": libs,
          **config_line()})
    with tempfile.TemporaryDirectory() as tmp:
        judge = load_judge(args, tmp)
        if args.check:
            return check(args, diff, judge, tmp)
        x, y = fashion_mnist("train")
        xtr = (torch.from_numpy(x).unsqueeze(1) * 2 - 1).to(args.device)
        ytr = torch.from_numpy(y).to(args.device)
        if args.time:
            time_side_by_side(args, model, diff, xtr, ytr)
        if args.steps or args.minutes:
            train(args, model, diff, xtr, ytr, judge)
    return 0


if __name__ == "__main__":
    sys.exit(main())
