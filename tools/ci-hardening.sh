#!/usr/bin/env bash
# CI hardening stage (called by .ci/run): libFuzzer on every target for 20 s each
# (tools/fuzz.sh, build in build-fuzz/), then valgrind memcheck on the host-only paths of a
# Debug build (tools/valgrind.sh, build in build-valgrind/ unless BUILD_DIR is given).
# Installs nothing: the setup script provides clang, libclang-rt-14-dev and valgrind.
#
#   tools/ci-hardening.sh [DEBUG_BUILD_DIR]
#   LATENTCL_FUZZ_SECONDS=N   seconds per fuzz target (default 20)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
vbuild=${1:-build-valgrind}
seconds=${LATENTCL_FUZZ_SECONDS:-20}
t_all=$(date +%s)
fail=0

# The Debug build for valgrind goes on one core while the fuzzers (one process at a time)
# run on the other.
if [ ! -f "$vbuild/CMakeCache.txt" ]; then
    cmake -S . -B "$vbuild" -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
LATENTCL_VALGRIND_JOBS=1 tools/valgrind.sh "$vbuild" --build-only >"$vbuild/hardening-build.log" 2>&1 &
vpid=$!

t=$(date +%s)
echo "--- hardening: libFuzzer, ${seconds} s per target"
tools/fuzz.sh "$seconds" || fail=1
echo "--- hardening: fuzzing took $(($(date +%s) - t)) s"

t=$(date +%s)
echo "--- hardening: valgrind memcheck (Debug build in $vbuild)"
if ! wait "$vpid"; then
    cat "$vbuild/hardening-build.log" >&2
    fail=1
fi
echo "--- hardening: Debug build finished $(($(date +%s) - t)) s after the fuzzers"
tools/valgrind.sh "$vbuild" || fail=1
echo "--- hardening: valgrind took $(($(date +%s) - t)) s"

echo "--- hardening: $([ $fail -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t_all)) s"
exit "$fail"
