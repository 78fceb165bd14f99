#!/usr/bin/env python3
"""Rebuilds a run-gpu-suite report (JSON) from the suite's console output, for a run that was
stopped before it wrote its report (a device call's limit, a lost machine).

    scripts/gpu-log-to-report.py LOG --date 2026-12-04T18:22:13Z --commit 9e359fc \
        --built 2026-12-04T18:16:35Z --stopped "the call's 400 s limit" > report.json

The console holds each test's result line ("passed 0.42s  test_data: NAME"), a failed test's
output below it (lines starting "    | ", where the suite echoes it), `augur info`'s
device and library lines, and every benchmark's "== NAME: COMMAND" header and output; not the
driver's full version or the library folders, which the report then leaves empty. The
benchmark that was running when the run stopped is kept with exit code 124 (what `timeout`
returns), and the report's status is "incomplete".
"""
import argparse
import json
import re
import sys

RESULT = re.compile(r"^(passed|failed|skipped) ([0-9.]+)s  (test_\w+): (.*)$")
BENCH = re.compile(r"^== (.+?): (.*)$")
OUTPUT = "    | "  # a failed test's output, as run-gpu-suite echoes it
LIBRARY = re.compile(r"^  (CUDA runtime|cuBLAS|cuDNN|NCCL) +(\S+) / (\S+)$")


def parse(lines):
    report = {"tests": [], "benchmarks": [], "library_checks": [], "device": "", "driver": ""}
    bench = None
    for line in lines:
        line = line.rstrip("\n")
        m = RESULT.match(line)
        if m and bench is None:
            report["tests"].append({"executable": m.group(3), "name": m.group(4),
                                    "result": m.group(1), "seconds": float(m.group(2))})
            continue
        if line.startswith(OUTPUT) and bench is None and report["tests"]:
            report["tests"][-1].setdefault("output", []).append(line[len(OUTPUT):])
            continue
        m = BENCH.match(line)
        if m and not line.startswith("== training"):
            bench = {"name": m.group(1), "command": m.group(2), "exit_code": 0, "output": []}
            report["benchmarks"].append(bench)
            continue
        if bench is not None:
            bench["output"].append(line)
            continue
        m = LIBRARY.match(line)
        if m:
            key = "cuda-runtime" if m.group(1) == "CUDA runtime" else m.group(1)
            same = m.group(2).split(".")[0] == m.group(3).split(".")[0]
            report["library_checks"].append("%s: built against %s, found %s: %s" % (
                key, m.group(2), m.group(3), "ok" if same else "another major version"))
        elif line.startswith("  CUDA driver"):
            report["driver"] = "CUDA " + line.split()[-1]
        elif line.startswith("  cuda:0: "):
            report["device"] = line[len("  cuda:0: "):]
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--date", required=True, help="when the run ended (UTC, ISO 8601)")
    ap.add_argument("--commit", required=True, help="the bundle's commit (its MANIFEST)")
    ap.add_argument("--built", required=True, help="when the bundle was built (its MANIFEST)")
    ap.add_argument("--architectures", default="90")
    ap.add_argument("--stopped", required=True, help="what stopped the run, in words")
    args = ap.parse_args()
    with open(args.log) as f:
        parsed = parse(f.readlines())
    if not parsed["tests"]:
        sys.exit("%s: no test result lines: not run-gpu-suite's console output" % args.log)
    benches = parsed["benchmarks"]
    if benches:
        benches[-1]["exit_code"] = 124  # the one running when the run was stopped
    failed = sum(1 for t in parsed["tests"] if t["result"] == "failed")
    last = benches[-1]["name"] if benches else "the tests"
    report = {
        "format": "augur-gpu-report", "version": 1, "date": args.date,
        "host": "rebuilt from the console log", "bundle_commit": args.commit,
        "bundle_built": args.built, "cuda_architectures": args.architectures,
        "status": "incomplete",
        "message": "stopped by %s during %s; %d [gpu] test(s) failed; rebuilt from the console "
                   "log%s; the training run and any later benchmark did not run" % (
                       args.stopped, last, failed,
                       "" if all("output" in t for t in parsed["tests"] if t["result"] == "failed")
                       else ", which does not hold every failed test's output"),
        "device": parsed["device"], "driver": parsed["driver"], "libraries": {},
        "library_search": [], "library_checks": parsed["library_checks"],
        "tests": parsed["tests"], "benchmarks": benches, "sanitizer": [], "training": None,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
