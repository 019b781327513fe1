#!/usr/bin/env bash
# latentcl train hmm / score / decode / sample / bench hmm: a tiny end-to-end run, the
# outputs' shapes, and the bad inputs of the HMM issue (one-line errors naming the
# line, exit 1; usage errors exit 2; no run folder files left half-written).
# usage: hmm.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

printf 'banana\nbandana\ncabana\nanna\nnab\n' >"$tmp/train.txt"
"$cli" train hmm --data "$tmp/train.txt" --n-states 2 --iters 5 --seed 3 --out "$tmp/run" \
    >"$tmp/log" 2>&1 || fail "train hmm failed: $(cat "$tmp/log")"
for f in config.json metrics.jsonl last.safetensors transmat.png emissionprob.png curves.png; do
    [ -s "$tmp/run/$f" ] || fail "run folder lacks $f"
done
[ "$(wc -l <"$tmp/run/metrics.jsonl")" -eq 5 ] || fail "metrics.jsonl should have 5 lines"
grep -q '^state 0:' "$tmp/log" || fail "no top symbols in the log"

out=$("$cli" score "$tmp/run" --data "$tmp/train.txt" --json) || fail "score failed"
printf '%s\n' "$out" | grep -Eq '^\{"log_likelihood":-[0-9.]+,"n_sequences":5,"n_observations":26,"aic":[0-9.]+,"bic":[0-9.]+\}$' ||
    fail "score --json: $out"
out=$("$cli" decode "$tmp/run" --data "$tmp/train.txt" --json) || fail "decode failed"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 5 ] || fail "decode should print 5 lines"
printf '%s\n' "$out" | head -1 | grep -Eq '^\{"index":0,"states":\[[01](,[01]){5}\],"log_prob":-[0-9.]+\}$' ||
    fail "decode --json: $out"
"$cli" decode "$tmp/run" --data "$tmp/train.txt" --posterior | head -1 | grep -Eq '^[01]( [01]){5}$' ||
    fail "decode --posterior"
"$cli" decode "$tmp/run" --data "$tmp/train.txt" --json --probs | head -1 | grep -q "\"posteriors\":\[\[" ||
    fail "decode --probs"
out=$("$cli" sample "$tmp/run" --n 4 --length 7 --seed 1) || fail "sample failed"
[ "$(printf '%s\n' "$out" | grep -Ec '^[abcdn]{7}$')" -eq 4 ] || fail "sample: $out"

# counting with observed states
printf '010101\n0101010\n010101\n0110\n010\n' >"$tmp/labels.txt"
"$cli" train hmm --data "$tmp/train.txt" --state-labels "$tmp/labels.txt" --smoothing 0.1 \
    --out "$tmp/counted" >/dev/null 2>&1 || fail "train hmm --state-labels failed"

# bad inputs: a clear error naming the line, exit 1
printf 'banana\nbanxna\n' >"$tmp/unknown.txt"
expect1 "line 2: symbol 'x' is not in the model's alphabet" -- "$cli" score "$tmp/run" --data "$tmp/unknown.txt"
expect1 "line 2: symbol 'x'" -- "$cli" decode "$tmp/run" --data "$tmp/unknown.txt"
printf 'banana\n\nanna\n' >"$tmp/empty.txt"
expect1 ":2: .*empty" -- "$cli" train hmm --data "$tmp/empty.txt" --out "$tmp/r2"
printf 'seq,a,b\n0,1.0,2.0\n0,nan,1.0\n' >"$tmp/nan.csv"
expect1 "nan.csv:3" -- "$cli" train hmm --data "$tmp/nan.csv" --out "$tmp/r3"
expect1 "n-states must be >= 1" -- "$cli" train hmm --data "$tmp/train.txt" --n-states 0 --out "$tmp/r4"
printf '010101\n0101010\n01010\n0110\n010\n' >"$tmp/short.txt"
expect1 "line 3 has 5 labels" -- "$cli" train hmm --data "$tmp/train.txt" --state-labels "$tmp/short.txt" --out "$tmp/r5"
[ ! -e "$tmp/r5/last.safetensors" ] || fail "a failed run left a checkpoint"
# a checkpoint whose transmat row does not sum to 1 (hand-written safetensors)
hdr='{"startprob":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"transmat":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]},"emissionprob":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]}}'
while [ $(( ${#hdr} % 8 )) -ne 0 ]; do hdr="$hdr "; done
n=${#hdr}
{
    printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))\\x00\\x00\\x00\\x00\\x00\\x00"
    printf '%s' "$hdr"
    printf '\x00\x00\x80\x3f' # startprob 1.0
    printf '\x00\x00\x00\x3f' # transmat 0.5: the row sums to 0.5
    printf '\x00\x00\x00\x3f\x00\x00\x00\x3f'
} >"$tmp/bad.safetensors"
expect1 "transmat row 0 sums to 0.5" -- "$cli" score "$tmp/bad.safetensors" --data "$tmp/train.txt"

# usage errors exit 2
expect 2 "" -- "$cli" train
expect 2 "unknown family" -- "$cli" train nosuchfamily
expect 2 "" -- "$cli" train hmm --data "$tmp/train.txt"
expect 2 "" -- "$cli" train hmm --data "$tmp/train.txt" --out "$tmp/r6" --emission poisson
expect 2 "" -- "$cli" decode "$tmp/run" --data "$tmp/train.txt" --viterbi --posterior
expect 2 "not one of ste" -- "$cli" train hmm --data "$tmp/train.txt" --out "$tmp/r7" --params stm

# bench hmm prints one JSON line with the issue's keys
out=$("$cli" bench hmm --n-states 3 --symbols 4 --sequences 20 --length 15 --iters 1 --json) ||
    fail "bench hmm failed"
printf '%s\n' "$out" | grep -Eq '^\{"bench":"hmm","emission":"categorical","k":3,"m":4,"d":0,"sequences":20,"length":15,"sec_per_iter":[0-9.]+' ||
    fail "bench hmm --json: $out"
finish
