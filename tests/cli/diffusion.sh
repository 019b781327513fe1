#!/usr/bin/env bash
# latentcl train diffusion / sample / eval on 2-D points: a tiny end-to-end run (moons and a
# user CSV), the outputs, the same seed giving the same samples, and the bad inputs of the
# diffusion issue (one-line errors, exit 1; usage errors exit 2).
# usage: diffusion.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

# a tiny moons run, class-conditional (the moon is the class)
"$cli" train diffusion --data moons --points 500 --iters 40 --batch 64 --cond class \
    --sample-every 20 --T 100 --out "$tmp/run" >"$tmp/log" 2>&1 || fail "train diffusion failed: $(cat "$tmp/log")"
for f in config.json metrics.jsonl last.safetensors samples.png samples_step000020.png; do
    [ -s "$tmp/run/$f" ] || fail "run folder lacks $f"
done

# sampling: a CSV of points with a scatter beside it; the same seed gives the same points
"$cli" sample "$tmp/run" --n 30 --steps 10 --seed 4 --out "$tmp/a.csv" >/dev/null 2>"$tmp/err" ||
    fail "sample .csv: $(cat "$tmp/err")"
[ -s "$tmp/a.png" ] || fail "no scatter beside the .csv"
[ "$(head -1 "$tmp/a.csv")" = "x,y" ] || fail "the .csv has no header"
[ "$(wc -l <"$tmp/a.csv")" -eq 31 ] || fail "the .csv should have 30 points"
"$cli" sample "$tmp/run" --n 30 --steps 10 --seed 4 --out "$tmp/b.csv" >/dev/null 2>&1 || fail "sample again"
cmp -s "$tmp/a.csv" "$tmp/b.csv" || fail "the same seed gave other samples"
"$cli" sample "$tmp/run" --n 30 --steps 10 --seed 5 --out "$tmp/c.csv" >/dev/null 2>&1 || fail "sample seed 5"
! cmp -s "$tmp/a.csv" "$tmp/c.csv" || fail "another seed gave the same samples"
"$cli" sample "$tmp/run" --n 8 --sampler ddpm --class 1 --guidance 2 --weights raw \
    --out "$tmp/d.png" >/dev/null 2>&1 || fail "sample ddpm --class 1"
[ -s "$tmp/d.png" ] || fail "no scatter png"

# eval: MMD as one JSON line
out=$("$cli" eval "$tmp/run" --n 100 --steps 10 --json) || fail "eval failed"
printf '%s\n' "$out" | grep -Eq '^\{"mmd":[0-9.e+-]+,"n":100,"bandwidth":0.2,"mmd_data":[0-9.e+-]+' ||
    fail "eval --json: $out"

# --minutes stops a long run on time (a normal end: exit 0, a checkpoint), --snapshot-every keeps
# checkpoints along the way (named by minutes of training) that eval reads like a run
"$cli" train diffusion --data moons --points 500 --iters 1000000 --batch 64 --T 100 --minutes 0.05 \
    --snapshot-every 0.02 --out "$tmp/timed" >"$tmp/log" 2>&1 || fail "train --minutes: $(cat "$tmp/log")"
steps=$(grep -o '"step":[0-9]*' "$tmp/timed/metrics.jsonl" | tail -1 | cut -d: -f2)
[ -n "$steps" ] && [ "$steps" -gt 0 ] && [ "$steps" -lt 1000000 ] || fail "--minutes: last step '$steps'"
[ -s "$tmp/timed/last.safetensors" ] || fail "--minutes left no checkpoint"
for m in 0000.02 0000.04; do
    [ -s "$tmp/timed/snapshot_${m}min.safetensors" ] || fail "no snapshot at $m minutes: $(ls "$tmp/timed")"
done
[ ! -e "$tmp/timed/snapshot_0000.06min.safetensors" ] || fail "a snapshot after --minutes"
out=$("$cli" eval "$tmp/timed/snapshot_0000.02min.safetensors" --n 50 --steps 5 --json) ||
    fail "eval of a snapshot failed"
printf '%s\n' "$out" | grep -Eq '^\{"mmd":[0-9.e+-]+,"n":50' || fail "eval snapshot: $out"
expect 2 "--snapshot-every needs --out" -- "$cli" train diffusion --data moons --snapshot-every 1
expect 2 "--minutes must be" -- "$cli" train diffusion --data moons --minutes -1 --out "$tmp/r0"

# a user CSV of points
printf 'x,y\n0,0\n1,1\n0.5,0.2\n0.1,0.9\n0.3,0.3\n' >"$tmp/pts.csv"
"$cli" train diffusion --data "$tmp/pts.csv" --iters 5 --T 50 --ema 0 --out "$tmp/csvrun" >/dev/null 2>&1 ||
    fail "train diffusion on a CSV failed"
out=$("$cli" eval "$tmp/csvrun" --n 20 --steps 5 --json) || fail "eval of the CSV run"
printf '%s\n' "$out" | grep -Eq '^\{"mmd":[0-9.e+-]+,"n":20,"bandwidth":0.2,"steps' || fail "eval csv: $out"

# bad inputs
expect1 "--class 2: the model has 2 classes" -- "$cli" sample "$tmp/run" --class 2 --out "$tmp/x.csv"
expect1 "--steps 101: the model has T = 100" -- "$cli" sample "$tmp/run" --steps 101 --out "$tmp/x.csv"
[ ! -e "$tmp/x.csv" ] || fail "a failed sample left a file"
printf 'x\n1\n2\n3\n' >"$tmp/onecol.csv"
expect1 "1 numeric column; a points file needs two" -- "$cli" train diffusion --data "$tmp/onecol.csv" --iters 2 --out "$tmp/r1"
printf 'x,y\n1,banana\n' >"$tmp/text.csv"
expect1 "text.csv" -- "$cli" train diffusion --data "$tmp/text.csv" --iters 2 --out "$tmp/r2"
expect1 "no labels" -- "$cli" train diffusion --data swissroll --cond class --iters 2 --out "$tmp/r3"
expect 2 "--noise-schedule" -- "$cli" train diffusion --data moons --noise-schedule quadratic --out "$tmp/r4"
expect1 "does not fit" -- "$cli" train diffusion --data moons --model unet --out "$tmp/r5"
# images: a tiny class-conditional U-Net on a few generated shapes (32 x 32 RGB), a sample
# grid with a trajectory strip, and eval --judge with a (barely trained) conv classifier
"$cli" data shapes --n 16 --out "$tmp/shapes" >/dev/null 2>&1 || fail "data shapes failed"
"$cli" train diffusion --data "$tmp/shapes" --model unet-tiny --widths 8,16,16 --cond class \
    --iters 2 --batch 4 --T 10 --out "$tmp/img" >"$tmp/log" 2>&1 || fail "train diffusion (images): $(cat "$tmp/log")"
[ -s "$tmp/img/samples.png" ] || fail "no samples.png for the image run"
"$cli" sample "$tmp/img" --n 3 --class 1 --guidance 3 --trajectory "$tmp/traj.png" --out "$tmp/img.png" \
    >/dev/null 2>"$tmp/err" || fail "sample images: $(cat "$tmp/err")"
[ -s "$tmp/img.png" ] && [ -s "$tmp/traj.png" ] || fail "no image grid or trajectory"
expect1 "--class 5: the model has 5 classes" -- "$cli" sample "$tmp/img" --class 5 --out "$tmp/y.png"
expect1 "needs --judge" -- "$cli" eval "$tmp/img"
expect1 ".csv is for 2-D models" -- "$cli" sample "$tmp/img" --out "$tmp/y.csv"
"$cli" train classifier --data "$tmp/shapes" --model conv --iters 1 --out "$tmp/judge" >/dev/null 2>&1 ||
    fail "train classifier failed"
out=$("$cli" eval "$tmp/img" --judge "$tmp/judge" --n 5 --steps 2 --guidance 1,2 --json) || fail "eval --judge failed"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] || fail "eval --judge with two guidance values: $out"
printf '%s\n' "$out" | head -1 | grep -Eq '^\{"judge_accuracy":[0-9.]+,"frechet_distance":[0-9.e+-]+,"n":5,"guidance":1,"steps":2,"weights":"ema"' ||
    fail "eval --judge --json: $out"
# sampling from a run that is not a diffusion model: the judge has no sampler
expect1 "no sampler|not a diffusion" -- "$cli" sample "$tmp/judge" --n 2 --out "$tmp/z.png"

# text-conditioned: a tiny U-Net with a tiny caption encoder on the captioned shapes folder;
# a prompt gives the same image for the same seed, another prompt another image; unknown
# words warn, a prompt with no known word is an error; the vocabulary is in the checkpoint
"$cli" train diffusion --data "$tmp/shapes" --cond text --model unet-tiny --widths 8,16,16 \
    --text-dim 16 --text-layers 1 --text-heads 2 --iters 3 --batch 4 --T 10 --out "$tmp/txt" \
    >"$tmp/log" 2>&1 || fail "train diffusion --cond text: $(cat "$tmp/log")"
grep -q '"cond":"text"\|"cond":.*"text"' "$tmp/txt/config.json" || fail "config.json lacks cond text"
grep -aq '"vocab"' "$tmp/txt/last.safetensors" || fail "the checkpoint lacks its vocabulary"
"$cli" sample "$tmp/txt" --prompt "a small red circle" --n 2 --seed 3 --out "$tmp/t1.png" \
    >/dev/null 2>"$tmp/err" || fail "sample --prompt: $(cat "$tmp/err")"
"$cli" sample "$tmp/txt" --prompt "a small red circle" --n 2 --seed 3 --out "$tmp/t2.png" \
    >/dev/null 2>&1 || fail "sample --prompt again"
cmp -s "$tmp/t1.png" "$tmp/t2.png" || fail "the same prompt and seed gave another image"
"$cli" sample "$tmp/txt" --prompt "a large blue square" --n 2 --seed 3 --out "$tmp/t3.png" \
    >/dev/null 2>&1 || fail "sample another prompt"
! cmp -s "$tmp/t1.png" "$tmp/t3.png" || fail "another prompt gave the same image"
expect 0 "^latentcl: warning: --prompt: 1 of 4 words not in the model's vocabulary, read as <unk>: 'zebra'\$" -- "$cli" sample "$tmp/txt" \
    --prompt "a small zebra circle" --n 1 --out "$tmp/t4.png"
expect1 "--prompt \"zebra quux\": no word of it is in the model's vocabulary" -- "$cli" sample "$tmp/txt" --prompt "zebra quux" --n 1 --out "$tmp/t5.png"
expect1 "needs --prompt" -- "$cli" sample "$tmp/txt" --n 1 --out "$tmp/t6.png"
expect1 "not text-conditioned" -- "$cli" sample "$tmp/img" --prompt "a red circle" --n 1 --out "$tmp/t7.png"
expect1 "needs captioned images" -- "$cli" train diffusion --data moons --cond text --iters 1 --out "$tmp/r6"

finish
