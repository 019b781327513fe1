#!/usr/bin/env bash
# The foundation's command line: usage errors exit 2, failures exit 1 with a
# one-line message, and the documented messages are what users see.
# usage: foundation.sh LATENTCL_BINARY TESTS_DIR
set -u
# shellcheck source=harness.bash
source "$(dirname "$0")/harness.bash"

expect 2 "unknown verb 'frobnicate'" -- "$cli" frobnicate
expect 2 "usage: latentcl" -- "$cli"
expect 0 "usage: latentcl" -- "$cli" --help
expect 0 "^latentcl [0-9]+\.[0-9]+\.[0-9]+" -- "$cli" --version
expect 2 "unknown option '--bogus'" -- "$cli" devices --bogus
expect 2 "unknown option '--nope'" -- "$cli" selftest --nope
expect 2 "--threads expects an integer" -- "$cli" selftest --threads many
expect 0 "usage: latentcl selftest" -- "$cli" selftest --help
expect 0 "usage: latentcl devices" -- "$cli" devices --help
expect 1 "no device 99 \(see \`latentcl devices\`\)" -- "$cli" selftest --device 99
expect 1 "no device matching 'no-such-thing'" -- env LATENTCL_DEVICE=no-such-thing "$cli" selftest
expect 0 '"default":true' -- "$cli" devices --json
expect 0 '"ok":true' -- "$cli" selftest --json --only philox
# No OpenCL platform at all: point the ICD loader at an empty vendor folder.
mkdir -p "$tmp/novendors"
expect 1 "no OpenCL platform found.*pocl-opencl-icd" -- env OCL_ICD_VENDORS="$tmp/novendors" "$cli" devices
# Unwritable cache directory (a path under a regular file: root ignores permission bits).
touch "$tmp/file"
expect 0 "warning: cannot write the kernel cache at $tmp/file/cache" -- env LATENTCL_CACHE_DIR="$tmp/file/cache" "$cli" selftest --only philox_bits
expect 1 "LATENTCL_GEMM=fast: expected auto, clblast or host" -- env LATENTCL_GEMM=fast "$cli" selftest --only philox_bits
# Every line of --json output is one JSON object.
"$cli" selftest --json --only philox > "$tmp/json" 2>/dev/null
if grep -vqE '^\{.*\}$' "$tmp/json"; then echo "FAIL: selftest --json printed a non-JSON line"; fails=$((fails + 1)); fi

if [ "$fails" -ne 0 ]; then echo "$fails failed"; exit 1; fi
echo "all passed"
