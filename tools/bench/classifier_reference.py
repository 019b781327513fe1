#!/usr/bin/python3
"""PyTorch reference of latentcl's classifiers on Fashion-MNIST (shared/REFERENCE.md).

  /usr/bin/python3 tools/bench/classifier_reference.py --model mlp --epochs 5 --seed 0
  /usr/bin/python3 tools/bench/classifier_reference.py --model conv --epochs 5

Prints one JSON line per epoch (test accuracy, ms per step) and the
configuration PyTorch ran in. --export FILE loads a latentcl-exported
safetensors file into the same module instead of training and reports its
test accuracy (the checkpoint-compatibility check).
"""
import argparse
import json
import struct
import time

import numpy as np
import torch
import torch.nn as nn

from common import config_line, emit, fashion_mnist, require_fast_blas


class Classifier(nn.Module):
    """latentcl's classifier: the same layers under the same state_dict names
    (layers.0.weight (512, 784), ...), so a latentcl export loads with strict=True."""

    def __init__(self, model):
        super().__init__()
        if model == "mlp":
            self.layers = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                                        nn.Linear(256, 10))
        else:
            self.layers = nn.Sequential(
                nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
        self.flatten_input = model == "mlp"

    def forward(self, x):
        return self.layers(x.flatten(1) if self.flatten_input else x)


def load_safetensors(path):
    """The tensors of a safetensors file: the format's own reader when installed, else
    the format read directly (8-byte header length, JSON header, raw little-endian data)."""
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        pass
    dtypes = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}
    with open(path, "rb") as f:
        data = f.read()
    n, = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtypes[t["dtype"]])
        out[name] = torch.from_numpy(arr.reshape(t["shape"]).copy())
    return out


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    model.train()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["mlp", "conv"], default="mlp")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export", help="evaluate a latentcl-exported safetensors file instead of training")
    args = ap.parse_args()
    require_fast_blas()
    torch.manual_seed(args.seed)
    xtr, ytr = fashion_mnist("train")
    xte, yte = fashion_mnist("test")
    xtr = torch.from_numpy(xtr).unsqueeze(1)
    xte = torch.from_numpy(xte).unsqueeze(1)
    ytr = torch.from_numpy(ytr)
    yte = torch.from_numpy(yte)
    model = Classifier(args.model)
    if args.export:
        model.load_state_dict(load_safetensors(args.export), strict=True)
        emit({"model": args.model, "export": args.export, "test_accuracy": accuracy(model, xte, yte)})
        return
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    step_times = []
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(len(xtr), generator=gen)
        t_epoch = time.perf_counter()
        steps = 0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            step_times.append(time.perf_counter() - t0)
            steps += 1
        acc = accuracy(model, xte, yte)
        emit({"framework": "pytorch", "model": args.model, "epoch": epoch, "test_accuracy": acc,
              "ms_per_step_median": 1e3 * float(np.median(step_times[-steps:])),
              "epoch_s": time.perf_counter() - t_epoch, "seed": args.seed, **config_line()})


if __name__ == "__main__":
    main()
