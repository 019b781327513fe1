#!/usr/bin/python3
"""Judge accuracy against training time, latentcl and PyTorch side by side (issue #18).

Inputs: a latentcl run trained with `--minutes 60 --snapshot-every 5` (RUN/snapshot_0005min...,
each judged here with `latentcl eval SNAPSHOT --judge J --n N --guidance W --json`), and the JSON
lines of `diffusion_reference.py --minutes 60 --eval-every 5 --judge J --n N --guidance W`
(judged while it trains; its clock stops while it judges, as latentcl's stops while it draws
pictures and writes checkpoints). Output: a Markdown table on stdout, OUT.jsonl (one row per
5 minutes: `minutes` and `judge_accuracy_w1@latentcl`, `judge_accuracy_w1@pytorch`, ...) and
OUT.png drawn from it by `latentcl plot` (one panel per quantity, both frameworks in it), and
the same against training steps in OUT-steps.jsonl / OUT-steps.png.

  /usr/bin/python3 tools/bench/diffusion_curve.py --cli build/latentcl --run runs/hour-lc \\
      --pytorch hour-pt.jsonl --judge runs/judge --n 500 --guidance 1,4 --out hour-curve
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys


def latentcl_rows(cli, run, judge, n, guidance, cache):
    """{minutes: {"step": s, w: {"judge_accuracy": a, "frechet_distance": f}}} of the snapshots;
    judged once, then kept in the cache file (a long eval is not redone by a rerun)."""
    done = {}
    if os.path.exists(cache):
        for line in open(cache):
            r = json.loads(line)
            done[(r["snapshot"], r["guidance"])] = r
    out = {}
    for path in sorted(glob.glob(os.path.join(run, "snapshot_*min.safetensors"))):
        minutes = float(re.search(r"snapshot_([0-9.]+)min", path).group(1))
        name = os.path.basename(path)
        todo = [w for w in guidance if (name, w) not in done]
        if todo:
            res = subprocess.run([cli, "eval", path, "--judge", judge, "--n", str(n), "--guidance",
                                  ",".join(str(w) for w in todo), "--json"],
                                 check=True, capture_output=True, text=True).stdout
            meta = json.loads(subprocess.run([cli, "inspect", path, "--json"], check=True,
                                             capture_output=True, text=True).stdout.splitlines()[0])
            step = int(meta.get("metadata", meta).get("step", -1))
            with open(cache, "a") as f:
                for line in res.splitlines():
                    r = json.loads(line)
                    r.update({"snapshot": name, "step": step, "guidance": float(r["guidance"])})
                    done[(name, r["guidance"])] = r
                    f.write(json.dumps(r) + "\n")
        for w in guidance:
            r = done[(name, w)]
            row = out.setdefault(minutes, {"step": r["step"]})
            row[w] = {"judge_accuracy": r["judge_accuracy"], "frechet_distance": r["frechet_distance"]}
    return out


def pytorch_rows(path):
    out = {}
    for line in open(path):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("framework") != "pytorch" or r.get("weights") != "ema" or "train_s" not in r:
            continue
        minutes = round(r["train_s"] / 60)
        row = out.setdefault(float(minutes), {"step": r["step"]})
        row[float(r["guidance"])] = {"judge_accuracy": r["judge_accuracy"],
                                     "frechet_distance": r.get("frechet_distance")}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cli", required=True, help="the latentcl program")
    p.add_argument("--run", required=True, help="latentcl run folder with snapshot_*min.safetensors")
    p.add_argument("--pytorch", required=True, help="JSON lines of diffusion_reference.py --eval-every")
    p.add_argument("--judge", required=True, help="the judge (a latentcl classifier run)")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--guidance", default="1,4")
    p.add_argument("--out", required=True, help="OUT.jsonl and OUT.png are written")
    args = p.parse_args()
    gw = [float(w) for w in args.guidance.split(",")]
    ours = latentcl_rows(args.cli, args.run, args.judge, args.n, gw, args.out + ".latentcl-evals.jsonl")
    theirs = pytorch_rows(args.pytorch)
    fmt = lambda v, pct: "—" if v is None else ("%.1f%%" % (100 * v) if pct else "%.1f" % v)
    head = ["minutes", "latentcl steps", "PyTorch steps"]
    for w in gw:
        head += ["latentcl w %g" % w, "PyTorch w %g" % w]
    for w in gw:
        head += ["FD latentcl w %g" % w, "FD PyTorch w %g" % w]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    with open(args.out + ".jsonl", "w") as f:
        for m in sorted(set(ours) | set(theirs)):
            a, b = ours.get(m, {}), theirs.get(m, {})
            cells = ["%g" % m, str(a.get("step", "—")), str(b.get("step", "—"))]
            row = {"minutes": m}
            for key, pct in (("judge_accuracy", True), ("frechet_distance", False)):
                for w in gw:
                    for who, src in (("latentcl", a), ("pytorch", b)):
                        v = src.get(w, {}).get(key)
                        cells.append(fmt(v, pct))
                        if v is not None:
                            row["%s_w%g@%s" % (key, w, who)] = v
            print("| " + " | ".join(cells) + " |")
            f.write(json.dumps(row) + "\n")
    # the same figures against training steps (equal steps side by side), one row per checkpoint
    with open(args.out + "-steps.jsonl", "w") as f:
        for who, rows in (("latentcl", ours), ("pytorch", theirs)):
            for m in sorted(rows):
                row = {"step": rows[m]["step"]}
                for w in gw:
                    for key in ("judge_accuracy", "frechet_distance"):
                        v = rows[m].get(w, {}).get(key)
                        if v is not None:
                            row["%s_w%g@%s" % (key, w, who)] = v
                f.write(json.dumps(row) + "\n")
    for name in (args.out, args.out + "-steps"):
        subprocess.run([args.cli, "plot", name + ".jsonl", "--out", name + ".png"], check=True,
                       stdout=subprocess.DEVNULL)
    print("wrote %s.{jsonl,png} and %s-steps.{jsonl,png}" % (args.out, args.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
