"""Runs hmmlearn 0.3.3 EM from the parameters of a latentcl HMM checkpoint and prints
the log-likelihood of each iteration (hmmlearn's monitor_.history), one per line.

    hmm_hmmlearn.py CHECKPOINT DATA ITERS

DATA is a .txt file (one sequence per line, symbols = characters, or tokens when the
checkpoint's metadata says tokens) or a .csv file (header, a `seq` column, D values).
"""
import sys
import warnings

import numpy as np
from safetensors import safe_open
from hmmlearn import hmm


def read_checkpoint(path):
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}
    return tensors, meta


def read_text(path, alphabet, tokens):
    index = {s: i for i, s in enumerate(alphabet)}
    seqs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            symbols = line.split() if tokens else list(line)
            seqs.append([index[s] for s in symbols])
    x = np.concatenate([np.array(s, dtype=np.int64) for s in seqs]).reshape(-1, 1)
    return x, [len(s) for s in seqs]


def read_csv(path):
    rows, ids = [], []
    with open(path) as f:
        header = f.readline().strip().split(",")
        seq_col = header.index("seq")
        for line in f:
            line = line.strip()
            if not line:
                continue
            v = line.split(",")
            ids.append(v[seq_col])
            rows.append([float(a) for j, a in enumerate(v) if j != seq_col])
    lengths, prev = [], None
    for i in ids:
        if i != prev:
            lengths.append(0)
            prev = i
        lengths[-1] += 1
    return np.array(rows, dtype=np.float64), lengths


def main():
    ckpt, data, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t, meta = read_checkpoint(ckpt)
    k = t["startprob"].shape[0]
    common = dict(n_components=k, n_iter=iters, tol=-np.inf, init_params="",
                  implementation="scaling")
    if "emissionprob" in t:
        alphabet = meta["alphabet"].split("\n")
        x, lengths = read_text(data, alphabet, meta.get("tokens") == "true")
        model = hmm.CategoricalHMM(params="ste", n_features=len(alphabet), **common)
        model.emissionprob_ = t["emissionprob"]
    else:
        x, lengths = read_csv(data)
        model = hmm.GaussianHMM(covariance_type="diag", params="stmc", min_covar=1e-3, **common)
        model.means_ = t["means"]
        model.covars_ = t["covars"]
    model.startprob_ = t["startprob"]
    model.transmat_ = t["transmat"]
    history = []  # monitor_.history keeps only the last two
    report = model.monitor_.report

    def record(logprob):
        history.append(logprob)
        report(logprob)

    model.monitor_.report = record
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, lengths)
    for ll in history:
        print(repr(float(ll)))


if __name__ == "__main__":
    main()
