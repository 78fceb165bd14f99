#!/usr/bin/env bash
# Installs every system package Augur needs from Debian's archive. Idempotent: packages
# already present are left alone, and apt-get runs only when something is missing.
# CUDA 13, cuDNN 9 and NCCL 2 are expected under /usr/local/cuda (or CUDA_HOME); they are
# not Debian packages on these machines. Without them Augur builds its CPU backend alone.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  catch2                # Catch2 v2 test framework (header + CMake integration)
  libopenblas-dev       # CPU GEMM for the reference backend
  libcli11-dev          # command-line parsing
  nlohmann-json3-dev    # JSON (traces, safetensors headers, metrics)
  libturbojpeg0-dev     # JPEG decoding for image-folder datasets
  zlib1g-dev            # gzipped IDX files
  dataset-fashion-mnist # Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist
  clang-format          # the formatting check
  clang-14              # the fuzz preset's compiler (libFuzzer needs clang)
  libclang-rt-14-dev    # libFuzzer and clang's sanitizer runtimes
  python3               # scripts
  python3-torch         # PyTorch CPU: the numerics comparison tests and the CPU speed peer
  python3-torchvision   # torchvision's ResNets for those comparisons
  python3-matplotlib    # plots of training runs
  patchelf              # relative run paths in the offline GPU bundle (scripts/bundle)
  openmpi-bin           # mpirun: pipelines with one process per stage, and their tests
  libopenmpi-dev        # MPI for the transport between processes (CMake's MPI::MPI_CXX)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

cuda_home="${CUDA_HOME:-/usr/local/cuda}"
if [ ! -x "$cuda_home/bin/nvcc" ] && ! command -v nvcc >/dev/null 2>&1; then
  # Not an error: CMake then builds the CPU backend alone (AUGUR_WITH_CUDA=OFF).
  echo "install-deps: no nvcc in $cuda_home/bin or on PATH: Augur will build its CPU backend" \
       "only; install the CUDA 13 toolkit (cuDNN 9, NCCL 2) for the GPU backend" >&2
fi
