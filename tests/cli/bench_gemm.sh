# latentcl bench gemm: usage errors exit 2; a small run prints one JSON line per
# backend (clblast, host, the openblas yardstick, auto) with sane figures.
# Usage: bash bench_gemm.sh CLI TESTS_DIR
set -u
cli=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cli" bench >/dev/null 2>&1; [ $? -eq 2 ] || fail "'bench' without a benchmark should exit 2"
"$cli" bench nope >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown benchmark should exit 2"
"$cli" bench gemm --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown flag should exit 2"
"$cli" bench gemm --m 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--m 0 should exit 2"
"$cli" bench gemm --help | grep -q -- "--trans-a" || fail "--help should list --trans-a"

out=$("$cli" bench gemm --m 33 --n 17 --k 9 --trans-b --reps 2 --json --device cpu) ||
    fail "bench gemm failed: $out"
for b in clblast host openblas auto; do
    line=$(printf '%s\n' "$out" | grep "\"backend\":\"$b\"") || fail "no line for $b in: $out"
    printf '%s\n' "$line" | grep -q '"bench":"gemm"' || fail "$b: no bench key"
    printf '%s\n' "$line" | grep -q '"m":33,"n":17,"k":9,"trans_a":false,"trans_b":true' ||
        fail "$b: wrong shape in $line"
    printf '%s\n' "$line" | grep -Eq '"gflops":[0-9]+\.[0-9]+' || fail "$b: no gflops in $line"
done
# PoCL's CPU device runs native kernels: auto is host BLAS.
printf '%s\n' "$out" | grep '"backend":"auto"' | grep -q '"resolved":"host"' || fail "auto != host"
# The device results agree with OpenBLAS.
printf '%s\n' "$out" | grep -E '"backend":"(clblast|host)"' | grep -Eq '"max_abs_diff":(nan|inf)' &&
    fail "non-finite difference: $out"
LATENTCL_GEMM=clblast "$cli" bench gemm --m 8 --n 8 --k 8 --reps 1 --json --device cpu |
    grep '"backend":"auto"' | grep -q '"resolved":"clblast"' || fail "LATENTCL_GEMM=clblast ignored"
echo ok
