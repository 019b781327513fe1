#!/usr/bin/env bash
# The classifier's verbs: train classifier, eval, predict, export — --json shapes,
# bad input (one-line errors, exit 1; usage errors exit 2), tiny runs with --iters.
# usage: classifier.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"


# Labelled 32x32 RGB images: the shapes set on disk (label = the first shape's kind).
"$cli" data shapes --n 48 --seed 1 --out "$tmp/shapes" > /dev/null || { echo "FAIL: data shapes"; exit 1; }
run="$tmp/run"
num='-?[0-9.]+(e-?[0-9]+)?'

expect 0 '"steps":3,"epochs":1,' -- "$cli" train classifier --data "$tmp/shapes" --iters 3 --batch 16 --ema 0.9 --out "$run" --json
for f in config.json metrics.jsonl last.safetensors; do
  [ -s "$run/$f" ] || { echo "FAIL: no $run/$f"; fails=$((fails + 1)); }
done
expect 0 "^\{\"train_accuracy\":$num,\"train_loss\":$num,\"n\":48,\"confusion\":\[\[[0-9,]+\](,\[[0-9,]+\]){4}\]," -- "$cli" eval "$run" --split train --json
expect 0 "^\{\"file\":\"[^\"]*000000.png\",\"top\":\[\{\"class\":[0-4],\"name\":\"[^\"]+\",\"p\":$num\}(,\{[^}]*\}){2}\]\}$" -- "$cli" predict "$run" --image "$tmp/shapes/000000.png" --json
expect 0 'wrote 6 tensors \(EMA weights\)' -- "$cli" export "$run" --weights ema --out "$tmp/w.safetensors"
expect 0 '^\{"out":".*w.safetensors","tensors":6,"weights":"raw"\}$' -- "$cli" export "$run" --out "$tmp/w.safetensors" --json
expect 0 'layers.4.weight' -- "$cli" inspect "$tmp/w.safetensors"
if grep -q 'optim/\|ema/' "$tmp/out"; then echo "FAIL: export kept training state"; fails=$((fails + 1)); fi
# The export alone is a model: predict and eval take it.
expect 0 '"top":' -- "$cli" predict "$tmp/w.safetensors" "$tmp/shapes/000001.png" --json

# Bad input: one line, exit 1.
expect 1 'no test split' -- "$cli" eval "$run"; one_line_error
expect 1 'no such run folder' -- "$cli" predict "$tmp/absent" --image "$tmp/shapes/000000.png"; one_line_error
expect 1 'no such run folder' -- "$cli" eval "$tmp/absent"; one_line_error
expect 1 'no such run folder' -- "$cli" export "$tmp/absent" --out "$tmp/x.safetensors"; one_line_error
expect 1 'has no best.safetensors' -- "$cli" export "$run" --checkpoint best --out "$tmp/x.safetensors"; one_line_error
expect 1 'is the checkpoint being read' -- "$cli" export "$run" --out "$run/last.safetensors"; one_line_error
printf 'not a png' > "$tmp/bad.png"
expect 1 'bad.png' -- "$cli" predict "$run" --image "$tmp/bad.png"; one_line_error
"$cli" export "$run" --out "$tmp/w2.safetensors" > /dev/null
expect 1 'no EMA weights' -- "$cli" export "$tmp/w2.safetensors" --weights ema --out "$tmp/x.safetensors"; one_line_error
expect 1 'no EMA weights' -- "$cli" predict "$tmp/w2.safetensors" --weights ema --image "$tmp/shapes/000000.png"; one_line_error
[ -e "$tmp/x.safetensors" ] && { echo "FAIL: partial export left behind"; fails=$((fails + 1)); }
# A checkpoint of another family.
header='{"__metadata__":{"family":"hmm"},"startprob":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
pad=$(( (8 - ${#header} % 8) % 8 ))
header="$header$(printf '%*s' "$pad" '')"
printf "$(printf '\\x%02x' "${#header}")\x00\x00\x00\x00\x00\x00\x00" > "$tmp/hmm.safetensors"
printf '%s' "$header" >> "$tmp/hmm.safetensors"
printf '\x00\x00\x80\x3f\x00\x00\x00\x00' >> "$tmp/hmm.safetensors"
expect 1 "family 'hmm'" -- "$cli" eval "$tmp/hmm.safetensors"; one_line_error
expect 1 'hmm model, not a classifier' -- "$cli" predict "$tmp/hmm.safetensors" --image "$tmp/shapes/000000.png"; one_line_error

# Usage errors: exit 2.
expect 2 'mlp or conv' -- "$cli" train classifier --data "$tmp/shapes" --model resnet --out "$tmp/r2"
expect 2 'out FILE is required' -- "$cli" export "$run"
expect 2 'weights must be ema or raw' -- "$cli" export "$run" --weights best --out "$tmp/x.safetensors"
expect 2 'image PNG is required' -- "$cli" predict "$run"
expect 0 'usage: latentcl eval RUN' -- "$cli" eval --help

# Fashion-MNIST (when installed): wrong channels, and eval's test split with 10 classes.
if "$cli" data info fashion-mnist > /dev/null 2>&1; then
  expect 0 '"steps":2,' -- "$cli" train classifier --subset 256 --iters 2 --out "$tmp/fm" --json
  expect 0 "^\{\"test_accuracy\":$num,\"test_loss\":$num,\"n\":10000,\"confusion\":\[(\[[0-9,]+\],){9}\[[0-9,]+\]\]," -- "$cli" eval "$tmp/fm" --json
  "$cli" data grid fashion-mnist --n 1 --scale 1 --out "$tmp/gray.png" > /dev/null
  expect 1 'is a 32x32 gray image; the model takes 32x32 RGB images' -- "$cli" predict "$run" --image "$tmp/gray.png"; one_line_error
  # Resuming with another model (here: another data shape) is refused.
  expect 1 'model config' -- "$cli" train classifier --iters 4 --batch 16 --ema 0.9 --out "$run" --resume; one_line_error
  expect 1 'the model takes 28x28 gray images' -- "$cli" predict "$tmp/fm" --image "$tmp/shapes/000000.png"; one_line_error
else
  echo "skipped: Fashion-MNIST is not installed"
fi

finish
