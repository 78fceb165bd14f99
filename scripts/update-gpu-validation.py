#!/usr/bin/env python3
"""Keeps the table in docs/gpu-validation.md in step with the [gpu] tests of a build.

    scripts/update-gpu-validation.py BUILD_DIR
        adds a "never" row for each new [gpu] test, drops rows of tests that no longer exist,
        and keeps the date/commit/device/result of the others.
    scripts/update-gpu-validation.py BUILD_DIR --junit ctest.xml --device "NVIDIA H100" \
        --commit abc123 --date 2026-11-25
        also records, for each test in the JUnit file that CTest wrote on a GPU machine
        (ctest --output-junit), the given date, commit and device and its result.
"""
import argparse
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "gpu-validation.md"
BEGIN = "<!-- gpu-tests:begin -->"
END = "<!-- gpu-tests:end -->"
HEADER = "| test | executable | last run | commit | device | result |\n|---|---|---|---|---|---|\n"


def gpu_tests(build_dir):
    tests = []
    for exe in sorted(pathlib.Path(build_dir, "tests").glob("test_*")):
        if not exe.is_file() or not exe.stat().st_mode & 0o111:
            continue
        out = subprocess.run([str(exe), "--list-test-names-only", "[gpu]"],
                             capture_output=True, text=True, check=False).stdout
        tests += [(line.rstrip(), exe.name) for line in out.splitlines() if line.strip()]
    return tests


def parse_rows(text):
    rows = {}
    if BEGIN in text:
        body = text.split(BEGIN, 1)[1].split(END, 1)[0]
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[0] not in ("test", "---"):
                rows[cells[0]] = cells
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--junit")
    ap.add_argument("--device")
    ap.add_argument("--commit")
    ap.add_argument("--date")
    args = ap.parse_args()

    text = DOC.read_text()
    old = parse_rows(text)
    results = {}
    if args.junit:
        for case in ET.parse(args.junit).getroot().iter("testcase"):
            name = re.sub(r"^test_\w+:\s*", "", case.get("name", ""))
            if case.find("failure") is not None or case.find("error") is not None:
                results[name] = "failed"
            elif case.find("skipped") is not None or case.get("status") == "notrun":
                results[name] = "skipped"
            else:
                results[name] = "passed"

    lines = []
    for name, exe in gpu_tests(args.build_dir):
        row = old.get(name, [name, exe, "never", "-", "-", "-"])
        row[1] = exe
        if name in results:
            row[2:6] = [args.date or "?", args.commit or "?", args.device or "?", results[name]]
        lines.append("| " + " | ".join(row) + " |")
    table = BEGIN + "\n" + HEADER + "\n".join(lines) + "\n" + END
    if BEGIN in text:
        text = text.split(BEGIN, 1)[0] + table + text.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    DOC.write_text(text)
    print(f"{DOC}: {len(lines)} [gpu] tests listed")


if __name__ == "__main__":
    sys.exit(main())
