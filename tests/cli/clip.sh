#!/usr/bin/env bash
# latentcl train clip, eval, zeroshot, retrieve and embed on a tiny PNG folder with captions
# and a tiny Fashion-MNIST run (a few --iters): outputs, --json keys, exit codes (0 ok,
# 1 failure, 2 usage), one-line errors for bad input (an image of the wrong size, a query of
# unknown words, a bad templates file, a run of another family), the <unk> warning, and no
# partial output files. retrieve and embed also serve an mmvae run.
# usage: clip.sh LATENTCL_BINARY TESTS_DIR
set -u
source "$(dirname "$0")/harness.bash"

data="$tmp/shapes"
"$cli" data shapes --n 48 --seed 1 --out "$data" > /dev/null || { echo "FAIL: data shapes"; exit 1; }
tiny=(--embed 16 --hidden 16 --text-dim 16 --text-layers 1 --text-heads 2 --max-len 12
      --batch 16 --log-every 1)

# Usage.
expect 0 "usage: latentcl train clip" -- "$cli" train clip --help
expect 0 "--templates" -- "$cli" train clip --help
expect 0 "usage: latentcl zeroshot" -- "$cli" zeroshot --help
expect 0 "usage: latentcl retrieve" -- "$cli" retrieve --help
expect 0 "usage: latentcl embed" -- "$cli" embed --help
expect 2 "expected one RUN" -- "$cli" retrieve
expect 2 "must be positive" -- "$cli" train clip --data "$data" --max-len 1 --out "$tmp/bad"

# Train on the folder (no test split: a note, no test figures).
run="$tmp/clip"
expect 0 '"steps"' -- "$cli" train clip --data "$data" "${tiny[@]}" --iters 3 --json --out "$run"
grep -q "note: $data has no test split" "$tmp/err" || fail "train clip: no note about the test split"
for f in config.json metrics.jsonl last.safetensors; do
  [ -s "$run/$f" ] || fail "no $f in the run folder"
done
grep -q '"templates"' "$run/config.json" || fail "config.json lacks the templates"

# eval: retrieval over the folder's pairs (its only split).
expect 0 '"recall_at_1_i2t".*"recall_at_10_t2i"' -- "$cli" eval "$run" --json
expect 0 'recall@5 ' -- "$cli" eval "$run"

# retrieve: text -> images grid; image -> captions.
expect 0 "wrote $tmp/grid.png" -- "$cli" retrieve "$run" --query "a small red circle" --k 3 --out "$tmp/grid.png"
[ -s "$tmp/grid.png" ] || fail "no retrieval grid"
expect 0 '"results"' -- "$cli" retrieve "$run" --query "a large square" --out "$tmp/g2.png" --json
expect 0 "^latentcl: warning: --query: 1 of 3 words not in the model's vocabulary, read as <unk>: 'zebra'\$" -- "$cli" retrieve "$run" --query "a small zebra" --out "$tmp/g3.png"
expect1 "--query \"zebra giraffe\": no word of it is in the model's vocabulary" -- "$cli" retrieve "$run" --query "zebra giraffe" --out "$tmp/g4.png"
[ -e "$tmp/g4.png" ] && fail "a failed retrieve left its output"
expect1 "--query \"\" has no words" -- "$cli" retrieve "$run" --query "" --out "$tmp/g4.png"
expect 0 "top 5 of [0-9]+ captions" -- "$cli" retrieve "$run" --image "$data/000000.png"
expect 0 '"caption"' -- "$cli" retrieve "$run" --image "$data/000001.png" --k 2 --json
expect1 "the model takes 32x32 with 3 channels" -- "$cli" retrieve "$run" --image "$tmp/grid.png"
expect1 "missing.png" -- "$cli" retrieve "$run" --image "$tmp/missing.png"
expect 2 "one of --query" -- "$cli" retrieve "$run"
expect 2 "one of --query" -- "$cli" retrieve "$run" --query "a circle" --image "$data/000000.png"
expect 2 "--out PNG is required" -- "$cli" retrieve "$run" --query "a circle"

# embed: a header, then 48 image and 48 caption rows of 16 values.
expect 0 "wrote 48 image" -- "$cli" embed "$run" --out "$tmp/emb.tsv"
[ "$(wc -l < "$tmp/emb.tsv")" = 97 ] || fail "emb.tsv has $(wc -l < "$tmp/emb.tsv") lines, want 97"
head -1 "$tmp/emb.tsv" | grep -q $'^modality\tindex\tlabel\tcaption\te0' || fail "emb.tsv header"
[ "$(sed -n 2p "$tmp/emb.tsv" | awk -F'\t' '{print NF}')" = 20 ] || fail "emb.tsv row width"
grep -q $'^text\t47\t' "$tmp/emb.tsv" || fail "no caption rows in emb.tsv"
expect 2 "--out FILE is required" -- "$cli" embed "$run"
# A bad --out fails before any work, naming the path asked for and the reason, and leaves
# nothing behind.
: > "$tmp/reg"
expect1 "^latentcl: $tmp/reg/x.tsv: Not a directory$" -- "$cli" embed "$run" --out "$tmp/reg/x.tsv"
mkdir -p "$tmp/outdir"
expect1 "^latentcl: $tmp/outdir: Is a directory$" -- "$cli" embed "$run" --out "$tmp/outdir"
[ -z "$(ls "$tmp/outdir")" ] || fail "a failed embed left a file in its --out folder"
expect1 "^latentcl: $tmp/reg/x.png: Not a directory$" -- "$cli" retrieve "$run" --query "a small zebra" --out "$tmp/reg/x.png"

# zeroshot needs named classes; bad template files are one-line errors.
expect1 "no labelled classes" -- "$cli" zeroshot "$run" --data "$data"
expect1 "^latentcl: $tmp/reg/z.png: Not a directory$" -- "$cli" zeroshot "$run" --data "$data" --out "$tmp/reg/z.png"
printf 'a {class}\nno mark\n' > "$tmp/bad.txt"
expect1 "bad.txt:2: a template needs \{class\}" -- "$cli" zeroshot "$run" --data "$data" --templates "$tmp/bad.txt"
: > "$tmp/empty.txt"
mkdir -p "$tmp/nocaps" && : > "$tmp/nocaps/captions.tsv"
expect1 "no images listed" -- "$cli" train clip --data "$tmp/nocaps" --iters 1 --out "$tmp/bad3"
[ -e "$tmp/bad3" ] && fail "a failed train left a run folder"
expect1 "no template" -- "$cli" train clip --data "$data" --templates "$tmp/empty.txt" --iters 1 --out "$tmp/bad2"

# Fashion-MNIST: template captions, zero-shot with held-out templates and a confusion PNG.
if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || [ -n "${LATENTCL_DATA:-}" ]; then
  fm="$tmp/fm"
  expect 0 '"steps"' -- "$cli" train clip --data fashion-mnist --count 64 "${tiny[@]}" --word-dropout 0.3 --iters 2 --json --out "$fm"
  grep -qE '"word_dropout":[[:space:]]*0.3' "$fm/config.json" || fail "config.json lacks word_dropout"
  expect 0 '"zeroshot_accuracy":[0-9.]+,"n":10000,"templates":\["a photo of a \{class\}","a small photo of the \{class\}"\]' -- "$cli" zeroshot "$fm" --data fashion-mnist --json
  [ -s "$fm/zeroshot_confusion.png" ] || fail "no zeroshot_confusion.png"
  printf '# mine\nthe {class}\n' > "$tmp/zs.txt"
  expect 0 '"templates":\["the \{class\}"\]' -- "$cli" zeroshot "$fm" --data fashion-mnist --templates "$tmp/zs.txt" --out "$tmp/zs.png" --json
  [ -s "$tmp/zs.png" ] || fail "no --out confusion PNG"
  expect 0 '"zeroshot_accuracy"' -- "$cli" eval "$fm" --n 100 --json
  expect1 "the model takes 28x28 with 1 channel" -- "$cli" retrieve "$fm" --image "$data/000000.png"
fi

# A run of another family: zeroshot refuses it; retrieve and embed serve an mmvae run.
mm="$tmp/mm"
if "$cli" train mmvae --data "$data" --latent 8 --hidden 16 --text-dim 16 --text-layers 1 \
     --heads 2 --max-len 12 --batch 16 --iters 2 --out "$mm" > /dev/null 2>&1; then
  expect1 "not a clip model" -- "$cli" zeroshot "$mm" --data "$data"
  # A failure after the data loaded is still one line (the no-test-split note comes after a run).
  expect1 "trained a mmvae model, not clip" -- "$cli" train clip --data "$data" "${tiny[@]}" --iters 1 --resume --out "$mm"
  expect 0 "-L2 distance" -- "$cli" retrieve "$mm" --query "a small red circle" --out "$tmp/mm.png"
  expect 0 "wrote 48 image and 48 caption embeddings \(8 wide\)" -- "$cli" embed "$mm" --out "$tmp/mm.tsv"
else
  fail "could not train a tiny mmvae run"
fi
cls="$tmp/cls"
if "$cli" train classifier --data "$data" --iters 1 --batch 16 --out "$cls" > /dev/null 2>&1; then
  expect1 "retrieve works with clip and mmvae runs; this is a classifier" -- "$cli" retrieve "$cls" --query "a circle" --out "$tmp/x.png"
  expect1 "not a clip model" -- "$cli" zeroshot "$cls" --data fashion-mnist
else
  fail "could not train a tiny classifier run"
fi

finish
