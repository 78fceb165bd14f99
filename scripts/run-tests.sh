#!/usr/bin/env bash
# The README's test command: install, build, check formatting, run the whole suite.
# [gpu] tests are reported as skipped on machines without a CUDA device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh release
ctest --preset release
