#!/usr/bin/env bash
# latentcl train ae|vae, sample, reconstruct, interpolate, encode, eval on a tiny PNG folder
# (64 shapes images, a few --iters): outputs, --json keys, exit codes (0 ok, 1 failure,
# 2 usage), one-line errors, and no partial output files.
# usage: vae.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"
# json_keys FILE KEY...: the last line of FILE is one JSON object with these keys.
json_keys() {
  local f="$1"; shift
  for k in "$@"; do
    tail -n 1 "$f" | grep -q "\"$k\":" || fail "no key $k in: $(tail -n 1 "$f")"
  done
  tail -n 1 "$f" | grep -qE '^\{.*\}$' || fail "not one JSON object: $(tail -n 1 "$f")"
}

data="$tmp/shapes"
"$cli" data shapes --n 64 --seed 1 --out "$data" > /dev/null || { echo "FAIL: data shapes"; exit 1; }
small=(--data "$data" --hidden 32,16 --batch 16 --log-every 2)

# Usage.
expect 0 "usage: latentcl train vae" -- "$cli" train vae --help
expect 0 "--kl-warmup" -- "$cli" train vae --help
expect 0 "--noise" -- "$cli" train ae --help
expect 2 "--model mlp\|conv" -- "$cli" train vae "${small[@]}" --model resnet --out "$tmp/bad"
expect1 "latent" -- "$cli" train vae "${small[@]}" --latent 0 --out "$tmp/bad"
expect 2 "--noise" -- "$cli" train vae "${small[@]}" --noise 0.1 --out "$tmp/bad"
[ -e "$tmp/bad" ] && fail "a refused train left $tmp/bad"

# Train a VAE (Z = 2: the scatter and the latent grid too).
run="$tmp/vae"
expect 0 '"test_neg_elbo"|"steps"' -- "$cli" train vae "${small[@]}" --latent 2 --iters 4 --json --out "$run"
json_keys "$tmp/out" steps loss out
for f in config.json metrics.jsonl last.safetensors samples.png recon.png curves.png \
         latent_scatter.png latent_grid.png; do
  [ -s "$run/$f" ] || fail "no $f in the run folder"
done
grep -q '"kl"' "$run/metrics.jsonl" || fail "no kl term in metrics.jsonl"

# An existing run without --resume or --force is refused; --force reuses it.
expect1 "refusing to overwrite.*--force" -- "$cli" train vae "${small[@]}" --latent 2 --iters 2 --out "$run"
# Resume with another config or family: one line naming the difference.
expect1 "latent 2, this command asks for 3" -- "$cli" train vae "${small[@]}" --latent 3 --iters 6 --resume --out "$run"
expect1 "trained a vae model, not ae" -- "$cli" train ae "${small[@]}" --latent 2 --iters 6 --resume --out "$run"
expect 0 "trained 6 steps" -- "$cli" train vae "${small[@]}" --latent 2 --iters 6 --resume --out "$run"

# sample / reconstruct / interpolate / encode / eval.
expect 0 '"out"' -- "$cli" sample "$run" --n 9 --seed 3 --json --out "$tmp/s.png"
json_keys "$tmp/out" out n seed
[ -s "$tmp/s.png" ] || fail "sample wrote no PNG"
"$cli" sample "$run" --n 9 --seed 3 --out "$tmp/s2.png" > /dev/null
cmp -s "$tmp/s.png" "$tmp/s2.png" || fail "the same --seed drew different samples"
expect 2 "--out FILE is required" -- "$cli" sample "$run" --n 4
expect1 "--n 0 out of range" -- "$cli" sample "$run" --n 0 --out "$tmp/x.png"
expect 0 "wrote 8 images" -- "$cli" reconstruct "$run" --n 8 --out "$tmp/r.png"
[ -s "$tmp/r.png" ] || fail "reconstruct wrote no PNG"
expect 0 '"steps":5' -- "$cli" interpolate "$run" --from 0 --to 5 --steps 5 --json --out "$tmp/i.png"
[ -s "$tmp/i.png" ] || fail "interpolate wrote no PNG"
expect1 "--from 64 is out of range: the set has 64 images" -- "$cli" interpolate "$run" --from 64 --to 1 --out "$tmp/bad.png"
expect 2 "--from I and --to J are required" -- "$cli" interpolate "$run" --out "$tmp/bad.png"
[ -e "$tmp/bad.png" ] && fail "a refused interpolate left a file"
expect 0 '"latent":2' -- "$cli" encode "$run" --json --out "$tmp/codes.tsv" --scatter "$tmp/sc.png"
[ "$(head -n 1 "$tmp/codes.tsv")" = "$(printf 'index\tlabel\tz0\tz1')" ] || fail "codes.tsv header"
[ "$(wc -l < "$tmp/codes.tsv")" = 65 ] || fail "codes.tsv has $(wc -l < "$tmp/codes.tsv") lines, not 65"
[ -s "$tmp/sc.png" ] || fail "no scatter PNG"
ls "$tmp" | grep -q '\.tmp' && fail "a temporary file was left behind"
expect 0 '"iwae_neg_ll"' -- "$cli" eval "$run" --iwae 4 --json
json_keys "$tmp/out" test_neg_elbo test_rec test_kl iwae_neg_ll
expect 0 "IWAE bound" -- "$cli" eval "$run" --iwae 4
expect1 "--iwae -1" -- "$cli" eval "$run" --iwae -1
expect1 "config.json" -- "$cli" sample "$run/config.json" --out "$tmp/x.png"

# An AE (denoising) through the same verbs.
ae="$tmp/ae"
expect 0 "trained 3 steps" -- "$cli" train ae "${small[@]}" --latent 4 --noise 0.2 --iters 3 --out "$ae"
expect 0 '"test_mse"' -- "$cli" eval "$ae" --json
json_keys "$tmp/out" test_rec test_mse
expect1 "an AE has no q" -- "$cli" eval "$ae" --iwae 5
expect 0 "wrote 4 samples" -- "$cli" sample "$ae" --n 4 --out "$tmp/ae.png"

finish
