#!/usr/bin/env bash
# Regenerates the README's VAE pictures: trains the demo VAE of the README's first
# command on Fashion-MNIST and copies its samples.png and recon.png into assets/.
# usage: tools/make-readme-assets.sh [LATENTCL_BINARY] [EPOCHS]
#   LATENTCL_BINARY  default: build/latentcl (use a Release build)
#   EPOCHS           default: 3 (a few minutes on 2 CPU cores with PoCL)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${1:-$root/build/latentcl}"
epochs="${2:-3}"
[ -x "$cli" ] || { echo "make-readme-assets: no latentcl binary at $cli" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run="$work/vae"
start=$(date +%s)
"$cli" train vae --data fashion-mnist --model mlp --latent 32 --epochs "$epochs" --seed 0 --out "$run"
"$cli" eval "$run"
mkdir -p "$root/assets"
cp "$run/samples.png" "$root/assets/vae-samples.png"
cp "$run/recon.png" "$root/assets/vae-recon.png"
cp "$run/curves.png" "$root/assets/vae-curves.png"
# The classic manifold pictures: a VAE with a 2-D code (2 epochs).
run2="$work/vae-z2"
"$cli" train vae --data fashion-mnist --model mlp --latent 2 --epochs 2 --seed 0 --out "$run2"
cp "$run2/latent_scatter.png" "$root/assets/vae-latent-scatter.png"
cp "$run2/latent_grid.png" "$root/assets/vae-latent-grid.png"
echo "wrote assets/vae-{samples,recon,curves,latent-scatter,latent-grid}.png" \
     "($epochs epochs + 2 epochs with --latent 2, $(( $(date +%s) - start )) s)"
