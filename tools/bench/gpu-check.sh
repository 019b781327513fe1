#!/bin/bash
# The GPU checks of BENCHMARKS.md (session 4), on a machine with an OpenCL GPU and PyTorch CUDA:
#   tools/bench/gpu-check.sh BUILD_DIR [JUDGE_RUN]
# the selftest and the whole suite on the default device (the GPU), the conv kernels A/B
# (LATENTCL_CONV=cpu|gpu), the diffusion step and DDIM sampling side by side with PyTorch CUDA,
# and, with a Fashion-MNIST judge run, two minutes of judged training.
# NVIDIA in a container: the ICD loader needs /etc/OpenCL/vendors/nvidia.icd naming the driver's
# libnvidia-opencl.so.1 (e.g. /usr/local/nvidia/lib64/libnvidia-opencl.so.1).
set -u
build=${1:?usage: gpu-check.sh BUILD_DIR [JUDGE_RUN]}; judge=${2:-}
src=$(cd "$(dirname "$0")/../.." && pwd)
cli=$build/latentcl
median_step() { # median step time (ms) of a run folder's metrics, the first 2 steps dropped
    python3 -c "import json,statistics as s;e=[json.loads(l)['elapsed_s'] for l in open('$1/metrics.jsonl') if 'elapsed_s' in l];d=[b-a for a,b in zip(e,e[1:])][2:];print(round(1e3*s.median(d),2))"
}
"$cli" devices || exit 1
"$cli" selftest | tail -1
(cd "$build" && ctest -j8 --timeout 300 | tail -3)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for conv in cpu gpu; do
    LATENTCL_CONV=$conv "$cli" train diffusion --data fashion-mnist --model unet-tiny --cond class \
        --iters 30 --batch 128 --log-every 1 --out "$tmp/ab-$conv" --force > /dev/null 2>&1
    echo "{\"bench\":\"diffusion_step\",\"conv\":\"$conv\",\"ms\":$(median_step "$tmp/ab-$conv")}"
done
python3 "$src/tools/bench/diffusion_reference.py" --device cuda --time 20 --rounds 2 \
    --latentcl "$cli" --sample-n 256 --guidance 1,4
if [ -n "$judge" ]; then
    timeout --foreground -s INT 120 "$cli" train diffusion --data fashion-mnist --model unet-tiny \
        --cond class --iters 100000 --save-every 200 --out "$tmp/run" > /dev/null 2>&1
    "$cli" eval "$tmp/run" --judge "$judge" --n 2000 --guidance 1,2,3,4 --json
fi
