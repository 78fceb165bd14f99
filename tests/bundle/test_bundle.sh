#!/usr/bin/env bash
# The offline GPU bundle is self-contained apart from the CUDA libraries: packed from the
# build, unpacked into an empty folder, its CPU tests pass with a minimal environment (no
# build tree on any path, nothing on the library path but what the bundle's runner sets);
# every binary's run path is relative and every non-CUDA library resolves inside the bundle;
# without a GPU, run-gpu-suite says so and its report does too; a missing CUDA library is
# named; the docs script turns a report into a section.
#
#   test_bundle.sh BUILD_DIR REPO
set -euo pipefail
build="$1"
repo="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$repo/scripts/bundle" "$build" "$tmp/out/augur-bundle.tar.gz"
mkdir "$tmp/empty"
tar -C "$tmp/empty" -xzf "$tmp/out/augur-bundle.tar.gz"
b="$(realpath "$tmp/empty/augur-bundle")"
[ -x "$b/bin/augur" ] && [ -x "$b/run-gpu-suite" ] && [ -x "$b/run-cpu-tests" ] || fail "bundle layout"
[ "$(ls "$b"/tests/test_* | wc -l)" -ge 8 ] || fail "test executables missing"
[ "$(ls "$b"/bench/bench_* | wc -l)" -ge 6 ] || fail "benchmarks missing"

# Run paths: relative, never into the build tree.
for f in "$b"/bin/* "$b"/tests/test_* "$b"/bench/bench_*; do
  rpath="$(readelf -d "$f" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')"
  [ "$rpath" = '$ORIGIN/../lib' ] || fail "$f: run path '$rpath'"
done

# With only the CUDA folders on the library path (as the runner sets it), every other
# library resolves inside the bundle or is the C library.
cuda_dirs="$(bash -c "source '$b/augur-env.sh'; augur_find_cuda python3 >/dev/null; echo \"\$AUGUR_LIB_DIRS\"")"
for f in "$b"/bin/* "$b"/tests/test_*; do
  env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$cuda_dirs" ldd "$f" | while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    [ "$path" != "not" ] || fail "$f: $name not found"
    case "$name" in
    libc.so* | libm.so* | libdl.so* | libpthread.so* | librt.so* | ld-linux*) ;;
    libcuda* | libcublas* | libcudnn* | libnccl*) ;;
    *) [[ "$(realpath "$path")" == "$b/lib/"* ]] || fail "$f: $name resolves to $path, outside the bundle" ;;
    esac
  done
done

# The CPU tests, from the unpacked copy, with a minimal environment.
env -i PATH=/usr/bin:/bin HOME="$tmp" "$b/run-cpu-tests" || fail "run-cpu-tests"

# No GPU here: run-gpu-suite exits 3 with a clear message, and the report says so.
if ! nvidia-smi -L >/dev/null 2>&1; then
  set +e
  env -i PATH=/usr/bin:/bin HOME="$tmp" "$b/run-gpu-suite" --report "$tmp/report.json" \
    2>"$tmp/err" >/dev/null
  rc=$?
  set -e
  [ $rc -eq 3 ] || fail "run-gpu-suite without a GPU exited $rc"
  grep -q "no CUDA device found" "$tmp/err" || fail "no clear message: $(cat "$tmp/err")"
  python3 - "$tmp/report.json" <<'PY' || fail "report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format"] == "augur-gpu-report" and r["status"] == "no-device", r
assert r["message"].startswith("no CUDA device found"), r
assert r["tests"] == [] and r["libraries"] and r["library_checks"], r
PY
  cp "$repo/docs/gpu-validation.md" "$tmp/doc.md"
  python3 "$repo/scripts/update-gpu-validation.py" "$build" --report "$tmp/report.json" \
    --doc "$tmp/doc.md" >/dev/null
  grep -q "^- Status: \*\*no-device\*\*" "$tmp/doc.md" || fail "docs section from the report"
fi

# A console log of a run stopped mid-benchmark becomes an incomplete report, and its section
# gives Augur's throughput against the PyTorch peer of the same name.
cat >"$tmp/console.log" <<'LOG'
augur 0.1.0 (CUDA architectures 90)
  cuDNN         9.19.0 / 9.19.0
  CUDA driver   13.0
  cuda:0: NVIDIA H200 (sm_90, 132 SMs, 143155 MiB)
passed 0.42s  test_data: gpu: one, two
failed 1.47s  test_kernels: gpu: three
    | REQUIRE( outside == 0 ) failed
== resnet50 training tf32: bench_resnet_cpu --tf32
augur: 2000.0 img/s (median step 1 ms)
== pytorch resnet50 training tf32: python3 torch_resnet_cpu.py --tf32
torch: 1600.0 img/s (channels_last); best step 1700 img/s
== resnet50 training bf16 batch 256: bench_resnet_cpu --bf16
LOG
python3 "$repo/scripts/gpu-log-to-report.py" "$tmp/console.log" --date 2026-12-04T00:00:00Z \
  --commit abc1234 --built 2026-12-04T00:00:00Z --stopped "a test's limit" >"$tmp/rebuilt.json" ||
  fail "gpu-log-to-report"
python3 - "$tmp/rebuilt.json" <<'PY' || fail "rebuilt report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "incomplete" and "resnet50 training bf16 batch 256" in r["message"], r
assert [t["result"] for t in r["tests"]] == ["passed", "failed"], r["tests"]
assert r["tests"][1]["output"] == ["REQUIRE( outside == 0 ) failed"], r["tests"]
assert "output" not in r["tests"][0] and "does not hold" not in r["message"], r
assert r["tests"][0]["name"] == "gpu: one, two" and r["device"].startswith("NVIDIA H200"), r
assert [b["exit_code"] for b in r["benchmarks"]] == [0, 0, 124], r["benchmarks"]
assert r["library_checks"] == ["cuDNN: built against 9.19.0, found 9.19.0: ok"], r
PY
cp "$repo/docs/gpu-validation.md" "$tmp/doc2.md"
python3 "$repo/scripts/update-gpu-validation.py" "$build" --report "$tmp/rebuilt.json" \
  --doc "$tmp/doc2.md" >/dev/null
grep -q "resnet50 training tf32: Augur 2000.0 img/s, PyTorch 1600.0 img/s: 1.25x" "$tmp/doc2.md" ||
  fail "throughput ratio in the docs section"

# A CUDA library found nowhere is named, with where it was looked for.
sed -i 's/^cuda_libraries=.*/cuda_libraries=libcudnn.so.99/' "$b/MANIFEST"
set +e
env -i PATH=/usr/bin:/bin HOME="$tmp" "$b/run-gpu-suite" --report "$tmp/missing.json" 2>"$tmp/err" >/dev/null
rc=$?
set -e
[ $rc -eq 2 ] || fail "missing library: exit $rc"
grep -q "CUDA libraries not found: libcudnn.so.99" "$tmp/err" || fail "missing library not named"
grep -q '"status": "missing-libraries"' "$tmp/missing.json" || fail "missing-library report"
echo "bundle: ok"
