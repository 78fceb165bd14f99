#!/usr/bin/env bash
# GPU validation on a lent machine (one H100/H200, no package registry): every [gpu] test and
# the GPU benchmarks, with a report in $OUT.
#
# Here (a development machine with Debian's archive):
#   scripts/gpu-validate.sh prepare
#     unpacks the Debian packages the GPU image lacks (Catch2, CLI11, nlohmann-json, OpenBLAS,
#     libturbojpeg) into .carry/root (ignored by git, well under the 64 MiB a call carries).
# There (the device tool's `run`, with carry [".carry"]):
#   scripts/gpu-validate.sh run        (or `resnet`: only the ResNet-50 comparison, profiled)
#     configures and builds the release preset against the image's nvcc and the cuDNN / NCCL
#     that PyTorch's pip packages bring (site-packages/nvidia/*), runs `ctest -L gpu`, the
#     GPU benchmarks, and writes $OUT/gpu-report.txt and $OUT/gpu-junit.xml. Then, here:
#   scripts/update-gpu-validation.py build/release --junit <fetched gpu-junit.xml> \
#       --date ... --commit ... --device "..."
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
carry="$PWD/.carry/root"

case "$mode" in
prepare)
  grep -qxF '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >> .git/info/exclude
  rm -rf .carry && mkdir -p .carry/debs "$carry"
  (cd .carry/debs && apt-get download catch2 libcli11-dev nlohmann-json3-dev \
      libopenblas0-pthread libopenblas-pthread-dev libopenblas-dev libturbojpeg0 \
      libturbojpeg0-dev libgfortran5 >/dev/null)
  for d in .carry/debs/*.deb; do dpkg -x "$d" "$carry"; done
  rm -rf .carry/debs "$carry/usr/share/doc" "$carry/usr/share/man"
  # Static archives are too large to carry; Catch2 ships only static ones (about 1 MB).
  find "$carry" -name "*.a" ! -name "libCatch2*" -delete
  # The whole of Fashion-MNIST (30 MB) does not fit beside the libraries in one call's 64 MiB:
  # the first 12800 training images and the full test set do (about 7 MB).
  python3 scripts/subset_idx.py /usr/share/datasets/fashion-mnist .carry/fashion-mnist 12800
  du -sh .carry
  ;;
run | resnet)
  [ -d "$carry" ] || { echo "gpu-validate: no .carry/root; run 'prepare' here and carry .carry" >&2; exit 1; }
  out="${OUT:-$PWD/gpu-out}"
  mkdir -p "$out"
  py="${AUGUR_PYTHON:-/opt/torch/.venv/bin/python3}"
  site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  nvlibs=$(ls -d "$site"/nvidia/*/lib 2>/dev/null | tr '\n' ':')
  multi="$carry/usr/lib/x86_64-linux-gnu"
  export LD_LIBRARY_PATH="$multi:$multi/openblas-pthread:${nvlibs}${LD_LIBRARY_PATH:-}"
  export CPATH="$carry/usr/include:$carry/usr/include/x86_64-linux-gnu:${CPATH:-}"
  export LIBRARY_PATH="$multi:$multi/openblas-pthread:${LIBRARY_PATH:-}"
  export CMAKE_PREFIX_PATH="$carry/usr:${CMAKE_PREFIX_PATH:-}"
  {
    echo "date: $(date -u +%F)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  } > "$out/gpu-report.txt"
  cmake --preset release -DAUGUR_PYTHON="$py" -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" \
    -DBLAS_LIBRARIES="$multi/openblas-pthread/libopenblas.so" > "$out/configure.log" 2>&1 \
    || { tail -30 "$out/configure.log"; exit 1; }
  cmake --build --preset release -j 16 > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
  rm -f "$out/build.log" "$out/configure.log"  # kept only on failure: $OUT returns 8 files
  # Whole-model training throughput against PyTorch on the same GPU: true f32 (deterministic
  # convolutions, then any), TF32 likewise; `resnet` mode runs only this, with a profile.
  resnet_compare() {
    for flags in "" "--nondeterministic" "--tf32" "--tf32 --nondeterministic"; do
      echo "== resnet50 224x224 batch 64 training step [${flags:-f32, deterministic}]" | tee -a "$out/gpu-report.txt"
      # shellcheck disable=SC2086
      timeout 120 build/release/bench/bench_resnet_cpu --device cuda:0 --size 224 --batch 64 \
        --classes 1000 --steps 20 $flags "$@" 2>&1 | tee -a "$out/gpu-report.txt"
    done
    for tf in "" --tf32; do
      timeout 120 "$py" bench/torch_resnet_cpu.py --device cuda --size 224 --batch 64 \
        --classes 1000 --steps 20 $tf 2>&1 | tee -a "$out/gpu-report.txt"
    done
  }
  if [ "$mode" = resnet ]; then
    set +e
    resnet_compare --profile
    exit 0
  fi
  build/release/apps/augur info | tee -a "$out/gpu-report.txt"
  set +e
  ctest --preset release -L gpu --timeout 180 --output-junit "$out/gpu-junit.xml" 2>&1 | tee -a "$out/gpu-report.txt"
  # The benchmarks that take --device (the others are CPU-only by design).
  for b in $(grep -l parse_device bench/bench_*.cpp); do
    b="build/release/bench/$(basename "$b" .cpp)"
    [ -x "$b" ] || continue
    echo "== $(basename "$b") --device cuda:0" | tee -a "$out/gpu-report.txt"
    timeout 60 "$b" --device cuda:0 2>&1 | tee -a "$out/gpu-report.txt"
  done
  resnet_compare
  # Measured per-unit costs on this GPU, for `augur simulate --profile` and the staleness
  # study's projection (resnet20 on 28x28 Fashion-MNIST at the micro-batch sizes it runs).
  mkdir -p /tmp/profiles
  for b in 8 16 32 64; do
    build/release/apps/augur simulate --pp-schedule gpipe --pp-stages 4 --model resnet20 \
      --image-size 28 --input-channels 1 --batch-size "$b" --measure-on cuda:0 --repeats 20 \
      --save-profile "/tmp/profiles/resnet20-28px-b$b.json" 2>&1 | tee -a "$out/gpu-report.txt"
  done
  build/release/apps/augur simulate --pp-schedule 1f1b --pp-stages 4 --micro-batches 4 \
    --model resnet50 --image-size 224 --batch-size 128 --measure-on cuda:0 --repeats 20 \
    --save-profile /tmp/profiles/resnet50-224px-b32.json 2>&1 | tee -a "$out/gpu-report.txt"
  tar -C /tmp -cf "$out/profiles.tar" profiles
  echo "== augur train (resnet20, 4-stage pipedream, predict, one GPU)" | tee -a "$out/gpu-report.txt"
  timeout 150 build/release/apps/augur train --model resnet20 --data-path .carry/fashion-mnist \
    --device cuda:0 --pp-stages 4 --output-dir /tmp/augur-train --overwrite 2>&1 | tail -8 | tee -a "$out/gpu-report.txt"
  cp /tmp/augur-train/metrics.csv "$out/train-metrics.csv" 2>/dev/null
  cp build/release/Testing/Temporary/LastTest.log "$out/ctest-gpu.log" 2>/dev/null
  ;;
*)
  echo "usage: scripts/gpu-validate.sh prepare|run|resnet" >&2
  exit 2
  ;;
esac
