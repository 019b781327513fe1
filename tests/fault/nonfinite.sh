#!/usr/bin/env bash
# The training loop's non-finite rule, for every family that trains through it. Run with
# latentcl-fault (the CLI linked with tests/fault/fault_nan.c), where
# LATENTCL_FAULT_NAN=loss:K or grad:K puts a NaN into the loss (as a bad batch would) or
# into a gradient after the model's own step K (0-based). For each family:
#   - the NaN stops training: exit 1, one error line naming step K+1 and the last good
#     checkpoint, which loads (inspect checks it whole), holds no NaN and is from
#     before step K+1; then --resume continues from it to the end;
#   - --skip-nonfinite skips such steps (twice here), counts them in the metrics
#     ("skipped": 2) and finishes with finite weights.
# The HMM (EM, not the loop): LATENTCL_FAULT_NAN=ll:K poisons the K-th E-step's
# log-likelihood; training stops naming the iteration and writes no model.
# Adding a family is one line in the table below.
# usage: nonfinite.sh LATENTCL_FAULT_BINARY TESTS_DIR
set -u
# shellcheck source=../cli/harness.bash
source "$(dirname "$0")/../cli/harness.bash"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
start=$(date +%s.%N)

"$cli" data shapes --n 48 --seed 1 --out "$tmp/shapes" > /dev/null || { echo "FAIL: data shapes"; exit 1; }
shapes="$tmp/shapes"
common=(--iters 8 --save-every 2 --log-every 1 --device cpu --threads 1)

# family | the rest of its `train FAMILY` command line (tiny data, a few milliseconds a step)
families=(
  "classifier|--data $shapes --model mlp --batch 8"
  "ae|--data $shapes --hidden 32,16 --latent 4 --batch 8"
  "vae|--data $shapes --hidden 32,16 --latent 2 --batch 8"
  "diffusion|--data moons --points 128 --batch 16 --hidden 16 --depth 2 --T 20"
)
# Families whose verbs landed later join when their `train` verb exists.
if "$cli" train mmvae --help > /dev/null 2>&1; then
  families+=("mmvae|--data $shapes --batch 8 --latent 4 --hidden 32 --text-dim 16 --text-layers 1 --heads 2 --max-len 8")
fi
if "$cli" train clip --help > /dev/null 2>&1; then
  families+=("clip|--data $shapes --batch 8 --embed 16 --hidden 16 --text-dim 16 --text-layers 1 --text-heads 2 --max-len 8")
fi

# The step (metadata) of a checkpoint that inspect accepts and that holds no NaN/Inf, or "bad".
good_step() {
  "$cli" inspect "$1" --json > "$tmp/inspect" 2>&1 || { echo bad; return; }
  grep -q '"nonfinite":[1-9]' "$tmp/inspect" && { echo bad; return; }
  head -n 1 "$tmp/inspect" | grep -oE '"step":"[0-9]+"' | grep -oE '[0-9]+' || echo bad
}

n=0
for entry in "${families[@]}"; do
  family=${entry%%|*}
  read -r -a args <<< "${entry#*|}"
  n=$((n + 1))
  t_family=$(date +%s.%N)
  for where in loss grad; do
    run="$tmp/$family-$n-$where"
    # Stops at step 5 (index 4); checkpoints were saved at steps 2 and 4 (or an epoch end).
    LATENTCL_FAULT_NAN="$where:4" expect 1 "non-finite loss or gradient at step 5 .*last good checkpoint is .*last.safetensors \(step [1-4]\)" \
      -- "$cli" train "$family" "${args[@]}" "${common[@]}" --out "$run"
    # Progress lines may come first; the error is one line, the last.
    [ "$(grep -c '^latentcl: non-finite' "$tmp/err")" = 1 ] && tail -n 1 "$tmp/err" | grep -q '^latentcl: non-finite' ||
      fail "$family ($where): not one error line at the end: $(tail -n 3 "$tmp/err")"
    step=$(good_step "$run/last.safetensors")
    said=$(grep -oE '\(step [0-9]+\)' "$tmp/err" | grep -oE '[0-9]+')
    if [ "$step" = bad ] || [ "$step" != "$said" ]; then
      fail "$family ($where): the last good checkpoint (step $step, message: step $said) does not load clean: $(head -c 300 "$tmp/inspect")"
    fi
    # The last good checkpoint carries on (once per family).
    [ "$where" = grad ] && continue
    expect 0 "trained 8 steps" -- "$cli" train "$family" "${args[@]}" "${common[@]}" --out "$run" --resume
    [ "$(good_step "$run/last.safetensors")" = 8 ] || fail "$family ($where): the resumed run did not end clean at step 8"
  done
  # --skip-nonfinite: two poisoned steps skipped and counted; the run finishes.
  run="$tmp/$family-$n-skip"
  LATENTCL_FAULT_NAN="grad:2,5" expect 0 "trained 8 steps" \
    -- "$cli" train "$family" "${args[@]}" "${common[@]}" --skip-nonfinite --out "$run"
  skipped=$(grep -oE '"skipped":[0-9]+' "$run/metrics.jsonl" | tail -n 1 | grep -oE '[0-9]+$')
  [ "$skipped" = 2 ] || fail "$family: --skip-nonfinite counted '$skipped' skipped steps, not 2"
  [ "$(good_step "$run/last.safetensors")" = 8 ] || fail "$family: --skip-nonfinite left a bad checkpoint"
  echo "# $family (${entry#*|}): stop on loss, resume, stop on grad, skip: $(awk -v a="$t_family" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
done
# The HMM trains by EM (no loop, no mid-run checkpoints): a NaN log-likelihood at the 3rd
# E-step stops with the iteration and writes no model.
printf 'banana\nbandana\ncabana\nanna\nnab\n' > "$tmp/words.txt"
LATENTCL_FAULT_NAN="ll:3" expect 1 "^latentcl: HMM: log-likelihood is nan at iteration 3$" \
  -- "$cli" train hmm --data "$tmp/words.txt" --n-states 2 --iters 5 --out "$tmp/hmm"
[ -e "$tmp/hmm/last.safetensors" ] && fail "hmm: a model was written after a NaN log-likelihood"
expect 0 "" -- "$cli" train hmm --data "$tmp/words.txt" --n-states 2 --iters 5 --out "$tmp/hmm" --force
"$cli" inspect "$tmp/hmm/last.safetensors" > /dev/null 2>&1 || fail "hmm: the model written after --force does not load"
n=$((n + 1))

echo "# $n families/configurations, $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
echo "fails: $fails"
[ "$fails" = 0 ]
