#!/usr/bin/env bash
# Installs what latentcl needs on Debian (12+), idempotently, and makes the
# Python virtual environment that some tests use to compare with numpy,
# safetensors and hmmlearn (latentcl itself never needs Python).
#
#   tools/setup-debian.sh            # packages + .venv
#   tools/setup-debian.sh --no-venv  # packages only
#   tools/setup-debian.sh --mpi      # also Open MPI, for the -DLATENTCL_MPI=ON build
#   LATENTCL_SETUP_EXTRA="pkg ..."   # more packages
set -euo pipefail

PACKAGES=(
  cmake build-essential pkg-config
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
  libclblast-dev libopenblas-dev liblapacke-dev
  libpng-dev zlib1g-dev libcjson-dev libcmocka-dev
  dataset-fashion-mnist wamerican
  python3-venv
  clang libclang-rt-14-dev valgrind
)
# shellcheck disable=SC2206
PACKAGES+=(${LATENTCL_SETUP_EXTRA:-})

want_venv=1
for arg in "$@"; do
  case "$arg" in
    --no-venv) want_venv=0 ;;
    --mpi) PACKAGES+=(libopenmpi-dev openmpi-bin) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup-debian.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-debian.sh: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
else
  echo "setup-debian.sh: all ${#PACKAGES[@]} Debian packages already installed"
fi

if [ "$want_venv" = 1 ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup-debian.sh: creating $venv (numpy, safetensors, hmmlearn for the comparison tests)"
    /usr/bin/python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c 'import numpy, safetensors, hmmlearn' 2>/dev/null; then
    "$venv/bin/pip" install -q --disable-pip-version-check numpy safetensors hmmlearn==0.3.3
  else
    echo "setup-debian.sh: $venv already has numpy, safetensors, hmmlearn"
  fi
fi
