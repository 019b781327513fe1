#!/usr/bin/env bash
# `latentcl inspect` and `latentcl plot`: exit codes, one-line errors naming the
# file (and line), no partial output files.
# usage: inspect.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"


# A valid file: w = [1.0, -2.0] (F32), header padded to 56 bytes, one metadata entry.
header='{"__metadata__":{"family":"test"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
pad=$(( (8 - ${#header} % 8) % 8 ))
header="$header$(printf '%*s' "$pad" '')"
len=${#header}
good="$tmp/good.safetensors"
printf "$(printf '\\x%02x' "$len")\x00\x00\x00\x00\x00\x00\x00" > "$good"
printf '%s' "$header" >> "$good"
printf '\x00\x00\x80\x3f\x00\x00\x00\xc0' >> "$good"

expect 0 "^  w +F32 +\(2,\) +-2 +1 +-0.5" -- "$cli" inspect "$good"
expect 0 "family +test" -- "$cli" inspect "$good"
expect 0 '"name":"w","dtype":"F32","shape":\[2\],"numel":2,"min":-2,"max":1,"mean":-0.5' -- "$cli" inspect --json "$good"
expect 0 '"metadata":\{"family":"test"\}' -- "$cli" inspect "$good" --json
expect 0 "usage: latentcl inspect" -- "$cli" inspect --help
expect 2 "expected one FILE" -- "$cli" inspect
expect 2 "unknown option '--bogus'" -- "$cli" inspect --bogus "$good"

expect 1 "^latentcl: .*missing.safetensors: No such file" -- "$cli" inspect "$tmp/missing.safetensors"
one_line_error
# Cut short: the header length points past the end.
head -c 40 "$good" > "$tmp/cut.safetensors"
expect 1 "^latentcl: .*cut.safetensors: header length $len is past the end" -- "$cli" inspect "$tmp/cut.safetensors"
one_line_error
# One data byte too many.
cp "$good" "$tmp/long.safetensors"; printf 'x' >> "$tmp/long.safetensors"
expect 1 "long.safetensors: 1 bytes after the last tensor" -- "$cli" inspect "$tmp/long.safetensors"
one_line_error
# An unknown dtype names the tensor.
sed 's/"F32"/"F99"/' "$good" > "$tmp/dtype.safetensors"
expect 1 "dtype.safetensors: tensor 'w': unknown dtype 'F99'" -- "$cli" inspect "$tmp/dtype.safetensors"
one_line_error
# Not a safetensors file at all.
printf 'hello, world, this is text\n' > "$tmp/text.safetensors"
expect 1 "text.safetensors: header length .* over the 100 MB limit" -- "$cli" inspect "$tmp/text.safetensors"
one_line_error

# ---- plot -----------------------------------------------------------------------------
run="$tmp/run"
mkdir -p "$run"
for s in 1 2 3 4 5 6 7 8 9 10; do
  echo "{\"step\":$((s * 100)),\"epoch\":0,\"loss\":$((100 - s * 7)).5,\"lr\":0.001,\"samples_per_s\":$((20000 + s))}"
done > "$run/metrics.jsonl"
echo '{"step":1000,"test_loss":35.25,"phase":"eval"}' >> "$run/metrics.jsonl"
expect 0 "wrote .*run/curves.png \(4 series\)" -- "$cli" plot "$run"
if ! head -c 8 "$run/curves.png" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a"; then
  echo "FAIL: $run/curves.png is not a PNG"; fails=$((fails + 1))
fi
expect 0 '\{"out":".*other.png","series":4\}' -- "$cli" plot "$run" --out "$tmp/other.png" --json
[ -s "$tmp/other.png" ] || { echo "FAIL: --out file missing"; fails=$((fails + 1)); }
expect 0 "usage: latentcl plot" -- "$cli" plot --help
expect 2 "expected one RUN" -- "$cli" plot
expect 1 "^latentcl: .*nothing: No such file" -- "$cli" plot "$tmp/nothing"
one_line_error
mkdir -p "$tmp/bad"
printf '{"step":1,"loss":2}\n{"step":2,"loss":\n{"step":3,"loss":1}\n' > "$tmp/bad/metrics.jsonl"
expect 1 "bad/metrics.jsonl:2: not a JSON object" -- "$cli" plot "$tmp/bad"
one_line_error
[ ! -e "$tmp/bad/curves.png" ] || { echo "FAIL: a failed plot left curves.png"; fails=$((fails + 1)); }
mkdir -p "$tmp/empty"; : > "$tmp/empty/metrics.jsonl"
expect 1 "empty/metrics.jsonl: no numeric metrics to plot" -- "$cli" plot "$tmp/empty"
# Unwritable output (a folder that does not exist): error, no temp files anywhere.
expect 1 "no/such/dir/x.png" -- "$cli" plot "$run" --out "$tmp/no/such/dir/x.png"
one_line_error
if find "$tmp" -name '*.tmp*' | grep -q .; then
  echo "FAIL: temp files left:"; find "$tmp" -name '*.tmp*'; fails=$((fails + 1))
fi

if [ "$fails" != 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all ok"
