#!/usr/bin/env bash
# valgrind memcheck over the host-only paths of a Debug build: every tests/test_*.c that
# never opens an OpenCL device, the fuzz targets replayed on their corpora
# (tests/fuzz/corpus/, through tests/fuzz/replay_main.c), and the CLI verbs that only read
# files (latentcl inspect, latentcl data info). Any memcheck error or leak of ours exits 1.
# tests/valgrind.supp suppresses only PoCL/LLVM/ICD-loader internals.
# PoCL's kernel compiler under valgrind is too slow: device paths are covered by ASan.
#
#   tools/valgrind.sh BUILD_DIR      (a Debug build of this tree, e.g. build-debug)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
    echo "usage: tools/valgrind.sh BUILD_DIR (a configured build of this tree)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
jobs=${LATENTCL_VALGRIND_JOBS:-2}
t0=$(date +%s)

# Host-only tests: those that never mention a device.
tests=()
for src in "$root"/tests/test_*.c; do
    grep -qE 'lc_device|cl_mem|clCreate|test_device' "$src" || tests+=("$(basename "$src" .c)")
done
cmake --build "$build" --target latentcl_cli latentcl_static "${tests[@]}" -j"$jobs" >"$build/valgrind-build.log" 2>&1 ||
    { tail -n 30 "$build/valgrind-build.log" >&2; echo "valgrind.sh: build failed" >&2; exit 2; }

# Replay drivers: each fuzz target linked with replay_main.c against this build's library.
replay="$build/valgrind-replay"
mkdir -p "$replay"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
libs=(-lOpenCL -lclblast -llapacke -lopenblas -lpng -lz $(pkg-config --libs libcjson) -lpthread -lm)
for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    extra=()
    [ "$name" = fuzz_cli_args ] && extra=("$root/tools/cli/args.c" "$root/tools/cli/train_opts.c")
    "${cc:-cc}" -std=c11 -g -O0 -D_GNU_SOURCE -DCL_TARGET_OPENCL_VERSION=120 \
        -I"$root/include" -I"$root/src" -I"$root/tools/cli" -I"$root/tests/fuzz" \
        "$src" "${extra[@]}" "$root/tests/fuzz/replay_main.c" -o "$replay/$name" \
        "$build/liblatentcl.a" "${libs[@]}" || { echo "valgrind.sh: cannot build $name" >&2; exit 2; }
done

supp="$root/tests/valgrind.supp"
vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible
    --suppressions="$supp" --track-origins=yes --num-callers=30)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/latentcl-valgrind.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
failed=0
runs=0

# check LABEL EXPECTED-CODES CMD...: runs CMD under memcheck; a memcheck error exits 99.
check() {
    local label=$1 ok=$2
    shift 2
    local log="$scratch/log" rc=0 start
    start=$(date +%s)
    "${vg[@]}" --error-exitcode=99 "$@" >"$log" 2>&1 </dev/null || rc=$?
    runs=$((runs + 1))
    if [ "$rc" -eq 99 ] || ! [[ " $ok " == *" $rc "* ]]; then
        failed=1
        echo "FAIL  $label (exit $rc)"
        grep -E '^==[0-9]+==' "$log" | head -n 60
        [ "$rc" -eq 99 ] || tail -n 20 "$log"
        return 1
    elif [ "${LATENTCL_VALGRIND_VERBOSE:-0}" = 1 ] || [ $(($(date +%s) - start)) -ge 5 ]; then
        echo "ok    $label ($(($(date +%s) - start)) s)"
    fi
}

echo "valgrind.sh: host-only tests: ${tests[*]}"
cd "$build/tests" # where ctest runs them
for t in "${tests[@]}"; do
    check "$t" 0 "$build/tests/$t"
done
t1=$(date +%s)
echo "valgrind.sh: tests done in $((t1 - t0)) s"

corpus="$root/tests/fuzz/corpus"
for d in "$corpus"/*/; do
    t=$(basename "$d")
    check "replay fuzz_$t on $(ls "$d" | wc -l) inputs" 0 "$replay/fuzz_$t" "$d"
done
t2=$(date +%s)
echo "valgrind.sh: fuzz corpora replayed in $((t2 - t1)) s"

# The CLI's file-reading verbs: exit 0 (valid file) or 1 (refused with a message) both pass.
cli="$build/latentcl"
for f in "$corpus"/safetensors/*; do
    check "latentcl inspect $(basename "$f")" "0 1" "$cli" inspect "$f"
    check "latentcl inspect --json $(basename "$f")" "0 1" "$cli" inspect --json "$f"
done
mkdir -p "$scratch/idx" "$scratch/pngs"
cp "$corpus/idx/images-idx3-ubyte" "$scratch/idx/train-images-idx3-ubyte"
cp "$corpus/idx/labels-idx1-ubyte" "$scratch/idx/train-labels-idx1-ubyte"
check "latentcl data info IDX folder" "0 1" "$cli" data info "$scratch/idx"
cp "$corpus/png/rgb8.png" "$scratch/pngs/a.png"
cp "$corpus/png/rgb8.png" "$scratch/pngs/b.png"
check "latentcl data info PNG folder" "0 1" "$cli" data info "$scratch/pngs"
printf 'file\tcaption\tlabel\na.png\ta red thing\tred\nb.png\ta blue thing\tblue\n' >"$scratch/pngs/captions.tsv"
check "latentcl data info PNG folder with captions" "0 1" "$cli" data info --json "$scratch/pngs"
for f in "$corpus"/sequences/*; do
    # The corpus files carry a mode byte first (bit 0: CSV).
    if [ "$(head -c 1 "$f" | od -An -tu1 | tr -d ' ')" -eq 1 ]; then ext=csv; else ext=txt; fi
    tail -c +2 "$f" >"$scratch/seq.$ext"
    check "latentcl data info $(basename "$f") as .$ext" "0 1" "$cli" data info "$scratch/seq.$ext"
done
t3=$(date +%s)
echo "valgrind.sh: CLI verbs done in $((t3 - t2)) s"
echo "valgrind.sh: $runs programs under memcheck in $((t3 - t0)) s: $([ $failed -eq 0 ] && echo 'no errors, no leaks' || echo FAILED)"
exit "$failed"
