#!/usr/bin/env bash
# Augur's CPU backend against PyTorch's, same training loop, same machine, same invocation:
# ResNet-50, 10 classes, 32x32, batch 32, forward + backward + SGD momentum, on THREADS
# threads (default 2). MODEL, SIZE, CHANNELS and BATCH choose another case: the default
# run's is MODEL=resnet20 SIZE=28 CHANNELS=1 BATCH=128 (Fashion-MNIST). Runs ROUNDS rounds (default 3), each Augur then PyTorch, so that load
# from other processes hits both alike; prints every round, the ratio of the median-step
# throughputs (medians over rounds), and the same for the fastest steps.
#
#   bench/compare_resnet_cpu.sh [BUILD_DIR]      (default build/h; needs bench_resnet_cpu)
#   THREADS=2 ROUNDS=3 STEPS=20 PYTHON=/usr/bin/python3 PROFILE=1 bench/compare_resnet_cpu.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build/h}"
threads="${THREADS:-2}"
rounds="${ROUNDS:-3}"
steps="${STEPS:-20}"
case_args=(--model "${MODEL:-resnet50}" --size "${SIZE:-32}" --channels "${CHANNELS:-3}"
  --batch "${BATCH:-32}")
python="${PYTHON:-/usr/bin/python3}"
bench="$build/bench/bench_resnet_cpu"

[[ -x "$bench" ]] || { echo "no $bench: build the bench_resnet_cpu target" >&2; exit 1; }
if ! "$python" -c 'import torch, torchvision' 2>/dev/null; then
  echo "$python cannot import torch and torchvision (Debian: python3-torch python3-torchvision)" >&2
  exit 1
fi

profile_flag=()
[[ "${PROFILE:-0}" != 0 ]] && profile_flag=(--profile)

augur=()
torch=()
augur_best=()
torch_best=()
for ((r = 1; r <= rounds; ++r)); do
  echo "== round $r of $rounds"
  out="$(AUGUR_NUM_THREADS="$threads" "$bench" "${case_args[@]}" --steps "$steps" "${profile_flag[@]}")"
  echo "$out"
  augur+=("$(sed -n 's/^augur: \([0-9.]*\) img\/s.*/\1/p' <<<"$out")")
  augur_best+=("$(sed -n 's/^augur: .*best step \([0-9.]*\) img\/s.*/\1/p' <<<"$out")")
  out="$("$python" "$here/torch_resnet_cpu.py" "${case_args[@]}" --threads "$threads" --steps "$steps")"
  echo "$out"
  torch+=("$(sed -n 's/^torch: \([0-9.]*\) img\/s.*/\1/p' <<<"$out")")
  torch_best+=("$(sed -n 's/^torch: .*best step \([0-9.]*\) img\/s.*/\1/p' <<<"$out")")
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
  print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a="$(median "${augur[@]}")"
t="$(median "${torch[@]}")"
echo "== summary ($threads threads, $rounds rounds)"
echo "augur img/s per round: ${augur[*]}"
echo "torch img/s per round (faster layout of each round): ${torch[*]}"
awk -v a="$a" -v t="$t" 'BEGIN { printf "augur %.1f img/s, torch %.1f img/s: augur/torch = %.2fx\n", a, t, a / t }'
# Other processes on the machine only ever slow a step down, so the fastest step of each
# side is the better estimate of its unloaded speed when the medians are noisy.
a="$(median "${augur_best[@]}")"
t="$(median "${torch_best[@]}")"
awk -v a="$a" -v t="$t" 'BEGIN { printf "fastest steps: augur %.1f img/s, torch %.1f img/s: augur/torch = %.2fx\n", a, t, a / t }'
