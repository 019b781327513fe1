#!/usr/bin/env bash
# latentcl data info|grid|shapes: outputs, exit codes (0 ok, 1 failure, 2 usage), one-line
# errors naming the file (and line), and no partial output files.
# usage: data.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

# Usage.
expect 2 "unknown sub-verb 'frob'" -- "$cli" data frob
expect 2 "usage: latentcl data" -- "$cli" data
expect 0 "usage: latentcl data info" -- "$cli" data info --help
expect 0 "usage: latentcl data shapes" -- "$cli" data shapes --help
expect 2 "which dataset" -- "$cli" data info
expect 2 "--out FILE is required" -- "$cli" data grid shapes
expect 2 "--out DIR is required" -- "$cli" data shapes --n 3
expect 2 "--n expects an integer" -- "$cli" data shapes --n many --out "$tmp/x"
expect 2 "--split must be train or test" -- "$cli" data info shapes --split dev

# The shapes set on disk, read back: same checksum as in memory.
expect 0 "wrote 50 shapes images" -- "$cli" data shapes --n 50 --seed 4 --out "$tmp/shapes"
[ "$(ls "$tmp/shapes" | wc -l)" = 52 ] || fail "shapes folder should hold 50 PNGs + 2 TSVs"
[ "$(wc -l < "$tmp/shapes/captions.tsv")" = 51 ] || fail "captions.tsv should have 51 lines"
mem=$("$cli" data info shapes --count 50 --seed 4 --json | sed 's/.*"checksum":"\([0-9a-f]*\)".*/\1/')
disk=$("$cli" data info "$tmp/shapes" --json | sed 's/.*"checksum":"\([0-9a-f]*\)".*/\1/')
[ -n "$mem" ] && [ "$mem" = "$disk" ] || fail "checksum in memory $mem != on disk $disk"
again=$("$cli" data info shapes --count 50 --seed 4 --json | sed 's/.*"checksum":"\([0-9a-f]*\)".*/\1/')
[ "$mem" = "$again" ] || fail "shapes checksum not deterministic"
expect 0 '"kind":"images","count":50,"channels":3,"height":32,"width":32,"classes":5' -- "$cli" data info "$tmp/shapes" --json
expect1 "already exists" -- "$cli" data shapes --n 5 --out "$tmp/shapes"
expect1 "cannot create a folder beside it" -- "$cli" data shapes --n 5 --out "$tmp/no/such/dir"
[ -z "$(ls -d "$tmp"/no* "$tmp"/*.tmp.* 2>/dev/null)" ] || fail "a temporary folder was left behind"

# Grids.
expect 0 '"count":16' -- "$cli" data grid "$tmp/shapes" --n 16 --out "$tmp/grid.png" --json
[ -s "$tmp/grid.png" ] || fail "grid.png not written"
printf 'hello\nworld\n' > "$tmp/seq.txt" # a text file, not /usr/share/dict/words: no package needed
expect1 "holds sequences, not images" -- "$cli" data grid "$tmp/seq.txt" --out "$tmp/w.png"
[ ! -e "$tmp/w.png" ] || fail "a grid was written for sequences"
expect1 "$tmp/nodir/g.png" -- "$cli" data grid shapes --n 4 --out "$tmp/nodir/g.png"

# Bad input: one line naming the file (and line), exit 1, no output.
printf 'a.png\tno such image\n' > "$tmp/shapes/captions.tsv"
expect1 "captions.tsv:1: image .*a.png does not exist" -- "$cli" data info "$tmp/shapes"
expect1 "captions.tsv:1: image" -- "$cli" data grid "$tmp/shapes" --out "$tmp/bad.png"
[ ! -e "$tmp/bad.png" ] || fail "a grid was written from a broken folder"
printf '000000.png\n' > "$tmp/shapes/captions.tsv"
expect1 "captions.tsv:1: no tab" -- "$cli" data info "$tmp/shapes"
printf 'x,y\n1,2\n3,nan\n' > "$tmp/bad.csv"
expect1 "bad.csv:3: column y" -- "$cli" data info "$tmp/bad.csv"
printf 'ab\n\xff\n' > "$tmp/bad.txt"
expect1 "bad.txt:2: invalid UTF-8" -- "$cli" data info "$tmp/bad.txt"
printf 'ab\n\ncd\n' > "$tmp/gap.txt"
expect1 "gap.txt:2: empty line" -- "$cli" data info "$tmp/gap.txt"
mkdir -p "$tmp/idx"
printf '\0\0\10\1\0\0\0\1\0\0\0\1\0\0\0\1x' > "$tmp/idx/train-images-idx3-ubyte"
printf '\0\0\10\1\0\0\0\3\1\2\3' > "$tmp/idx/train-labels-idx1-ubyte"
expect1 "train-images-idx3-ubyte: IDX magic number 0x00000801, expected 0x00000803" -- "$cli" data info "$tmp/idx"
mkdir -p "$tmp/empty"
expect1 "not a dataset folder \(looked for train-images-idx3-ubyte" -- "$cli" data info "$tmp/empty"
expect1 "no such dataset name, folder or file" -- "$cli" data info no-such-thing
expect1 "unknown file type" -- "$cli" data info "$tmp/grid.png"
expect1 "image folder has no test split" -- "$cli" data info "$tmp/shapes" --split test

# Sequences.
printf 'Hello\nworld\ndon'"'"'t\n' > "$tmp/w.txt"
expect 0 '"count":2,.*"alphabet_size":26,"dropped":1' -- "$cli" data info "$tmp/w.txt" --lowercase --alphabet a-z --json
printf 'up down\nleft up\n' > "$tmp/t.txt"
expect 0 '"alphabet_size":3' -- "$cli" data info "$tmp/t.txt" --tokens --json
printf 'seq,x,y\n1,0,0\n1,1,1\n2,5,5\n' > "$tmp/p.csv"
expect 0 '"kind":"numeric_sequences","count":2,"steps":3.*"dim":2,"columns":\["x","y"\]' -- "$cli" data info "$tmp/p.csv" --json
if [ -r /usr/share/dict/words ]; then
  expect 0 '"count":74585,.*"alphabet_size":26,"dropped":29749' -- "$cli" data info words --json
fi
if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  expect 0 '"count":10000,"channels":1,"height":28,"width":28,"classes":10' -- "$cli" data info fashion-mnist --split test --json
  expect 0 '"count":64' -- "$cli" data grid fashion-mnist --split test --labels --out "$tmp/fm.png" --json
  expect1 "no train-images-idx3-ubyte" -- env LATENTCL_DATA="$tmp/empty" "$cli" data info mnist
fi

# Every line of --json output is one JSON object.
"$cli" data info shapes --count 10 --json > "$tmp/json"
if grep -vqE '^\{.*\}$' "$tmp/json"; then fail "data info --json printed a non-JSON line"; fi

finish
