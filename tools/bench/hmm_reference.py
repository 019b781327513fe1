"""hmmlearn 0.3.3 reference for `latentcl bench hmm`: the same data and the same initial
parameters (passed through a checkpoint), EM iteration by iteration, timed.

    /work/main/.venv/bin/python tools/bench/hmm_reference.py [--emission categorical|gaussian]
        [--n-states 16 --symbols 64 --dims 16 --sequences 2000 --length 200 --iters 5]
        [--latentcl build/latentcl] [--out DIR]

Writes DIR/data.txt (tokens s00..s63, one sequence per line) or DIR/data.csv (seq column +
D values) and DIR/init.safetensors (hmmlearn's names, float32, the alphabet in the
metadata); runs hmmlearn (implementation="scaling", init_params="", tol=-inf) from the
checkpoint's values; with --latentcl also runs `latentcl train hmm --init` on the same files
and compares the log-likelihood of every iteration. Prints one JSON object per line.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from safetensors.numpy import save_file
from hmmlearn import hmm


def dirichlet_rows(rng, rows, cols):
    return rng.dirichlet(np.ones(cols), size=rows)


def sample(rng, start, trans, emit_fn, n, length):
    """Ancestral sampling, vectorised over sequences: states (n, length)."""
    k = start.shape[0]
    z = np.empty((n, length), dtype=np.int64)
    cum_start, cum_trans = np.cumsum(start), np.cumsum(trans, axis=1)
    z[:, 0] = np.minimum((cum_start[None, :] < rng.random((n, 1))).sum(1), k - 1)
    for t in range(1, length):
        u = rng.random((n, 1))
        z[:, t] = np.minimum((cum_trans[z[:, t - 1]] < u).sum(1), k - 1)
    return z, emit_fn(z)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emission", default="categorical", choices=["categorical", "gaussian"])
    ap.add_argument("--n-states", type=int, default=16)
    ap.add_argument("--symbols", type=int, default=64)
    ap.add_argument("--dims", type=int, default=16)
    ap.add_argument("--sequences", type=int, default=2000)
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latentcl", help="path of the latentcl binary: compare iteration by iteration")
    ap.add_argument("--out", help="folder for the data and the checkpoint (default: a temp folder)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    out = a.out or tempfile.mkdtemp(prefix="hmm_reference_")
    os.makedirs(out, exist_ok=True)
    k, n, length = a.n_states, a.sequences, a.length
    true_start, true_trans = dirichlet_rows(rng, 1, k)[0], dirichlet_rows(rng, k, k)
    ckpt = os.path.join(out, "init.safetensors")
    start0 = dirichlet_rows(rng, 1, k)[0].astype(np.float32)
    trans0 = dirichlet_rows(rng, k, k).astype(np.float32)
    meta = {"family": "hmm", "tokens": "true"}
    if a.emission == "categorical":
        m = a.symbols
        true_emit = dirichlet_rows(rng, k, m)
        cum = np.cumsum(true_emit, axis=1)
        z, x = sample(rng, true_start, true_trans,
                      lambda z: np.minimum((cum[z] < rng.random(z.shape + (1,))).sum(-1), m - 1), n, length)
        width = len(str(m - 1))
        symbols = ["s%0*d" % (width, i) for i in range(m)]
        data = os.path.join(out, "data.txt")
        with open(data, "w") as f:
            for row in x:
                f.write(" ".join(symbols[i] for i in row) + "\n")
        emit0 = dirichlet_rows(rng, k, m).astype(np.float32)
        meta["alphabet"] = "\n".join(symbols)
        save_file({"startprob": start0, "transmat": trans0, "emissionprob": emit0}, ckpt, metadata=meta)
        model = hmm.CategoricalHMM(n_components=k, n_features=m, params="ste")
        model.emissionprob_ = emit0.astype(np.float64)
        xs, lengths = x.reshape(-1, 1), [length] * n
        cli_flags = ["--tokens"]
    else:
        d = a.dims
        true_means = 3.0 * rng.standard_normal((k, d))
        z, x = sample(rng, true_start, true_trans,
                      lambda z: true_means[z] + rng.standard_normal(z.shape + (d,)), n, length)
        data = os.path.join(out, "data.csv")
        with open(data, "w") as f:
            f.write("seq," + ",".join("x%d" % j for j in range(d)) + "\n")
            for b in range(n):
                for t in range(length):
                    f.write("%d," % b + ",".join("%.7g" % v for v in x[b, t]) + "\n")
        xs = x.reshape(-1, d).astype(np.float32).astype(np.float64)  # what latentcl reads
        means0 = xs[rng.choice(xs.shape[0], k, replace=False)].astype(np.float32)
        covars0 = np.tile(xs.var(0) + 1e-3, (k, 1)).astype(np.float32)
        save_file({"startprob": start0, "transmat": trans0, "means": means0, "covars": covars0},
                  ckpt, metadata=meta)
        model = hmm.GaussianHMM(n_components=k, covariance_type="diag", params="stmc", min_covar=1e-3)
        model.means_ = means0.astype(np.float64)
        model.covars_ = covars0.astype(np.float64)
        lengths = [length] * n
        cli_flags = []
    model.startprob_ = start0.astype(np.float64)
    model.transmat_ = trans0.astype(np.float64)
    model.init_params, model.n_iter, model.tol, model.implementation = "", a.iters, -np.inf, "scaling"
    history, stamps = [], []
    report = model.monitor_.report

    def record(logprob):
        history.append(float(logprob))
        stamps.append(time.perf_counter())
        report(logprob)

    model.monitor_.report = record
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(xs, lengths)
    total = time.perf_counter() - t0
    # Each iteration is E-step + M-step; the last one stops before its M-step (tol).
    per_iter = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1) if len(stamps) > 1 else total
    info = {"bench": "hmm_reference", "impl": "hmmlearn %s scaling" % getattr(sys.modules["hmmlearn"], "__version__", "?"),
            "emission": a.emission, "k": k, "m": a.symbols if a.emission == "categorical" else 0,
            "d": a.dims if a.emission == "gaussian" else 0, "sequences": n, "length": length,
            "sec_per_iter": per_iter, "log_likelihood": history, "data": data, "init": ckpt}
    print(json.dumps(info), flush=True)
    if not a.latentcl:
        return
    run = os.path.join(out, "latentcl_run")
    cmd = [a.latentcl, "train", "hmm", "--data", data, "--init", ckpt, "--iters", str(a.iters),
           "--tol", "-1e300", "--out", run, "--force", "--json"] + cli_flags
    lines = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    iters = [json.loads(l) for l in lines if l.startswith("{\"restart\"")]
    ours = [it["log_likelihood"] for it in iters]
    rel = [abs(o - h) / abs(h) for o, h in zip(ours, history)]
    secs = sorted(it["seconds"] for it in iters[1:]) or [iters[0]["seconds"]]
    print(json.dumps({"bench": "hmm_compare", "emission": a.emission, "latentcl_log_likelihood": ours,
                      "hmmlearn_log_likelihood": history, "max_rel_diff": max(rel),
                      "latentcl_sec_per_iter_median": secs[len(secs) // 2],
                      "hmmlearn_sec_per_iter": per_iter}), flush=True)


if __name__ == "__main__":
    main()
