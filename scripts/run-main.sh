#!/usr/bin/env bash
# The README's main command: install, build, and run the default training (resnet20 on
# Fashion-MNIST, 4-stage pipedream with weight prediction, one epoch; extra arguments are
# passed to `augur train`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/apps/augur train "$@"
