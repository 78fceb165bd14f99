#!/usr/bin/env python3
"""Keeps the table in docs/gpu-validation.md in step with the [gpu] tests of a build.

    scripts/update-gpu-validation.py BUILD_DIR
        adds a "never" row for each new [gpu] test, drops rows of tests that no longer exist,
        and keeps the date/commit/device/result of the others.
    scripts/update-gpu-validation.py BUILD_DIR --junit ctest.xml --device "NVIDIA H100" \
        --commit abc123 --date 2026-11-25
        also records, for each test in the JUnit file that CTest wrote on a GPU machine
        (ctest --output-junit), the given date, commit and device and its result.
    scripts/update-gpu-validation.py BUILD_DIR --report augur-gpu-report.json
        records each test's result from a report of the bundle's run-gpu-suite (its date,
        bundle commit and device), and writes that report's section under "## Runs" (device,
        driver, libraries, test counts and failures, every benchmark's output, the training
        run), replacing the section of the same report if it is there already.
"""
import json
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


RUNS = "## Runs\n"


THROUGHPUT = re.compile(r"^(?:augur|torch): ([0-9.]+) img/s")


def throughput_ratios(benchmarks):
    """'augur NAME: A img/s against PyTorch's B (A/B x)' for each benchmark with a PyTorch
    peer of the same name ("pytorch NAME", "(autocast)" aside) in the same run."""
    rates = {}
    for b in benchmarks:
        for line in b["output"]:
            m = THROUGHPUT.match(line)
            if m and b["exit_code"] == 0:
                rates[b["name"]] = float(m.group(1))
    out = []
    for name, rate in rates.items():
        if name.startswith("pytorch "):
            continue
        for peer, peer_rate in rates.items():
            if peer.startswith("pytorch ") and peer[8:].replace(" (autocast)", "") == name:
                out.append("  - %s: Augur %.1f img/s, PyTorch %.1f img/s: %.2fx" % (
                    name, rate, peer_rate, rate / peer_rate))
    return out


def report_section(report, report_path):
    """Markdown for one run-gpu-suite report, between markers naming it."""
    date, commit = report["date"][:10], report["bundle_commit"]
    key = "%s %s %s" % (report["date"], commit, report.get("host", ""))
    tests = report.get("tests", [])
    counts = {r: sum(1 for t in tests if t["result"] == r) for r in ("passed", "failed", "skipped")}
    out = ["<!-- report %s begin -->" % key,
           "### %s, %s: run-gpu-suite (bundle %s)" % (date, report["device"] or "no device", commit),
           "",
           "Written by `scripts/update-gpu-validation.py --report` from `%s`." % report_path,
           "",
           "- Status: **%s**: %s" % (report["status"], report["message"]),
           "- Driver: %s; bundle built for CUDA architectures %s on %s" % (
               report["driver"] or "-", report["cuda_architectures"], report["bundle_built"]),
           "- Libraries: " + "; ".join(report.get("library_checks", [])),
           "- Found in: " + (", ".join("`%s` %s" % (k, v) for k, v in report["libraries"].items())
                             or "(not recorded)"),
           "- `[gpu]` tests: %d passed, %d failed, %d skipped" % (
               counts["passed"], counts["failed"], counts["skipped"])]
    for t in tests:
        if t["result"] == "failed":
            out.append("  - failed: %s (`%s`)" % (t["name"], t["executable"]))
    sanitized = report.get("sanitizer", [])
    if sanitized:  # run-gpu-suite --sanitize
        for tool in sorted({r["tool"] for r in sanitized}):
            runs = [r for r in sanitized if r["tool"] == tool]
            clean = sum(1 for r in runs if r["result"] == "clean")
            out.append("- compute-sanitizer %s: %d of %d tests clean" % (tool, clean, len(runs)))
            for r in runs:
                if r["result"] not in ("clean", "skipped"):
                    out.append("  - %s: %s (`%s`)" % (r["result"], r["name"], r["executable"]))
    ratios = throughput_ratios(report.get("benchmarks", []))
    if ratios:
        out.append("- Training throughput against PyTorch in the same run (best layout):")
        out += ratios
    for b in report.get("benchmarks", []):
        out += ["", "<details><summary>%s (exit %d)</summary>" % (b["name"], b["exit_code"]), "",
                "```", "$ " + b["command"]] + b["output"] + ["```", "</details>"]
    if report.get("training"):
        tr = report["training"]
        out += ["", "<details><summary>training run (exit %d)</summary>" % tr["exit_code"], "",
                "```", "$ " + tr["command"]] + tr["output"] + ["```", "</details>"]
    out.append("<!-- report %s end -->" % key)
    return key, "\n".join(out) + "\n"


def add_report_section(text, report, report_path):
    key, section = report_section(report, report_path)
    begin, end = "<!-- report %s begin -->" % key, "<!-- report %s end -->" % key
    if begin in text:
        head, rest = text.split(begin, 1)
        return head + section.rstrip("\n") + rest.split(end, 1)[1]
    if RUNS not in text:
        text = text.rstrip() + "\n\n" + RUNS
    head, rest = text.split(RUNS, 1)
    return head + RUNS + "\n" + section + "\n" + rest.lstrip("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("--junit")
    ap.add_argument("--device")
    ap.add_argument("--commit")
    ap.add_argument("--date")
    ap.add_argument("--report", help="a run-gpu-suite report (JSON)")
    ap.add_argument("--doc", default=str(DOC), help="the page to update (default: the docs')")
    args = ap.parse_args()
    doc = pathlib.Path(args.doc)

    text = doc.read_text()
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

    if args.report:
        report = json.loads(pathlib.Path(args.report).read_text())
        if report.get("format") != "augur-gpu-report":
            sys.exit("%s: not a run-gpu-suite report" % args.report)
        for t in report.get("tests", []):
            results[t["name"]] = t["result"]
        args.date = args.date or report["date"][:10]
        args.commit = args.commit or report["bundle_commit"]
        args.device = args.device or "%s (driver %s)" % (report["device"], report["driver"])
        try:
            shown = pathlib.Path(args.report).resolve().relative_to(doc.resolve().parent.parent)
        except ValueError:
            shown = pathlib.Path(args.report).name
        text = add_report_section(text, report, shown)

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
    doc.write_text(text)
    print(f"{doc}: {len(lines)} [gpu] tests listed")


if __name__ == "__main__":
    sys.exit(main())
