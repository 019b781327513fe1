#!/usr/bin/env bash
# The CLI misuse suite (issue 20): every verb with missing arguments, non-numbers, negative
# and huge sizes, missing and unwritable paths (a path under a regular file: tests run as
# root, so permissions cannot make one), an existing run folder and a run of the wrong
# family. Each must exit non-zero (1: failure, 2: usage) with its message on the first line
# of stderr, one line for a failure (progress lines aside), no sanitizer report, no crash,
# and no file left behind: every command runs in a watched folder listed before and after.
# Verbs missing from the table below still get the generic checks (--help, an unknown
# option, a missing RUN) from `latentcl --help`'s list.
# usage: misuse.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"
t_start=$(date +%s)

w="$tmp/w" # the watched folder: fixtures here, every command runs here
mkdir -p "$w"
cd "$w" || exit 1
progress='^[a-z][a-z -]*: [0-9]+/[0-9]+ ' # the progress lines of a non-terminal stderr

# Fixtures: tiny data, a run of each family, a regular file (paths under it cannot exist).
"$cli" data shapes --n 24 --seed 1 --out sh > /dev/null || { echo "FAIL: data shapes"; exit 1; }
printf 'banana\nbandana\ncabana\nanna\nnab\n' > words.txt
echo 'not a checkpoint' > reg # 17 bytes: its header length is absurd
quiet() { "$@" > /dev/null 2>&1 || fail "fixture: $*"; }
quiet "$cli" train classifier --data sh --iters 1 --batch 8 --out cls
quiet "$cli" train vae --data sh --hidden 16,8 --latent 2 --iters 1 --batch 8 --ema 0 --out vae
quiet "$cli" train hmm --data words.txt --n-states 2 --iters 2 --out hmm
quiet "$cli" train diffusion --data moons --points 64 --iters 1 --batch 16 --T 10 --out diff
fixtures=$(($(date +%s) - t_start))

# misuse CODE PATTERN -- ARGS...: `latentcl ARGS` exits CODE (nz: any failure) with its
# first stderr line matching PATTERN; a failure (1) prints exactly one line.
misuse() {
  local code="$1" pattern="$2"; shift 3
  find . | sort > "$tmp/before"
  local t0=$SECONDS
  timeout 120 "$cli" "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$?
  [ -n "${MISUSE_TIMES:-}" ] && echo "$((SECONDS - t0)) $*" >> "$MISUSE_TIMES"
  find . | sort > "$tmp/after"
  grep -vE "$progress" "$tmp/err" > "$tmp/msg"
  local first n what="latentcl $*"
  first=$(head -n 1 "$tmp/msg")
  n=$(wc -l < "$tmp/msg")
  local bad=""
  if [ "$code" = nz ]; then
    { [ "$rc" = 1 ] || [ "$rc" = 2 ]; } || bad="exit $rc (want 1 or 2)"
  elif [ "$rc" != "$code" ]; then
    bad="exit $rc (want $code)"
  fi
  [ -z "$bad" ] && ! printf '%s\n' "$first" | grep -qE -- "$pattern" && bad="first line does not match '$pattern'"
  [ -z "$bad" ] && [ "$rc" = 1 ] && [ "$n" != 1 ] && bad="$n lines on stderr for a failure"
  [ -z "$bad" ] && ! printf '%s\n' "$first" | grep -qE '^(latentcl|usage:)' && bad="the first line is not latentcl's message"
  [ -z "$bad" ] && grep -qE 'Sanitizer|runtime error|Segmentation|Aborted' "$tmp/err" && bad="a crash or sanitizer report"
  [ -z "$bad" ] && ! cmp -s "$tmp/before" "$tmp/after" && bad="left files: $(comm -13 "$tmp/before" "$tmp/after" | tr '\n' ' ')"
  if [ -n "$bad" ]; then
    fail "$what: $bad; stderr:"; head -n 5 "$tmp/err"
  else
    echo "ok: $what -> $rc: $first"
  fi
}
# usage_only ARGS...: exit 2 with the usage on stderr (a verb called with nothing).
usage_only() {
  timeout 60 "$cli" "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$?
  if [ "$rc" = 2 ] && grep -qE '^(usage:|latentcl)' "$tmp/err" && [ ! -s "$tmp/out" ]; then
    echo "ok: latentcl $* -> usage"
  else
    fail "latentcl $* -> exit $rc (want 2 and the usage on stderr)"; head -n 3 "$tmp/err"
  fi
}

# ---- generic: every verb in `latentcl --help` -----------------------------------------------
verbs=$("$cli" --help | sed -n '/^verbs:/,/^$/p' | awk 'NF && $1 != "verbs:" {print $1}')
[ "$(echo "$verbs" | wc -w)" -ge 15 ] || fail "latentcl --help lists only: $verbs"
for v in $verbs; do
  "$cli" "$v" --help > "$tmp/out" 2> "$tmp/err"
  rc=$?
  { [ "$rc" = 0 ] && grep -q "^usage: latentcl $v" "$tmp/out" && [ ! -s "$tmp/err" ]; } ||
    fail "latentcl $v --help: exit $rc, $(head -n 1 "$tmp/out" "$tmp/err" | tr '\n' ' ')"
  if grep -qE "^usage: latentcl $v (RUN|FILE)" "$tmp/out"; then
    # A RUN that is not there, a regular file that is no checkpoint, a path under a file.
    misuse nz '' -- "$v" absent-run --out x.png
    misuse nz '' -- "$v" reg --out x.png
    misuse nz '' -- "$v" reg/run --out x.png
  else
    case $v in devices | selftest) misuse 2 "unknown option '--no-such-option'" -- "$v" --no-such-option ;;
    *) usage_only "$v" ;; # a verb with sub-verbs or required options
    esac
  fi
done
misuse 2 "unknown verb 'no-such-verb'" -- no-such-verb

# ---- per verb -----------------------------------------------------------------------------
big=99999999999   # above INT_MAX: an error, never wrapped around
wrap=4294967298   # 2^32 + 2: wrapped to an int it would be 2

misuse 2 "unexpected argument 'extra'" -- devices extra
misuse 2 "--only needs a value" -- selftest --only
misuse 1 "--threads must be >= 0" -- selftest --threads -1 --only relu
misuse 2 "--threads $big is out of range" -- selftest --threads "$big" --only relu
misuse 1 "no check's name contains 'no-such-check'" -- selftest --only no-such-check

misuse 2 "unknown benchmark 'nothing'" -- bench nothing
misuse 2 "--m, --n and --k must be in" -- bench gemm --m -1
misuse 2 "--m $big is out of range" -- bench gemm --m "$big"
misuse 2 "--k expects an integer, got '1e99'" -- bench gemm --k 1e99
misuse 2 "--n-states $wrap is out of range" -- bench hmm --n-states "$wrap" --iters 1
misuse 2 "must be >= 1" -- bench hmm --n-states -1

misuse 2 "expected one FILE" -- inspect
misuse 1 "absent: No such file" -- inspect absent
misuse 1 "reg: header length .* is over" -- inspect reg
misuse 1 "reg/x: Not a directory" -- inspect reg/x

misuse 2 "expected one RUN" -- plot
misuse 1 "reg:1: not a JSON object" -- plot reg
misuse 1 "reg/x.png: .*Not a directory" -- plot cls --out reg/x.png
misuse 1 "absent/x.png: .*No such file" -- plot cls --out absent/x.png

misuse 2 "unknown sub-verb 'bogus'" -- data bogus
misuse 2 "which dataset" -- data info
misuse 1 "--data absent: no such dataset" -- data info absent
misuse 1 "--data reg: unknown file type" -- data info reg
misuse 2 "--out FILE is required" -- data grid sh
misuse 2 "need 1 <= --n <= 4096" -- data grid sh --n -1 --out g.png
misuse 2 "--n $big is out of range" -- data grid sh --n "$big" --out g.png
misuse 1 "reg/g.png: .*Not a directory" -- data grid sh --out reg/g.png
misuse 2 "need --n >= 1" -- data shapes --n -1 --out s
misuse 2 "--n expects an integer, got '1e99'" -- data shapes --n 1e99 --out s
misuse 2 "--n expects an integer, got 'abc'" -- data shapes --n abc --out s
misuse 2 "--n $wrap is out of range" -- data shapes --n "$wrap" --out s
misuse 1 "reg/s: .*Not a directory" -- data shapes --n 2 --out reg/s
misuse 1 "sh: already exists" -- data shapes --n 2 --out sh

usage_only train
misuse 2 "unknown family 'bogus'" -- train bogus
for fam in classifier ae vae diffusion hmm; do
  case $fam in
  hmm) d=(--data words.txt --n-states 2 --iters 1); steps=--iters; other=cls ;;
  diffusion) d=(--data moons --points 64 --T 10 --iters 1 --batch 16); steps=--epochs; other=hmm ;;
  *) d=(--data sh --iters 1 --batch 8); steps=--epochs; other=hmm ;;
  esac
  misuse 2 "$steps expects an integer, got '1e99'" -- train $fam "${d[@]}" $steps 1e99 --out r
  misuse 2 "$steps expects an integer, got 'many'" -- train $fam "${d[@]}" $steps many --out r
  misuse 1 "reg/r" -- train $fam "${d[@]}" --out reg/r
  misuse 1 "--data absent: no such dataset" -- train $fam --data absent --out r
  misuse 1 "--data reg: unknown file type" -- train $fam --data reg --out r
  misuse 1 "reg: header length .* is over" -- train $fam "${d[@]}" --init reg --out r
  misuse 1 "absent: No such file" -- train $fam "${d[@]}" --init absent --out r
  if [ $fam != hmm ]; then
    misuse 2 "--batch $big is out of range" -- train $fam "${d[@]}" --batch "$big" --out r
    misuse 2 "--batch must be at least 1" -- train $fam "${d[@]}" --batch -1 --out r
    misuse 2 "--lr expects a number, got 'nan'" -- train $fam "${d[@]}" --lr nan --out r
    misuse 2 "--lr must be a positive number" -- train $fam "${d[@]}" --lr -1 --out r
    misuse 2 "cannot open config absent" -- train $fam "${d[@]}" --config absent --out r
    misuse 2 "reg: not valid JSON" -- train $fam "${d[@]}" --config reg --out r
    echo '{"batch": 4294967298}' > "$tmp/big.json" # the command line would win: no --batch there
    misuse 2 "--batch $wrap is out of range" -- train $fam "${d[@]:0:2}" --config "$tmp/big.json" --out r
    misuse 1 "cannot resume absent" -- train $fam "${d[@]}" --resume --out absent
    misuse 1 "trained a (hmm|classifier) model, not $fam" -- train $fam "${d[@]}" --resume --out $other
    misuse 1 "already holds files; refusing to overwrite" -- train $fam "${d[@]}" --out vae
  else
    misuse 2 "--n-states $wrap is out of range" -- train hmm --data words.txt --n-states "$wrap" --out r
    misuse 1 "--n-states must be >= 1" -- train hmm --data words.txt --n-states -1 --out r
    misuse 1 "--iters and --restarts must be >= 1" -- train hmm --data words.txt --iters -1 --out r
    misuse 1 "not sequences" -- train hmm --data sh --out r
    misuse 1 "a 'classifier' checkpoint, not an HMM" -- train hmm --data words.txt --init cls --out r
    misuse 1 "already holds files; refusing to overwrite" -- train hmm --data words.txt --out hmm
  fi
done

for v in score decode; do
  misuse 2 "RUN and --data are required" -- $v hmm
  misuse 1 "absent: No such file" -- $v absent --data words.txt
  misuse 1 "reg: header length .* is over" -- $v reg --data words.txt
  misuse 1 "a 'classifier' checkpoint, not an HMM" -- $v cls --data words.txt
  misuse 1 "--data absent: no such dataset" -- $v hmm --data absent
  misuse 1 "--data sh: not sequences" -- $v hmm --data sh
done

usage_only sample
misuse 1 "absent: No such file" -- sample absent
misuse 1 "no sampler" -- sample cls --out x.png
misuse 2 "--n expects an integer, got 'abc'" -- sample hmm --n abc
misuse 1 "--n and --length must be >= 1" -- sample hmm --n -1
misuse 2 "--length $big is out of range" -- sample hmm --length "$big"
misuse 2 "--out FILE is required" -- sample vae
misuse 1 "reg/x.png: .*Not a directory" -- sample vae --out reg/x.png
misuse 1 "--n -1 out of range" -- sample vae --n -1 --out x.png
misuse 1 "--out: a .png file" -- sample diff --out x.bogus
misuse 1 "reg/x.csv: Not a directory" -- sample diff --out reg/x.csv
misuse 1 "diffusion: T = -1 " -- train diffusion --data moons --T -1 --iters 1 --out dT
misuse 2 "--n $wrap is out of range" -- sample diff --n "$wrap" --out x.csv
misuse 1 "--steps -1: the model has T = 10" -- sample diff --steps -1 --out x.csv
misuse 1 "reg/x.csv" -- sample diff --n 4 --steps 2 --out reg/x.csv

for v in reconstruct interpolate encode; do
  [ $v = interpolate ] && ft=(--from 0 --to 1) || ft=()
  [ $v = encode ] && o=x.tsv || o=x.png
  misuse 2 "expected one RUN" -- $v
  misuse 2 "--out FILE is required|--from I and --to J are required" -- $v vae
  misuse 1 "absent: no such run folder" -- $v absent "${ft[@]}" --out $o
  misuse 1 "a classifier checkpoint, not an ae or vae" -- $v cls "${ft[@]}" --out $o
  misuse 1 "a hmm checkpoint, not an ae or vae" -- $v hmm "${ft[@]}" --out $o
  misuse 1 "reg/$o" -- $v vae "${ft[@]}" --out reg/$o
  misuse 1 "vae: .*(Is a directory)" -- $v vae "${ft[@]}" --out vae
  misuse 1 "--data words.txt: not images" -- $v vae "${ft[@]}" --data words.txt --out $o
  misuse 1 "--split must be train or test" -- $v vae "${ft[@]}" --split bogus --out $o
  misuse 2 "--weights must be ema or raw" -- $v vae "${ft[@]}" --weights bogus --out $o
  misuse 2 "--checkpoint must be best or last" -- $v vae "${ft[@]}" --checkpoint bogus --out $o
  misuse 1 "has no best.safetensors" -- $v vae "${ft[@]}" --checkpoint best --out $o
done
misuse 1 "--n -1" -- reconstruct vae --n -1 --out x.png
misuse 2 "--first $big is out of range" -- reconstruct vae --first "$big" --out x.png
misuse 1 "--steps -1 out of range" -- interpolate vae --from 0 --to 1 --steps -1 --out x.png
misuse 2 "--to $wrap is out of range" -- interpolate vae --from 0 --to "$wrap" --out x.png
misuse 1 "--to 24 is out of range" -- interpolate vae --from 0 --to 24 --out x.png
misuse 1 "reg/x.png" -- encode vae --out x.tsv --scatter reg/x.png # the TSV must not stay

usage_only eval
misuse 1 "absent: no such run folder" -- eval absent
misuse 1 "reg: header length .* is over" -- eval reg
misuse 1 "no evaluation for a model of family 'hmm'" -- eval hmm
misuse 2 "--split must be test or train" -- eval cls --split bogus
misuse 1 "--iwae -1" -- eval vae --iwae -1
misuse 1 "--n 1..100000" -- eval diff --n -1
misuse 2 "--steps $big is out of range" -- eval diff --steps "$big"

misuse 2 "which RUN" -- predict
misuse 2 "--image PNG is required" -- predict cls
misuse 1 "absent.png: No such file" -- predict cls --image absent.png
misuse 1 "reg: not a PNG file" -- predict cls --image reg
misuse 2 "--top must be >= 1" -- predict cls --image sh/000000.png --top -1
misuse 1 "holds a vae model, not a classifier" -- predict vae --image sh/000000.png

misuse 2 "which RUN" -- export
misuse 2 "--out FILE is required" -- export cls
misuse 1 "reg/x.safetensors: .*Not a directory" -- export cls --out reg/x.safetensors
misuse 1 "cls: .*Is a directory" -- export cls --out cls
misuse 1 "absent: no such run folder" -- export absent --out x.safetensors
misuse 1 "has no EMA weights" -- export vae --weights ema --out x.safetensors
misuse 1 "is the checkpoint being read" -- export diff --out diff/last.safetensors

# ---- mmvae and clip (their verbs: caption, generate, zeroshot, retrieve, embed) -------------
runs="cls vae hmm diff"
if "$cli" train mmvae --help > /dev/null 2>&1 && "$cli" train clip --help > /dev/null 2>&1; then
  text=(--text-dim 16 --text-layers 1 --iters 1 --batch 8)
  quiet "$cli" train mmvae --data shapes --train-size 16 --test-size 8 --latent 4 --hidden 16 \
    --heads 2 "${text[@]}" --out mmv
  quiet "$cli" train clip --data shapes --count 16 --embed 8 --hidden 16 --text-heads 2 \
    "${text[@]}" --out clp
  runs="$runs mmv clp"
  misuse 2 "--latent -1 out of range" -- train mmvae --data shapes "${text[@]}" --latent -1 --out r
  misuse 2 "--train-size $big is out of range" -- train mmvae --data shapes --train-size "$big" --out r
  misuse 1 "trained a clip model, not mmvae" -- train mmvae --data shapes "${text[@]}" --resume --out clp
  misuse 1 "trained a mmvae model, not clip" -- train clip --data shapes "${text[@]}" --resume --out mmv
  misuse 1 "templates absent: No such file" -- train clip --data shapes "${text[@]}" --templates absent --out r
  misuse 1 "reg:1: a template needs \{class\}" -- train clip --data shapes "${text[@]}" --templates reg --out r
  misuse 2 "give either --image FILE or --data SRC" -- caption mmv
  misuse 1 "a vae model, not an mmvae" -- caption vae --image sh/000000.png
  misuse 1 "reg: not a PNG file" -- caption mmv --image reg
  misuse 1 "reg/x.png: .*Not a directory" -- caption mmv --data sh --n 2 --out reg/x.png
  misuse 2 "--n $big is out of range" -- caption mmv --data sh --n "$big" --out x.png
  misuse 2 "--prompt TEXT and --out FILE are required" -- generate mmv --prompt circle
  misuse 1 "no word of it is in the model's vocabulary" -- generate mmv --prompt "zzz qqq" --out x.png
  misuse 1 "--n -1 out of range" -- generate mmv --prompt circle --n -1 --out x.png
  misuse 1 "a clip model, not an mmvae" -- generate clp --prompt circle --out x.png
  misuse 1 "reg/x.png: .*Not a directory" -- generate mmv --prompt circle --n 1 --out reg/x.png
  misuse 1 "holds a vae model, not a clip model" -- zeroshot vae --data sh
  misuse 1 "templates absent: No such file" -- zeroshot clp --data shapes --templates absent
  misuse 1 "reg:1: a template needs \{class\}" -- zeroshot clp --data shapes --templates reg
  misuse 2 "give one of --query TEXT or --image PNG" -- retrieve clp
  misuse 2 "--out PNG is required" -- retrieve clp --query circle
  misuse 2 "--k must be in 1..100" -- retrieve clp --query circle --k -1 --out x.png
  misuse 1 "reg: not a PNG file" -- retrieve clp --image reg
  misuse 1 "works with clip and mmvae runs; this is a vae" -- retrieve vae --query circle --out x.png
  misuse 2 "--out FILE is required" -- embed clp
  misuse 1 "reg/x.tsv" -- embed clp --n 4 --out reg/x.tsv
  misuse 1 "works with clip and mmvae runs; this is a hmm" -- embed hmm --out x.tsv
  # Images of another size, a set without labels or of another image size, template files
  # over the limits, runs without best.safetensors, a judge that is no shapes judge.
  "$cli" data grid sh --n 4 --out grid.png > /dev/null || fail "fixture: data grid"
  mkdir -p capdir bigcap && cp sh/000000.png capdir/a.png && cp grid.png bigcap/a.png
  printf 'a.png\ta small red circle\n' | tee capdir/captions.tsv > bigcap/captions.tsv
  misuse 1 "is 134x134 with 3 channels; the model takes 32x32" -- retrieve clp --image grid.png --out x.png
  misuse 1 "the image is 134 x 134 with 3 channels" -- caption mmv --image grid.png
  misuse 1 "images are 3x134x134 \(CxHxW\); the model takes 3x32x32" -- embed clp --data bigcap --out x.tsv
  misuse 1 "has no labelled classes" -- zeroshot clp --data capdir
  misuse 1 "--data words.txt holds sequences, not images" -- retrieve clp --query circle --data words.txt --out x.png
  for i in $(seq 33); do echo "a photo {class} number $i"; done > "$tmp/t33.txt"
  printf 'a %0200d {class}\n' 0 > "$tmp/tlong.txt"
  : > "$tmp/tempty.txt"
  misuse 1 "t33.txt:33: more than 32 templates" -- zeroshot clp --data shapes --templates "$tmp/t33.txt"
  misuse 1 "tlong.txt:1: template longer than" -- zeroshot clp --data shapes --templates "$tmp/tlong.txt"
  misuse 1 "tempty.txt: no template" -- zeroshot clp --data shapes --templates "$tmp/tempty.txt"
  misuse 1 "--cols -1: 0 or more" -- generate mmv --prompt circle --cols -1 --out x.png
  misuse 1 "no word of it is in the model's vocabulary" -- generate mmv --prompt "$(printf 'q%.0s' $(seq 10000))" --out x.png
  misuse 1 "has no best.safetensors" -- eval mmv --checkpoint best
  misuse 1 "has no best.safetensors" -- eval clp --checkpoint best
  misuse 1 "holds a classifier model, not a shapes judge" -- eval mmv --judge cls
  misuse 1 "holds a clip model, not a shapes judge" -- eval mmv --judge clp
else
  echo "skipped: train mmvae / train clip are not in this build"
fi

# ---- the shapes judge: train classifier --data shapes, eval ----------------------------------
quiet "$cli" train classifier --data shapes --subset 16 --iters 1 --batch 8 --test-n 0 --out judge
runs="$runs judge"
misuse 2 "the shapes judge is a conv net" -- train classifier --data shapes --model mlp --out r
misuse 2 "--subset and --test-n must be >= 0" -- train classifier --data shapes --test-n -1 --out r
misuse 1 "not shapes-judge" -- train classifier --data shapes --subset 16 --iters 2 --resume --out cls
misuse 1 "trained a shapes-judge model, not classifier" -- train classifier --data sh --resume --out judge
misuse 1 "reg/r" -- train classifier --data shapes --iters 1 --out reg/r
misuse 2 "--n must be in 1\.\." -- eval judge --n -1
misuse 2 "--n $big is out of range" -- eval judge --n "$big"
misuse 1 "has no best.safetensors" -- eval judge --checkpoint best
misuse 1 "holds a shapes-judge model, not a classifier" -- predict judge --image sh/000000.png

# Nothing above may have touched the fixtures' runs.
for r in $runs; do
  "$cli" inspect "$r/last.safetensors" > /dev/null 2>&1 || fail "$r/last.safetensors no longer loads"
done
echo "misuse: fixtures ${fixtures} s, total $(($(date +%s) - t_start)) s"
finish
