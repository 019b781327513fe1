#!/usr/bin/env bash
# Text-conditioned diffusion on the data layer's one-shape set: `train diffusion --cond text
# --data shapes-one` (v-prediction by default for text), `sample --prompt`, and `eval --judge`
# of a shapes judge, whose captions come from the run's own data (one shape each: the place
# is judged, no relation).
# usage: diffusion_text.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

tiny=(--model unet-tiny --widths 8,16,16 --text-dim 16 --text-layers 1 --text-heads 2 --batch 4)
"$cli" train diffusion --data shapes-one --count 32 --cond text "${tiny[@]}" --iters 2 \
    --out "$tmp/one" >"$tmp/log" 2>&1 || fail "train --data shapes-one: $(cat "$tmp/log")"
grep -q '"data":[[:space:]]*"shapes-one"' "$tmp/one/config.json" || fail "config.json: data is not shapes-one"
grep -q '"prediction":[[:space:]]*"v"' "$tmp/one/config.json" || fail "a text model does not predict v by default"
"$cli" train diffusion --data shapes-one --count 32 --cond text "${tiny[@]}" --iters 1 \
    --prediction eps --out "$tmp/eps" >"$tmp/log" 2>&1 || fail "train --prediction eps: $(cat "$tmp/log")"
grep -q '"prediction":[[:space:]]*"eps"' "$tmp/eps/config.json" || fail "--prediction eps was not kept"
expect 0 "wrote 2 samples" -- "$cli" sample "$tmp/one" --prompt "a small red circle in the center" \
    --n 2 --steps 3 --out "$tmp/s.png"

# a tiny shapes judge, then t2i over 4 test captions of shapes-one at two guidance weights
"$cli" train classifier --data shapes --subset 64 --iters 2 --batch 16 --test-n 20 \
    --out "$tmp/judge" >"$tmp/log" 2>&1 || fail "train the judge: $(cat "$tmp/log")"
"$cli" eval "$tmp/one" --judge "$tmp/judge" --n 4 --steps 2 --guidance 1,3 --json \
    >"$tmp/eval" 2>"$tmp/err" || fail "eval --judge: $(cat "$tmp/err")"
[ "$(grep -c '^{"t2i_accuracy":[0-9.]*,"kind":[0-9.]*,"colour":[0-9.]*,"size":[0-9.]*,"place":[0-9.]*,"relation":null,"n":4,' "$tmp/eval")" = 2 ] ||
    fail "eval: not two one-shape t2i lines: $(cat "$tmp/eval")"
finish
