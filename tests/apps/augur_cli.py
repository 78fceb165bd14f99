"""Running the augur binary from the command-line tests: one call, checked for the exit
status it should have, with both output streams in the failure message."""
import subprocess
import sys


def run_augur(augur, args, expect_ok=True):
    p = subprocess.run([augur] + args, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        sys.exit(f"augur {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    if not expect_ok and p.returncode == 0:
        sys.exit(f"augur {' '.join(args)} should have failed:\n{p.stdout}\n{p.stderr}")
    return p
