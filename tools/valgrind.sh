#!/usr/bin/env bash
# valgrind memcheck over the host-only paths of a Debug build: every tests/test_*.c that
# never opens an OpenCL device (test_fuzz_corpus among them: every fuzz target's code on
# every file of tests/fuzz/corpus/), and the CLI verbs that only read files (latentcl
# inspect, latentcl data info) on the corpus files. Any memcheck error or leak of ours exits 1.
# tests/valgrind.supp suppresses only PoCL/LLVM/ICD-loader internals.
# PoCL's kernel compiler under valgrind is too slow: device paths are covered by ASan.
#
#   tools/valgrind.sh BUILD_DIR [--build-only]   (a configured Debug build of this tree)
#   LATENTCL_VALGRIND_JOBS=N   build parallelism (default 2); LATENTCL_VALGRIND_VERBOSE=1
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
    echo "usage: tools/valgrind.sh BUILD_DIR [--build-only] (a configured build of this tree)" >&2
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
# --build-only: just that (tools/ci-hardening.sh builds while the fuzzers run).
[ "${2:-}" = --build-only ] && exit 0

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
    local log rc=0 start
    log=$(mktemp "$scratch/log.XXXXXX")
    start=$(date +%s)
    "${vg[@]}" --error-exitcode=99 "$@" >"$log" 2>&1 </dev/null || rc=$?
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

# Two programs at a time (LATENTCL_VALGRIND_PARALLEL): memcheck is single-threaded and slow.
par=${LATENTCL_VALGRIND_PARALLEL:-2}
n_jobs=0
launch() {
    while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n || true; done
    n_jobs=$((n_jobs + 1))
    (check "$@" >"$scratch/out.$n_jobs" 2>&1; echo $? >"$scratch/rc.$n_jobs") &
}
# Waits for every launched check, prints what each said, and notes any failure.
collect() {
    wait
    for i in $(seq 1 "$n_jobs"); do
        cat "$scratch/out.$i"
        [ "$(cat "$scratch/rc.$i" 2>/dev/null)" = 0 ] || failed=1
    done
    runs=$((runs + n_jobs))
    n_jobs=0
    rm -f "$scratch"/out.* "$scratch"/rc.*
}

echo "valgrind.sh: host-only tests: ${tests[*]}"
cd "$build/tests" # where ctest runs them
for t in "${tests[@]}"; do
    launch "$t" 0 "$build/tests/$t"
done
collect
t1=$(date +%s)
echo "valgrind.sh: tests (the fuzz corpora included, through test_fuzz_corpus) done in $((t1 - t0)) s"

corpus="$root/tests/fuzz/corpus"

# The CLI's file-reading verbs: on corpus files exit 0 (valid) or 1 (refused with a
# message) both pass; the folders made here are valid and must give 0.
cli="$build/latentcl"
# (Each CLI start costs seconds under memcheck, so a few representative files only; the
# readers themselves see every corpus file in test_fuzz_corpus.)
for f in "$corpus"/safetensors/*.safetensors; do
    launch "latentcl inspect $(basename "$f")" "0 1" "$cli" inspect "$f"
done
launch "latentcl inspect --json types.safetensors" 0 "$cli" inspect --json "$corpus/safetensors/types.safetensors"
mkdir -p "$scratch/idx" "$scratch/pngs"
cp "$corpus/idx/images-idx3-ubyte" "$scratch/idx/train-images-idx3-ubyte"
cp "$corpus/idx/labels-idx1-ubyte" "$scratch/idx/train-labels-idx1-ubyte"
launch "latentcl data info IDX folder" 0 "$cli" data info "$scratch/idx"
cp "$corpus/png/rgb8.png" "$scratch/pngs/a.png"
cp "$corpus/png/rgb8.png" "$scratch/pngs/b.png"
printf 'file\tcaption\tlabel\na.png\ta red thing\t0\nb.png\ta blue thing\t1\n' >"$scratch/pngs/captions.tsv"
launch "latentcl data info PNG folder with captions" 0 "$cli" data info --json "$scratch/pngs"
for f in "$corpus"/sequences/csv_seq.bin "$corpus"/sequences/text_tokens.bin; do
    # The corpus files carry a mode byte first (bit 0: CSV).
    if [ $(($(head -c 1 "$f" | od -An -tu1) & 1)) -eq 1 ]; then ext=csv; else ext=txt; fi
    tail -c +2 "$f" >"$scratch/$(basename "$f" .bin).$ext"
    launch "latentcl data info $(basename "$f") as .$ext" "0 1" "$cli" data info "$scratch/$(basename "$f" .bin).$ext"
done
collect
t3=$(date +%s)
echo "valgrind.sh: CLI verbs done in $((t3 - t1)) s"
echo "valgrind.sh: $runs programs under memcheck in $((t3 - t0)) s: $([ $failed -eq 0 ] && echo 'no errors, no leaks' || echo FAILED)"
exit "$failed"
