"""Running the augur binary from the command-line tests: one call, checked for the exit
status it should have, with both output streams in the failure message; and what the tests
compare of a checkpoint."""
import hashlib
import json
import subprocess
import sys


def run_augur(augur, args, expect_ok=True):
    p = subprocess.run([augur] + args, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        sys.exit(f"augur {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    if not expect_ok and p.returncode == 0:
        sys.exit(f"augur {' '.join(args)} should have failed:\n{p.stdout}\n{p.stderr}")
    return p


def tensors(path):
    """The tensor bytes of a safetensors file (its metadata holds run-specific arguments)."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    return json.dumps(header, sort_keys=True), hashlib.sha256(data[8 + n:]).hexdigest()
