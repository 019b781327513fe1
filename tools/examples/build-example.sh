#!/usr/bin/env bash
# Builds and runs tools/examples/*.c against an installed latentcl found
# through pkg-config: build-example.sh PREFIX OUTDIR
set -euo pipefail
prefix="$1"; out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
libdir="$(pkg-config --variable=libdir latentcl)"
for src in "$here"/*.c; do
  name="$(basename "$src" .c)"
  cc -std=c11 -Wall -Werror "$src" $(pkg-config --cflags --libs latentcl) -o "$out/$name"
  echo "built $name against $prefix"
done
LD_LIBRARY_PATH="$libdir" "$out/hello_device"
# The MLP through the training loop: 1 epoch on the first 2,000 training images (seconds).
LD_LIBRARY_PATH="$libdir" "$out/train_classifier" 1 2000
