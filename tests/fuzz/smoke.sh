#!/usr/bin/env bash
# One harness for a few seconds: first every seed alone (each must pass, so a regression input
# that crashes again fails here by name), then fuzzing from a scratch copy of the seeds.
#   smoke.sh HARNESS SEED_DIR SECONDS
set -euo pipefail
harness=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$seeds"/. "$work/corpus/"
# The limits: an input over 10 s is a hang, over 2 GB of memory or one allocation of 1 GB a
# finding; artifacts (crash-*, timeout-*, oom-*) go to the scratch folder and are listed.
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -artifact_prefix="$work/")
"$harness" "${limits[@]}" -runs=0 "$work/corpus"
"$harness" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 "$work/corpus" \
  2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if ls "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* >/dev/null 2>&1; then
  echo "smoke: findings:"; ls -l "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* 2>/dev/null
  for f in "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-*; do
    [ -e "$f" ] && { echo "--- $f (base64)"; base64 -w0 "$f" | head -c 4000; echo; }
  done
  exit 1
fi
exit "$status"
