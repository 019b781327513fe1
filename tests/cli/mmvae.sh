#!/usr/bin/env bash
# latentcl train mmvae, caption, generate, eval on a tiny PNG folder with captions (a few
# --iters): outputs, --json keys, exit codes (0 ok, 1 failure, 2 usage), one-line errors
# for bad input (wrong image size, a prompt of unknown words, an empty captions file, a run
# of another family), the <unk> warning, and no partial output files.
# usage: mmvae.sh LATENTCL_BINARY TESTS_DIR
set -u
source "$(dirname "$0")/harness.bash"

data="$tmp/shapes"
"$cli" data shapes --n 48 --seed 1 --out "$data" > /dev/null || { echo "FAIL: data shapes"; exit 1; }
tiny=(--latent 8 --hidden 16 --text-dim 16 --text-layers 1 --heads 2 --max-len 12 --batch 16
      --log-every 1)

# Usage.
expect 0 "usage: latentcl train mmvae" -- "$cli" train mmvae --help
expect 0 "--kl-warmup" -- "$cli" train mmvae --help
expect 0 "usage: latentcl caption" -- "$cli" caption --help
expect 0 "usage: latentcl generate" -- "$cli" generate --help
expect 2 "expected one RUN" -- "$cli" caption
expect 2 "--max-len" -- "$cli" train mmvae --data "$data" --max-len 1 --out "$tmp/bad"
expect 0 "--image-likelihood" -- "$cli" train mmvae --help
expect 2 "bernoulli or logistic" -- "$cli" train mmvae --data "$data" --image-likelihood gauss --out "$tmp/bad"
expect1 "--image-scale" -- "$cli" train mmvae --data "$data" "${tiny[@]}" --image-likelihood logistic --image-scale 0 --iters 1 --out "$tmp/bad"
[ -e "$tmp/bad/last.safetensors" ] && fail "a refused train left a checkpoint"
# The logistic image likelihood trains and is recorded in the run's config.
expect 0 '"steps"' -- "$cli" train mmvae --data "$data" "${tiny[@]}" --iters 2 --json --image-likelihood logistic --image-scale 0.3 --cross --cross-image-weight 0.5 --out "$tmp/logi"
grep -q '"image_likelihood":[[:space:]]*"logistic"' "$tmp/logi/config.json" || fail "config.json does not record the logistic likelihood"
# The JMVAE-kl alignment: its own loss term in the metrics, its weight in config.json.
expect 0 "--align-weight" -- "$cli" train mmvae --help
expect 0 '"steps"' -- "$cli" train mmvae --data "$data" "${tiny[@]}" --iters 2 --json --cross --align-weight 0.5 --out "$tmp/align"
grep -q '"align_weight":[[:space:]]*0.5' "$tmp/align/config.json" || fail "config.json does not record --align-weight"
grep -q '"align"' "$tmp/align/metrics.jsonl" || fail "no align term in metrics.jsonl"
expect1 "--align-weight" -- "$cli" train mmvae --data "$data" "${tiny[@]}" --align-weight -1 --iters 1 --out "$tmp/bad"

# Train on the folder (no test split: no test figures).
run="$tmp/mm"
expect 0 '"steps"' -- "$cli" train mmvae --data "$data" "${tiny[@]}" --iters 3 --json --out "$run"
for f in config.json metrics.jsonl last.safetensors; do
  [ -s "$run/$f" ] || fail "no $f in the run folder"
done
grep -q '"rec_y"' "$run/metrics.jsonl" || fail "no rec_y term in metrics.jsonl"
grep -q '"align"' "$run/metrics.jsonl" && fail "an align term without --align-weight"
grep -q 'align_weight' "$run/config.json" && fail "align_weight in config.json without --align-weight"

# Caption one image: one line on stdout.
expect 0 "^a|^[a-z<]" -- "$cli" caption "$run" --image "$data/000000.png"
[ "$(grep -c . "$tmp/out")" = 1 ] || fail "caption printed $(grep -c . "$tmp/out") lines"
expect 0 '"caption"' -- "$cli" caption "$run" --image "$data/000001.png" --json
# Caption a data set into a grid.
expect 0 "wrote 6 captioned" -- "$cli" caption "$run" --data "$data" --n 6 --out "$tmp/caps.png"
[ -s "$tmp/caps.png" ] || fail "no captioned grid"
expect 2 "--out" -- "$cli" caption "$run" --data "$data" --n 6
expect 2 "either --image" -- "$cli" caption "$run"

# Text to image; unknown words warn; none known is an error.
expect 0 "wrote 4 images" -- "$cli" generate "$run" --prompt "a small red circle" --n 4 --out "$tmp/gen.png"
[ -s "$tmp/gen.png" ] || fail "no generated grid"
expect 0 "^latentcl: warning: --prompt: 1 of 3 words not in the model's vocabulary, read as <unk>: 'zebra'\$" -- "$cli" generate "$run" --prompt "a small zebra" --n 2 --out "$tmp/gen2.png"
expect 0 "warning: --prompt: 200 of 201 words .*<unk>: 'zebra0', 'zebra1', .*, \.\.\.\$" -- "$cli" generate "$run" \
    --prompt "circle $(printf 'zebra%d ' $(seq 0 199))" --n 1 --out "$tmp/gen2.png"
expect1 "--prompt \"zebra giraffe\": no word of it is in the model's vocabulary" -- "$cli" generate "$run" --prompt "zebra giraffe" --n 2 --out "$tmp/gen3.png"
[ -e "$tmp/gen3.png" ] && fail "a failed generate left its output"
expect1 "--prompt \"\" has no words" -- "$cli" generate "$run" --prompt "" --n 2 --out "$tmp/gen3.png"

# An image of the wrong size (the 2x2 grid above is larger than 32x32).
expect1 "the model takes 32 x 32" -- "$cli" caption "$run" --image "$tmp/gen.png"
expect1 "gen.png|No such|cannot" -- "$cli" caption "$run" --image "$tmp/missing.png"

# Evaluation (a folder: captions compared word for word).
expect 0 '"caption_exact"' -- "$cli" eval "$run" --json
for k in caption_exact recall_at_1_i2t recall_at_5_i2t recall_at_1_t2i recall_at_5_t2i n; do
  grep -q "\"$k\":" "$tmp/out" || fail "no key $k in eval --json"
done

# An empty captions file.
empty="$tmp/empty"
mkdir -p "$empty" && cp "$data/000000.png" "$empty/" && : > "$empty/captions.tsv"
expect1 "captions.tsv|no images" -- "$cli" train mmvae --data "$empty" "${tiny[@]}" --iters 1 --out "$tmp/e"
[ -e "$tmp/e/last.safetensors" ] && fail "a refused train left a checkpoint"

# A run of another family.
vae="$tmp/vae"
"$cli" train vae --data "$data" --hidden 16,8 --batch 16 --iters 1 --out "$vae" > /dev/null 2>&1 \
  || fail "could not train the vae run"
expect1 "not an mmvae" -- "$cli" caption "$vae" --image "$data/000000.png"
expect1 "not an mmvae" -- "$cli" generate "$vae" --prompt "a small red circle" --out "$tmp/g4.png"

finish
