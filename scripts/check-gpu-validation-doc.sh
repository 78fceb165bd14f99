#!/usr/bin/env bash
# Fails when docs/gpu-validation.md does not list every [gpu] test of the given test
# executables (each test's name must appear in the page's table).
set -euo pipefail
doc="$1"; shift
missing=0
for exe in "$@"; do
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    if ! grep -Fq "| $name |" "$doc"; then
      echo "not listed in $doc: $name ($(basename "$exe"))" >&2
      missing=1
    fi
  done < <("$exe" --list-test-names-only '[gpu]' | sed -e 's/[[:space:]]*$//')
done
exit $missing
