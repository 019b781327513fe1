#!/usr/bin/env bash
# Runs the side-by-side benchmarks of BENCHMARKS.md in one go, on a quiet
# machine, and writes every JSON line to OUT (default bench-results.jsonl):
#   tools/bench/run-all.sh BUILD_DIR [OUT]
# Needs a Release build, Debian's python3-torch (/usr/bin/python3) and the
# .venv made by tools/setup-debian.sh (hmmlearn).
set -euo pipefail
build="${1:-build}"; out="${2:-bench-results.jsonl}"
cli="$(realpath "$build")/latentcl"; out="$(realpath -m "$out")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
py_torch=/usr/bin/python3
py_venv="$root/.venv/bin/python"
: > "$out"
note() { echo "{\"note\":\"$1\",\"date\":\"$(date -u +%FT%TZ)\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc)}" | tee -a "$out"; }
run() { echo "+ $*" >&2; "$@" 2>/dev/null | grep '^{' | tee -a "$out"; }

note "start"
# Foundation: GEMM backends against OpenBLAS, and selftest cold/warm.
run "$cli" bench gemm --json
run "$cli" bench gemm --mlp --json
cache="$(mktemp -d)"
for kind in cold warm; do
  t0=$(date +%s.%N)
  LATENTCL_CACHE_DIR="$cache" POCL_CACHE_DIR="$cache/pocl" "$cli" selftest > /dev/null
  t1=$(date +%s.%N)
  echo "{\"bench\":\"selftest\",\"cache\":\"$kind\",\"wall_s\":$(echo "$t1 - $t0" | bc)}" | tee -a "$out"
done
rm -rf "$cache"
# HMM: latentcl against hmmlearn on the same data and initial parameters.
if [ -x "$py_venv" ]; then
  run "$py_venv" "$root/tools/bench/hmm_reference.py" --latentcl "$cli"
  run "$py_venv" "$root/tools/bench/hmm_reference.py" --latentcl "$cli" --emission gaussian --n-states 8 --dims 16
fi
run "$cli" bench hmm --json
run "$cli" bench hmm --emission gaussian --n-states 8 --dims 16 --json
run "$cli" bench hmm --n-states 64 --iters 3 --json
run "$cli" bench hmm --n-states 256 --iters 2 --json
# Training steps side by side: latentcl (median of samples_per_s over logged
# intervals, warm-up interval dropped) and the PyTorch script (median step).
step_ms() { # RUN -> ms per step at batch 128
  /usr/bin/python3 - "$1" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if '"samples_per_s"' in l]
rates = [r["samples_per_s"] for r in rows[1:] if r.get("samples_per_s")]
print("%.3f" % (128000.0 / statistics.median(rates)))
PY
}
tmp="$(mktemp -d)"
for fam in classifier vae; do
  "$cli" train "$fam" --iters 600 --log-every 100 --out "$tmp/$fam" --force > /dev/null 2>&1
  echo "{\"bench\":\"train_step\",\"framework\":\"latentcl\",\"family\":\"$fam\",\"model\":\"mlp\",\"batch\":128,\"ms_per_step\":$(step_ms "$tmp/$fam")}" | tee -a "$out"
done
(cd "$root/tools/bench" && run "$py_torch" classifier_reference.py --model mlp --epochs 1)
(cd "$root/tools/bench" && run "$py_torch" vae_reference.py --epochs 1)
rm -rf "$tmp"
note "end"
