#!/usr/bin/env bash
# The shapes judge's CLI: `train classifier --data shapes` (the multi-head judge) and
# `eval RUN` on fresh test items — --json shape, usage errors (exit 2), bad input (exit 1).
# usage: shapes_judge.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

run="$tmp/judge"
num='-?[0-9.]+(e-?[0-9]+)?'
share="($num|null)"

expect 0 '"steps":3,"epochs":0,.*"test_kind":' -- "$cli" train classifier --data shapes --subset 64 --iters 3 --batch 16 --test-n 20 --out "$run" --json
for f in config.json metrics.jsonl last.safetensors; do
  [ -s "$run/$f" ] || { echo "FAIL: no $run/$f"; fails=$((fails + 1)); }
done
expect 0 '"family":"shapes-judge"' -- "$cli" inspect "$run/last.safetensors" --json
expect 0 "^\{\"attribute_accuracy\":\{\"kind\":$num,\"colour\":$num,\"size\":$num,\"relation\":$share,\"place\":$share,\"count\":$num\},\"all_attributes\":$num,\"n\":50," -- "$cli" eval "$run" --n 50 --json
expect 0 'every attribute right: [0-9.]+' -- "$cli" eval "$run/last.safetensors" --n 20
# The same items give the same figures.
"$cli" eval "$run" --n 30 --json > "$tmp/a.json" && "$cli" eval "$run" --n 30 --json > "$tmp/b.json"
cmp -s "$tmp/a.json" "$tmp/b.json" || { echo "FAIL: eval is not repeatable"; fails=$((fails + 1)); }
# Resuming continues the same model.
expect 0 '"steps":5,' -- "$cli" train classifier --data shapes --subset 64 --iters 5 --batch 16 --test-n 20 --out "$run" --resume --json

# Help and usage errors: exit 2.
expect 0 'shapes judge' -- "$cli" train classifier --data shapes --help
expect 0 'shapes' -- "$cli" train classifier --help
expect 2 'conv net' -- "$cli" train classifier --data shapes --model mlp --out "$tmp/r2"
expect 2 'subset and --test-n must be >= 0' -- "$cli" train classifier --data=shapes --subset -1 --out "$tmp/r2"
expect 2 '\-\-n must be in' -- "$cli" eval "$run" --n 0
[ -e "$tmp/r2" ] && { echo "FAIL: a usage error left a run folder"; fails=$((fails + 1)); }

# Bad input: one line, exit 1.
expect 1 'no such run folder' -- "$cli" eval "$tmp/absent" --n 10; one_line_error
expect 1 'has no best.safetensors' -- "$cli" eval "$run" --checkpoint best; one_line_error
printf 'not a checkpoint' > "$tmp/junk.safetensors"
expect 1 'junk.safetensors' -- "$cli" eval "$tmp/junk.safetensors"; one_line_error

finish
