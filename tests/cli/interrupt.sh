#!/bin/bash
# SIGINT during training: the step finishes, the checkpoint is saved and the run resumes.
# timeout(1) delivers its signal twice (to the program, then to its process group): two
# SIGINTs at once must still save, not kill. A second SIGINT a second later quits at once.
# usage: interrupt.sh LATENTCL_BINARY TESTS_DIR
set -u
source "$(dirname "$0")/harness.bash"

# start_training RUN: a long 2-D diffusion training in the background; waits for its first
# metrics line (so the CLI's handler is installed and steps are running).
start_training() {
  "$cli" train diffusion --data moons --iters 10000000 --log-every 20 --out "$1" \
    > "$1.out" 2> "$1.err" &
  pid=$!
  for _ in $(seq 300); do
    [ -s "$1/metrics.jsonl" ] && return 0
    sleep 0.1
  done
  fail "no metrics from the training in 30 s"; kill -9 "$pid"; return 1
}

# 1. Two SIGINTs 0.01 s apart (timeout(1) sends two; the second after the first was
# handled): a clean, saved stop.
if start_training "$tmp/twice"; then
  kill -INT "$pid"; sleep 0.01; kill -INT "$pid"
  wait "$pid"; rc=$?
  [ "$rc" = 1 ] || fail "double SIGINT: exit $rc (want 1: cancelled)"
  grep -q "cancelled after step" "$tmp/twice.err" || fail "double SIGINT: no 'cancelled' message: $(cat "$tmp/twice.err")"
  [ -f "$tmp/twice/last.safetensors" ] || fail "double SIGINT: no checkpoint saved"
  expect 0 '"epoch"' -- "$cli" inspect "$tmp/twice/last.safetensors" --json
fi

# 2. timeout -s INT itself.
timeout -s INT 3 "$cli" train diffusion --data moons --iters 10000000 --out "$tmp/timeout" \
  > /dev/null 2> "$tmp/timeout.err"
rc=$?
[ "$rc" = 124 ] || fail "timeout -s INT: exit $rc (want 124)"
[ -f "$tmp/timeout/last.safetensors" ] || fail "timeout -s INT: no checkpoint saved: $(tail -c 300 "$tmp/timeout.err")"

finish
