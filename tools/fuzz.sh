#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, -fsanitize=fuzzer,address,undefined)
# and runs each for SECONDS (default 20), one at a time, on a scratch copy of its seed
# corpus (tests/fuzz/corpus/<target>/ only grows by hand). Prints executions, rate, corpus
# growth and crashes per target; a crash (or leak, or timeout) exits 1 and names the
# reproducer, kept in build-fuzz/artifacts/.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     e.g. tools/fuzz.sh 60 png idx
#   LATENTCL_FUZZ_JOBS=N                    build parallelism (default 2)
#   LATENTCL_FUZZ_ARGS="-max_len=8192 ..."  extra libFuzzer flags
# Reproduce a crash: build-fuzz/tests/fuzz/fuzz_TARGET build-fuzz/artifacts/TARGET-crash-...
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift || true
build="$root/build-fuzz"
jobs=${LATENTCL_FUZZ_JOBS:-2}
case $seconds in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

t0=$(date +%s)
# -O1 (libFuzzer's usual level) runs the tokenizer target about 1.5x as many executions per
# second as -O0 under the same load, with the same instrumentation. Configured every time so
# that an older build-fuzz/ (-O0) picks the flags up.
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^CMAKE_C_FLAGS_DEBUG:STRING=-g -O1$' "$build/CMakeCache.txt"; then
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
        -DLATENTCL_FUZZ=ON -DLATENTCL_BUILD_TESTS=OFF -DLATENTCL_WERROR=OFF >/dev/null ||
        { echo "fuzz.sh: cmake configure failed" >&2; exit 2; }
fi
cmake --build "$build" --target fuzz_all -j"$jobs" >"$build/build.log" 2>&1 ||
    { tail -n 40 "$build/build.log" >&2; echo "fuzz.sh: build failed ($build/build.log)" >&2; exit 2; }
echo "fuzz.sh: built the fuzz targets in $(($(date +%s) - t0)) s"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for d in "$root"/tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

# The inputs are written to files for the readers: memory-backed /dev/shm when there is one.
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
scratch=$(mktemp -d "$base/latentcl-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
artifacts="$build/artifacts"
mkdir -p "$artifacts"

failed=0
printf '%-12s %12s %10s %8s %14s  %s\n' target executions exec/s seconds corpus result
for t in "${targets[@]}"; do
    exe="$build/tests/fuzz/fuzz_$t"
    seeds="$root/tests/fuzz/corpus/$t"
    if [ ! -x "$exe" ] || [ ! -d "$seeds" ]; then
        echo "fuzz.sh: no target '$t' (want $exe and $seeds)" >&2
        exit 2
    fi
    mkdir -p "$scratch/corpus/$t" "$scratch/tmp/$t"
    cp "$seeds"/* "$scratch/corpus/$t/"
    before=$(ls "$scratch/corpus/$t" | wc -l)
    log="$scratch/$t.log"
    start=$(date +%s)
    rc=0
    # -close_fd_mask=3: the parsers' usage messages stay quiet; libFuzzer and the
    # sanitizers still report on their own copy of stderr.
    # shellcheck disable=SC2086
    TMPDIR="$scratch/tmp/$t" "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
        ${LATENTCL_FUZZ_ARGS:-} "$scratch/corpus/$t" >"$log" 2>&1 || rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    after=$(ls "$scratch/corpus/$t" | wc -l)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        failed=1
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        result="FAILED (exit $rc) reproducer: ${repro:-none written}"
        # The report itself, for the CI log.
        grep -E 'ERROR: |SUMMARY: |runtime error|==[0-9]+==' "$log" | head -n 20 >&2 || true
        cp "$log" "$artifacts/$t.log"
        result="$result log: $artifacts/$t.log"
    fi
    printf '%-12s %12s %10s %8s %14s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$took" "$before -> $after" "$result"
done
echo "fuzz.sh: total $(($(date +%s) - t0)) s"
exit "$failed"
