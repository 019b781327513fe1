#!/usr/bin/env bash
# A state_dict saved the way PyTorch users save one (plain names, F32, no
# latentcl metadata; here written by the PyPI safetensors package from the
# exported arrays) loads back into latentcl with --init and gives the same
# model. usage: pytorch_init.sh LATENTCL_BINARY TESTS_DIR
set -u
cli="$1"; tests="$2"
py="$(cd "$tests/.." && pwd)/.venv/bin/python"
if [ ! -x "$py" ]; then echo "skipped: no .venv (tools/setup-debian.sh makes it)"; exit 0; fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
"$cli" train classifier --model mlp --iters 20 --subset 1000 --seed 3 --out r1 > /dev/null 2>&1 || { echo "FAIL: train"; exit 1; }
"$cli" export r1 --out w.safetensors > /dev/null || { echo "FAIL: export"; exit 1; }
"$py" - <<'PY' || { echo "FAIL: python"; exit 1; }
from safetensors.numpy import load_file, save_file
import numpy as np
w = load_file("w.safetensors")
assert sorted(w) == ["layers.0.bias", "layers.0.weight", "layers.2.bias", "layers.2.weight", "layers.4.bias", "layers.4.weight"], sorted(w)
assert w["layers.0.weight"].shape == (512, 784)
save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in w.items()}, "torch_style.safetensors")
PY
# One step at a negligible rate: the weights are the loaded ones.
"$cli" train classifier --model mlp --iters 1 --subset 1000 --lr 1e-12 --init torch_style.safetensors --out r2 > /dev/null 2>&1 || { echo "FAIL: --init"; exit 1; }
a=$("$cli" eval r1 --json | grep -o '"test_accuracy":[0-9.]*')
b=$("$cli" eval r2 --json | grep -o '"test_accuracy":[0-9.]*')
if [ -z "$a" ] || [ "$a" != "$b" ]; then echo "FAIL: accuracy after --init: $b, want $a"; exit 1; fi
# A file missing a tensor is refused, naming it.
"$py" -c "
from safetensors.numpy import load_file, save_file
w = load_file('torch_style.safetensors'); del w['layers.4.bias']; save_file(w, 'short.safetensors')"
if "$cli" train classifier --model mlp --iters 1 --subset 1000 --init short.safetensors --out r3 2> err.txt > /dev/null; then
  echo "FAIL: a file without layers.4.bias was accepted"; exit 1
fi
grep -q "layers.4.bias" err.txt || { echo "FAIL: message does not name the tensor:"; cat err.txt; exit 1; }
echo "ok: --init from a PyTorch-style safetensors gives $a"
