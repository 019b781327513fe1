#!/usr/bin/env bash
# Data-parallel training (built with -DLATENTCL_MPI=ON): `mpirun -np N latentcl train ...`
# ends with the parameters of the one-process run of the same global batches and seed,
# within float reassociation (each rank sums its own slice of the batch, then the ranks'
# sums are added). Tolerance on every weight and optimiser state value:
#   SGD, HMM (EM): |a - b| <= 1e-5 + 1e-4 max(|a|, |b|)   (measured: VAE SGD 7.6e-6 on a
#                  momentum of ~1e2, HMM 3.6e-7 categorical, 1.2e-5 Gaussian covariances)
#   Adam:          |a - b| <= 1e-4 + 1e-4 max(|a|, |b|)   (Adam divides by sqrt(v): for a
#                  weight whose gradient is ~0 the rounding is normalised up to a part of
#                  the learning rate 1e-3; measured 4.1e-5 after 7 steps)
# Also: ranks other than 0 write nothing; a batch smaller than the number of ranks; a
# run saved with 2 ranks resumes with 1 (and the reverse); HMM Baum-Welch (categorical
# and Gaussian) sums its expected counts over the ranks; CLIP (InfoNCE over the whole
# global batch: each rank gathers the others' embeddings) equals one process too.
# usage: train_equal.sh LATENTCL_BINARY TESTS_DIR [MPIEXEC]
set -u
cli="$1"
tests="$2"
mpiexec="${3:-mpirun}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# CI runs as root: Open MPI refuses that without this flag.
mpi() { local np=$1; shift; "$mpiexec" --allow-run-as-root --oversubscribe -np "$np" "$@"; }
compare() { # compare WHAT A B [ATOL]
  local out
  if out=$(python3 "$tests/mpi/st_compare.py" "$2" "$3" --rtol 1e-4 --atol "${4:-1e-5}"); then
    echo "ok: $1: $out"
  else
    fail "$1: $out"
  fi
}
run() { # run LOG cmd...: the command must succeed
  local log=$1; shift
  "$@" >"$log" 2>&1 || { fail "'$*' failed: $(tail -n 5 "$log")"; return 1; }
}
same_files() { # same_files RUN_ONE RUN_N: rank 0 wrote what one process writes, nothing more
  local a b
  a=$(cd "$1" && ls | sort | tr '\n' ' ')
  b=$(cd "$2" && ls | sort | tr '\n' ' ')
  [ "$a" = "$b" ] || fail "run folders differ: '$a' vs '$b'"
  [ "$(grep -c . "$1/metrics.jsonl")" = "$(grep -c . "$2/metrics.jsonl")" ] ||
    fail "metrics.jsonl has $(grep -c . "$2/metrics.jsonl") lines, one process wrote $(grep -c . "$1/metrics.jsonl")"
}

"$cli" data shapes --n 64 --seed 1 --out "$tmp/shapes" >/dev/null || { echo "FAIL: data shapes"; exit 1; }
# 64 items in batches of 15: slices of 7 and 8, and each epoch's last batch of 4 (2 + 2).
adam=(train vae --data "$tmp/shapes" --hidden 32,16 --batch 15 --log-every 1 --seed 3)
vae=("${adam[@]}" --optimizer sgd --lr 0.01)

# VAE: 1 process vs 2 ranks (the noise of each sample is keyed by its dataset index).
run "$tmp/log1" "$cli" "${vae[@]}" --iters 7 --out "$tmp/vae1" &&
  run "$tmp/log2" mpi 2 "$cli" "${vae[@]}" --iters 7 --out "$tmp/vae2" && {
  compare "vae sgd 2 ranks" "$tmp/vae1/last.safetensors" "$tmp/vae2/last.safetensors"
  same_files "$tmp/vae1" "$tmp/vae2"
  [ "$(grep -c . "$tmp/log2")" -le "$(( $(grep -c . "$tmp/log1") + 2 ))" ] ||
    fail "rank 1 printed too: $(cat "$tmp/log2")"
}
run "$tmp/log1" "$cli" "${adam[@]}" --iters 7 --out "$tmp/adam1" &&
  run "$tmp/log2" mpi 2 "$cli" "${adam[@]}" --iters 7 --out "$tmp/adam2" &&
  compare "vae adam 2 ranks" "$tmp/adam1/last.safetensors" "$tmp/adam2/last.safetensors" 1e-4

# The classifier and diffusion (timesteps and noise keyed by each sample's dataset index).
for fam in "classifier --data $tmp/shapes --batch 15" "diffusion --data moons --points 300 --batch 30 --T 100"; do
  # shellcheck disable=SC2206
  args=(train $fam --iters 6 --seed 5 --optimizer sgd --lr 0.01 --log-every 1)
  name=${fam%% *}
  run "$tmp/log11" "$cli" "${args[@]}" --out "$tmp/$name-1" &&
    run "$tmp/log12" mpi 2 "$cli" "${args[@]}" --out "$tmp/$name-2" && {
    compare "$name 2 ranks" "$tmp/$name-1/last.safetensors" "$tmp/$name-2/last.safetensors"
    same_files "$tmp/$name-1" "$tmp/$name-2"
  }
done

# CLIP: InfoNCE couples the batch, so each rank gathers the others' embeddings
# (lc_dist_gather_rows) and the loss sees the same negatives as one process.
clip=(train clip --data "$tmp/shapes" --batch 15 --iters 6 --seed 5 --optimizer sgd --lr 0.01
  --log-every 1)
run "$tmp/log13" "$cli" "${clip[@]}" --out "$tmp/clip-1" &&
  run "$tmp/log14" mpi 2 "$cli" "${clip[@]}" --out "$tmp/clip-2" && {
  compare "clip 2 ranks" "$tmp/clip-1/last.safetensors" "$tmp/clip-2/last.safetensors"
  same_files "$tmp/clip-1" "$tmp/clip-2"
}
# ... and with a rank whose slice is empty (3 ranks, batches of 2).
clip3=(train clip --data "$tmp/shapes" --batch 2 --iters 3 --seed 6 --optimizer sgd --lr 0.01)
run "$tmp/log15" "$cli" "${clip3[@]}" --out "$tmp/clip3-1" &&
  run "$tmp/log16" mpi 3 "$cli" "${clip3[@]}" --out "$tmp/clip3-3" &&
  compare "clip 3 ranks, batch 2" "$tmp/clip3-1/last.safetensors" "$tmp/clip3-3/last.safetensors"

# A batch smaller than the ranks: 3 ranks, batches of 2 (one rank idle each step).
small=(train vae --data "$tmp/shapes" --hidden 32,16 --batch 2 --log-every 1 --seed 4 --iters 3
  --optimizer sgd --lr 0.01)
run "$tmp/log3" "$cli" "${small[@]}" --out "$tmp/small1" &&
  run "$tmp/log4" mpi 3 "$cli" "${small[@]}" --out "$tmp/small3" &&
  compare "vae 3 ranks, batch 2" "$tmp/small1/last.safetensors" "$tmp/small3/last.safetensors"

# The comparison can fail: another seed and batch size give other weights.
python3 "$tests/mpi/st_compare.py" "$tmp/vae1/last.safetensors" "$tmp/small1/last.safetensors" \
  >/dev/null && fail "st_compare passed two different runs"

# Resume with another number of ranks: 2 ranks save at step 4, 1 process goes on to 7;
# 1 process saves at step 4, 2 ranks go on to 7. Both equal the uninterrupted run.
run "$tmp/log5" mpi 2 "$cli" "${vae[@]}" --iters 4 --out "$tmp/res21" &&
  run "$tmp/log6" "$cli" "${vae[@]}" --iters 7 --resume --out "$tmp/res21" &&
  compare "vae resume 2 -> 1 ranks" "$tmp/vae1/last.safetensors" "$tmp/res21/last.safetensors"
run "$tmp/log7" "$cli" "${vae[@]}" --iters 4 --out "$tmp/res12" &&
  run "$tmp/log8" mpi 2 "$cli" "${vae[@]}" --iters 7 --resume --out "$tmp/res12" &&
  compare "vae resume 1 -> 2 ranks" "$tmp/vae1/last.safetensors" "$tmp/res12/last.safetensors"

# HMM Baum-Welch: each rank scores its slice of the sequences, the counts are summed.
python3 - "$tmp" <<'PY'
import random, sys
r = random.Random(5)
d = sys.argv[1]
with open(d + "/text.txt", "w") as f:
    for i in range(41):
        s, st = "", 0
        for t in range(r.randint(5, 30)):
            st = st if r.random() < 0.8 else 1 - st
            s += r.choice("aeiou" if st == 0 else "bcdfg")
        f.write(s + "\n")
with open(d + "/seq.csv", "w") as f:  # far from 0: the counts' centring matters
    f.write("seq,a,b\n")
    for i in range(23):
        st = 0
        for t in range(r.randint(5, 40)):
            st = st if r.random() < 0.9 else 1 - st
            mu = (3.0, 1.0) if st else (-1.0, 0.5)
            f.write("%d,%.4f,%.4f\n" % (i, r.gauss(mu[0], 1) + 100, r.gauss(mu[1], 0.5)))
PY
for data in text.txt seq.csv; do
  hmm=(train hmm --data "$tmp/$data" --n-states 3 --iters 8 --tol 0 --seed 2)
  run "$tmp/log9" "$cli" "${hmm[@]}" --out "$tmp/hmm1-$data" &&
    run "$tmp/log10" mpi 2 "$cli" "${hmm[@]}" --out "$tmp/hmm2-$data" && {
    compare "hmm $data 2 ranks" "$tmp/hmm1-$data/last.safetensors" "$tmp/hmm2-$data/last.safetensors"
    same_files "$tmp/hmm1-$data" "$tmp/hmm2-$data"
  }
done

# A failure on every rank ends the job with exit 1 and the error once from rank 0.
mpi 2 "$cli" train vae --data "$tmp/missing" --out "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
[ $? -ne 0 ] || fail "a failing 2-rank run exited 0"
[ -e "$tmp/bad" ] && fail "a failing run left $tmp/bad"

[ "$fails" = 0 ] && echo "all ok" || echo "$fails failures"
[ "$fails" = 0 ]
