# Sourced by the bundle's runners: finds the CUDA libraries the bundle's binaries need on this
# machine and puts their folders on LD_LIBRARY_PATH (the bundle's own libraries are found
# through the binaries' run paths). Looks, in order, in: --cuda-lib folders; $CUDA_HOME;
# a Python environment's site-packages/nvidia/*/lib (the python3 on the PATH, or --python);
# /usr/local/cuda; then the system loader's cache.
# Sets: AUGUR_LIB_DIRS (folders added), AUGUR_LIB_FOUND ("soname=folder" lines),
#       AUGUR_LIB_MISSING (sonames found nowhere), AUGUR_LIB_SEARCHED (folders searched).

augur_bundle="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

augur_manifest() {  # augur_manifest KEY
  sed -n "s/^$1=//p" "$augur_bundle/MANIFEST"
}

augur_python_nvidia_dirs() {  # augur_python_nvidia_dirs PYTHON
  local py="$1"
  [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || return 0
  "$py" - <<'PY' 2>/dev/null || true
import glob, os, site, sysconfig
roots = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
try:
    roots.update(site.getsitepackages())
except AttributeError:
    pass
for r in sorted(roots):
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib")) +
                    glob.glob(os.path.join(r, "nvidia", "*", "lib64"))):
        print(d)
PY
}

augur_find_cuda() {  # augur_find_cuda PYTHON [DIR...]
  local py="$1"
  shift
  local dirs=("$@")
  if [ -n "${CUDA_HOME:-}" ]; then
    dirs+=("$CUDA_HOME/lib64" "$CUDA_HOME/lib" "$CUDA_HOME/targets/x86_64-linux/lib")
  fi
  local d
  while read -r d; do [ -n "$d" ] && dirs+=("$d"); done < <(augur_python_nvidia_dirs "$py")
  dirs+=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib)
  AUGUR_LIB_SEARCHED=""
  for d in "${dirs[@]}"; do [ -d "$d" ] && AUGUR_LIB_SEARCHED+="$d"$'\n'; done
  AUGUR_LIB_DIRS=""
  AUGUR_LIB_FOUND=""
  AUGUR_LIB_MISSING=""
  local so found
  for so in $(augur_manifest cuda_libraries); do
    found=""
    while read -r d; do
      [ -n "$d" ] && [ -e "$d/$so" ] && { found="$d"; break; }
    done <<<"$AUGUR_LIB_SEARCHED"
    if [ -z "$found" ] && ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$so "; then
      found="(system loader)"
    fi
    if [ -z "$found" ]; then
      AUGUR_LIB_MISSING+="$so "
      continue
    fi
    AUGUR_LIB_FOUND+="$so=$found"$'\n'
    if [ "$found" != "(system loader)" ] && [[ ":$AUGUR_LIB_DIRS:" != *":$found:"* ]]; then
      AUGUR_LIB_DIRS="${AUGUR_LIB_DIRS:+$AUGUR_LIB_DIRS:}$found"
    fi
  done
  AUGUR_LIB_MISSING="${AUGUR_LIB_MISSING% }"
  export LD_LIBRARY_PATH="$AUGUR_LIB_DIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

augur_explain_missing() {  # to stderr: what is missing and where it was looked for
  {
    echo "augur-bundle: CUDA libraries not found: $AUGUR_LIB_MISSING"
    echo "  looked in (then the system loader's cache):"
    if [ -n "$AUGUR_LIB_SEARCHED" ]; then
      sed 's/^/    /' <<<"${AUGUR_LIB_SEARCHED%$'\n'}"
    else
      echo "    (no candidate folder exists)"
    fi
    echo "  give a folder with --cuda-lib DIR, set CUDA_HOME, or name a Python environment"
    echo "  with PyTorch's CUDA packages with --python PATH"
  } >&2
}
