#!/usr/bin/env bash
# Crash safety: a small diffusion training that saves after every step (and draws its
# pictures at every epoch end) is killed with SIGKILL at random moments, KILLS times (the
# first once its first checkpoint is there; the others up to twice that start-up time);
# after each kill RUN/last.safetensors must pass `latentcl inspect` (which checks the
# whole file), its step may never go back, and `--resume` continues from it. Finally the
# run completes, and its weights equal those of the same run never interrupted, bit
# for bit (every value's min/max/mean as inspect prints them with 17 digits).
# usage: crash_safety.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

KILLS=${CRASH_KILLS:-24}
ITERS=150
RANDOM=20 # the kill moments are random but the same each run (as far as timing allows)
train=(train diffusion --data moons --points 256 --batch 32 --hidden 16 --depth 2 --T 20
       --iters "$ITERS" --save-every 1 --log-every 4 --seed 3 --device cpu --threads 1)
run="$tmp/run"

# The step of a checkpoint (inspect checks every tensor first), or "bad".
ckpt_step() {
  local line
  line=$("$cli" inspect "$1" --json 2>"$tmp/inspect.err" | head -n 1) || { echo bad; return; }
  echo "$line" | grep -oE '"step":"[0-9]+"' | head -n 1 | grep -oE '[0-9]+' || echo bad
}

start=$(date +%s.%N)
# The first start runs until its first checkpoint: how long a start takes on this machine
# (a loaded one is many times slower) sets the range of the random kill moments.
"$cli" "${train[@]}" --out "$run" > "$tmp/train.out" 2>&1 &
pid=$!
for _ in $(seq 1200); do [ -f "$run/last.safetensors" ] && break; sleep 0.05; done
first=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 100 }') # 1/100 s
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -f "$run/last.safetensors" ] || { echo "FAIL: no checkpoint after 60 s: $(tail -n 2 "$tmp/train.out")"; exit 1; }
span=$((2 * first > 85 ? 2 * first : 85))
prev=0 kills=1 completed=0 before_first=0
while [ "$kills" -lt "$KILLS" ]; do
  if [ -f "$run/last.safetensors" ]; then mode=--resume; else mode=--force; fi
  "$cli" "${train[@]}" --out "$run" $mode > "$tmp/train.out" 2>&1 &
  pid=$!
  # 0.05 s .. max(0.85 s, twice the first start's time to a checkpoint): startup, steps,
  # saves, pictures
  t=$((5 + RANDOM % (span - 4)))
  sleep "$((t / 100)).$(printf '%02d' $((t % 100)))"
  if ! kill -9 "$pid" 2>/dev/null; then
    wait "$pid"; rc=$?
    if [ "$rc" = 0 ]; then completed=1; break; fi
    fail "training exited $rc before it was killed: $(tail -n 2 "$tmp/train.out")"
    break
  fi
  wait "$pid" 2>/dev/null
  kills=$((kills + 1))
  if [ ! -f "$run/last.safetensors" ]; then before_first=$((before_first + 1)); continue; fi
  step=$(ckpt_step "$run/last.safetensors")
  if [ "$step" = bad ]; then
    fail "kill $kills: last.safetensors does not load: $(cat "$tmp/inspect.err")"
    break
  fi
  [ "$step" -lt "$prev" ] && fail "kill $kills: the checkpoint went back from step $prev to $step"
  prev=$step
done
[ "$before_first" -lt "$kills" ] || fail "no kill came after the first checkpoint"
echo "# $kills kills (${before_first} before the first checkpoint; kill moments 0.05-$((span / 100)).$(printf '%02d' $((span % 100))) s), checkpoint at step $prev;" \
  "$(find "$run" -name '*.tmp.*' | wc -l) temporary files left by kills inside a write"

# The run completes from its last checkpoint...
if [ "$completed" = 0 ]; then
  expect 0 "trained $ITERS steps" -- "$cli" "${train[@]}" --out "$run" --resume
fi
[ "$(ckpt_step "$run/last.safetensors")" = "$ITERS" ] || fail "the finished run is not at step $ITERS"
# ... a resume removed the partial temporaries the kills left ...
left=$(find "$run" -name '*.tmp.*')
[ -z "$left" ] || fail "temporary files left after the resume: $left"
# ... the metrics' steps never go back (a resume cuts them to the checkpoint's step) ...
steps=$(grep -oE '^\{"step":[0-9]+' "$run/metrics.jsonl" | grep -oE '[0-9]+$')
sort -n -c <<< "$steps" 2>/dev/null || fail "metrics.jsonl steps go back: $(tr '\n' ' ' <<< "$steps")"
# ... and its weights are those of the run never interrupted.
"$cli" "${train[@]}" --out "$tmp/straight" > /dev/null 2>&1 || fail "the uninterrupted run failed"
"$cli" inspect "$run/last.safetensors" --json | tail -n +2 > "$tmp/killed.txt"
"$cli" inspect "$tmp/straight/last.safetensors" --json | tail -n +2 > "$tmp/straight.txt"
[ -s "$tmp/killed.txt" ] && cmp -s "$tmp/killed.txt" "$tmp/straight.txt" ||
  fail "weights after $kills kills and resumes differ from the uninterrupted run: $(diff "$tmp/killed.txt" "$tmp/straight.txt" | head -n 4)"
echo "# $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
echo "fails: $fails"
[ "$fails" = 0 ]
