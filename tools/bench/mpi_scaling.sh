#!/usr/bin/env bash
# Training images/s with 1 and with N ranks (built with -DLATENTCL_MPI=ON), measured side
# by side: the two configurations alternate for ROUNDS rounds and each figure is the
# median over rounds of the steady-state rate (metrics.jsonl samples_per_s after the first
# logged interval, which holds kernel builds and warm-up). Prints one JSON line per
# configuration and the ratio.
# usage: tools/bench/mpi_scaling.sh LATENTCL_BINARY [N] [ROUNDS] -- train FAMILY [options]
#   e.g. tools/bench/mpi_scaling.sh build-mpi/latentcl 2 3 -- train vae --data fashion-mnist
set -eu
cli="$1"; np="${2:-2}"; rounds="${3:-3}"
shift 3; [ "${1:-}" = "--" ] && shift
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
rate() { # steady-state samples/s of a run folder: the median of the intervals after the first
  grep -o '"samples_per_s":[0-9.e+-]*' "$1/metrics.jsonl" | cut -d: -f2 | tail -n +2 | sort -g |
    awk '{v[NR]=$1} END {print NR ? v[int((NR+1)/2)] : 0}'
}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
: >"$tmp/r1"; : >"$tmp/rn"
for r in $(seq "$rounds"); do
  "$cli" "$@" --out "$tmp/one$r" >/dev/null 2>&1
  rate "$tmp/one$r" >>"$tmp/r1"
  mpirun --oversubscribe -np "$np" "$cli" "$@" --out "$tmp/n$r" >/dev/null 2>&1
  rate "$tmp/n$r" >>"$tmp/rn"
done
one=$(median <"$tmp/r1"); n=$(median <"$tmp/rn")
echo "{\"ranks\":1,\"images_per_s\":$one,\"runs\":[$(paste -sd, "$tmp/r1")]}"
echo "{\"ranks\":$np,\"images_per_s\":$n,\"runs\":[$(paste -sd, "$tmp/rn")]}"
awk -v a="$one" -v b="$n" -v np="$np" 'BEGIN {printf "{\"speedup\":%.3f,\"efficiency\":%.3f}\n", b/a, b/a/np}'
