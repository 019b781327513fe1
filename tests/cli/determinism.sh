#!/usr/bin/env bash
# Determinism: the same seed on the same device gives a bit-identical run for every
# family. Each row of the table trains twice with one seed (in two scratch folders, each
# run called "run", so that the --out recorded in the checkpoint's metadata is the same),
# then compares RUN/last.safetensors byte for byte (weights, optimiser moments, EMA and
# metadata) and the output of a verb that uses the model (samples, an evaluation). A third
# run with another seed must differ, so that the comparison can fail.
# Adding a family is one row. Tiny data, a few steps: seconds per row.
# usage: determinism.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

# Tiny data sets, absolute paths (the runs happen in other folders).
shapes="$tmp/shapes"
"$cli" data shapes --n 32 --seed 1 --out "$shapes" > /dev/null || { echo "FAIL: data shapes"; exit 1; }
printf 'banana\nbandana\ncabana\nanna\nnab\n' > "$tmp/words.txt"
printf 'seq,a,b\n0,0.1,1.0\n0,0.3,0.8\n0,2.1,-1.0\n1,1.9,-0.7\n1,0.2,0.9\n1,2.2,-1.1\n' > "$tmp/gauss.csv"

# FAMILY | train options (without --seed, --out) | a verb that uses RUN; OUT.x is its output
# file (stdout is compared too). The verb runs in the run's parent folder.
table=(
  "classifier | --data $shapes --iters 3 --batch 8 --ema 0.9 | eval run --split train --json"
  "classifier | --data $shapes --model conv --iters 2 --batch 8 | predict run --image $shapes/000001.png --json"
  "ae         | --data $shapes --hidden 32,16 --latent 4 --noise 0.2 --iters 3 --batch 8 | sample run --n 4 --seed 3 --out OUT.png"
  "vae        | --data $shapes --hidden 32,16 --latent 2 --iters 3 --batch 8 | sample run --n 4 --seed 3 --out OUT.png"
  "vae        | --data $shapes --model conv --latent 2 --iters 2 --batch 8 | encode run --out OUT.tsv"
  "diffusion  | --data moons --points 256 --iters 8 --batch 32 --T 50 --cond class | sample run --n 16 --steps 10 --seed 4 --out OUT.csv"
  "diffusion  | --data $shapes --model unet-tiny --widths 8,16,16 --iters 2 --batch 4 --T 10 | sample run --n 1 --steps 3 --seed 4 --out OUT.png"
  "hmm        | --data $tmp/words.txt --n-states 2 --iters 4 | sample run --n 3 --length 6 --seed 1"
  "hmm        | --data $tmp/gauss.csv --n-states 2 --iters 3 | decode run --data $tmp/gauss.csv --json --probs"
  "mmvae      | --data shapes --train-size 32 --test-size 8 --latent 4 --hidden 16 --text-dim 16 --text-layers 1 --heads 2 --iters 2 --batch 8 | generate run --prompt circle --n 2 --seed 3 --out OUT.png"
  "clip       | --data shapes --count 32 --embed 8 --hidden 16 --text-dim 16 --text-layers 1 --text-heads 2 --iters 2 --batch 8 | embed run --n 8 --out OUT.tsv"
)

# Seconds since t0 (date +%s%N), one decimal, without bc.
elapsed() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# train_and_use DIR FAMILY SEED TRAIN USE: one run in DIR/run and its use in DIR.
train_and_use() {
  local dir="$1" family="$2" seed="$3" train="$4" use="$5"
  mkdir -p "$dir"
  # shellcheck disable=SC2086  # the table's options split on spaces
  (cd "$dir" && "$cli" train "$family" $train --seed "$seed" --out run > train.log 2>&1) ||
    { fail "$family ($train) did not train: $(tail -n 1 "$dir/train.log")"; return 1; }
  # shellcheck disable=SC2086
  (cd "$dir" && "$cli" ${use//OUT/use} > use.stdout 2> use.stderr) ||
    { fail "$family: '$use' failed: $(tail -n 1 "$dir/use.stderr")"; return 1; }
}

row=0
for line in "${table[@]}"; do
  row=$((row + 1))
  IFS='|' read -r family train use <<< "$line"
  family=$(trim "$family"); train=$(trim "$train"); use=$(trim "$use")
  t0=$(date +%s%N)
  d="$tmp/row$row"
  train_and_use "$d/a" "$family" 7 "$train" "$use" || continue
  train_and_use "$d/b" "$family" 7 "$train" "$use" || continue
  ok=1
  cmp -s "$d/a/run/last.safetensors" "$d/b/run/last.safetensors" ||
    { fail "$family ($train): the same seed gave another checkpoint ($(cmp "$d/a/run/last.safetensors" "$d/b/run/last.safetensors" 2>&1))"; ok=0; }
  cmp -s "$d/a/use.stdout" "$d/b/use.stdout" ||
    { fail "$family: '$use' printed something else for the same run"; ok=0; }
  for f in "$d"/a/use.*; do
    case $f in *.stdout | *.stderr) continue ;; esac
    cmp -s "$f" "$d/b/${f##*/}" || { fail "$family: '$use' wrote another ${f##*/}"; ok=0; }
  done
  # Another seed, another run: the comparison above is not vacuous.
  train_and_use "$d/c" "$family" 8 "$train" "$use" || continue
  cmp -s "$d/a/run/last.safetensors" "$d/c/run/last.safetensors" &&
    { fail "$family ($train): seeds 7 and 8 gave the same checkpoint"; ok=0; }
  [ "$ok" = 1 ] && printf 'ok: %-10s %-70.70s %5s s\n' "$family" "$train" "$(elapsed "$t0")"
  rm -rf "$d"
done

# The tensors of a checkpoint without its header (the header records --threads).
st_data() { local n; n=$(od -An -t u8 -N 8 "$1" | tr -d ' '); tail -c +$((9 + n)) "$1"; }
# On the CLBlast GEMM backend (every op an OpenCL kernel) the number of CPU threads only
# changes which PoCL worker runs a work-group, never the arithmetic: --threads 1 and 2 give
# the same weights. (The host OpenBLAS backend may split a GEMM differently per thread
# count; TESTING.md says so, and it is not asserted.)
t0=$(date +%s%N)
for t in 1 2; do
  mkdir -p "$tmp/threads$t"
  (cd "$tmp/threads$t" && LATENTCL_GEMM=clblast "$cli" train classifier --data "$shapes" --iters 3 \
    --batch 8 --seed 7 --threads "$t" --out run > train.log 2>&1) ||
    fail "train classifier --threads $t (clblast): $(tail -n 1 "$tmp/threads$t/train.log")"
done
if [ -s "$tmp/threads1/run/last.safetensors" ] && [ -s "$tmp/threads2/run/last.safetensors" ]; then
  if cmp -s <(st_data "$tmp/threads1/run/last.safetensors") <(st_data "$tmp/threads2/run/last.safetensors"); then
    printf 'ok: clblast GEMM, --threads 1 and 2 give the same weights %5s s\n' "$(elapsed "$t0")"
  else
    fail "clblast GEMM: --threads 1 and --threads 2 gave other weights"
  fi
fi

finish
