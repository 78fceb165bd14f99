#!/usr/bin/env bash
# The README's main command: install, build, and run the default job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/apps/augur info
