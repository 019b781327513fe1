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

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (BOS, EOS, PAD, caption_pairs, captioned_folder, decode, emit, emit_step_times,
                    pytorch_step_ms, reference_parser, run_reference, train_epoch, words)


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


# ---- timing side by side ---------------------------------------------------------------------

def time_steps(args):
    T, V = 16, 32
    model = MMVAE(V)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, ids, eos = caption_pairs(max(4 * args.batch, 512), T, V, args.seed, (7, 8))

    def batch_loss(idx):
        return model.loss(x[idx], ids[idx], eos[idx], cross=args.cross)[0]

    torch_ms = pytorch_step_ms(opt, batch_loss, len(x), args.batch, args.time)
    row = {"bench": "mmvae_step", "batch": args.batch, "cross": args.cross,
           "params": sum(p.numel() for p in model.parameters())}
    emit_step_times(row, torch_ms, args, "mmvae", ["--cross"] if args.cross else [])


def train(args):
    T = 16
    x, caps, ids, eos, vocab, n_test = captioned_folder(args.data, T)
    model = MMVAE(len(vocab), latent=args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    xtr, itr, etr = x[n_test:], ids[n_test:], eos[n_test:]
    step = 0

    def batch_loss(b):
        nonlocal step
        beta = min(1.0, (step + 1) / args.kl_warmup) if args.kl_warmup else 1.0
        step += 1
        return model.loss(xtr[b], itr[b], etr[b], beta=beta, text_weight=args.text_weight,
                          cross=args.cross)[0]

    for epoch in range(1, args.epochs + 1):
        model.train()
        ms, loss = train_epoch(opt, batch_loss, len(xtr), args.batch)
        model.eval()
        got = model.caption(x[:n_test], T)
        hits = sum(decode(row, vocab) == " ".join(words(c)) for row, c in zip(got, caps[:n_test]))
        emit({"epoch": epoch, "caption_exact": hits / n_test, "n_test": n_test, "ms_per_step": ms,
              "loss": loss.item()})


def main():
    p = reference_parser(__doc__, batch=128)
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--kl-warmup", type=int, default=0)
    p.add_argument("--text-weight", type=float, default=1.0)
    p.add_argument("--cross", action="store_true")
    run_reference(p.parse_args(), time_steps, train)


if __name__ == "__main__":
    main()
