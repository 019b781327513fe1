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
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import (caption_pairs, captioned_folder, emit, emit_step_times, pytorch_step_ms,
                    reference_parser, run_reference, train_epoch)
from mmvae_reference import TextEncoder


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

def time_steps(args):
    T, V = 16, 32
    model = CLIP(V)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    # captions of 7 to 10 words, as the shapes folder's one- and two-shape captions, so the
    # batch's longest caption (the text encoder's columns on both sides) is latentcl's 12 tokens
    x, ids, eos = caption_pairs(max(4 * args.batch, 512), T, V, args.seed, (7, 8, 9, 10))

    def batch_loss(idx):
        tb = int(eos[idx].max()) + 1  # as latentcl: columns up to the longest caption
        return model.loss(x[idx], ids[idx, :tb], eos[idx])

    torch_ms = pytorch_step_ms(opt, batch_loss, len(x), args.batch, args.time)
    row = {"bench": "clip_step", "batch": args.batch,
           "params": sum(p.numel() for p in model.parameters())}
    emit_step_times(row, torch_ms, args, "clip")


def train(args):
    T = 16
    x, caps, ids, eos, vocab, n_test = captioned_folder(args.data, T)
    model = CLIP(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    xtr, itr, etr = x[n_test:], ids[n_test:], eos[n_test:]

    def batch_loss(b):
        tb = int(etr[b].max()) + 1
        return model.loss(xtr[b], itr[b, :tb], etr[b])

    for epoch in range(1, args.epochs + 1):
        model.train()
        ms, loss = train_epoch(opt, batch_loss, len(xtr), args.batch)
        model.eval()
        i2t, t2i = recall_at_1(model, x[:n_test], ids[:n_test], eos[:n_test])
        emit({"epoch": epoch, "recall_at_1_i2t": i2t, "recall_at_1_t2i": t2i, "n_test": n_test,
              "ms_per_step": ms, "loss": loss.item(),
              "logit_scale": model.logit_scale.exp().clamp(max=100).item()})


def main():
    args = reference_parser(__doc__, batch=256).parse_args()
    run_reference(args, time_steps, train)


if __name__ == "__main__":
    main()
