#!/usr/bin/env python3
"""Runs the libFuzzer harnesses of tests/fuzz/ for N executions each (or until a time cap) and
prints, per harness, the executions, the coverage (edges and features), the corpus it ended
with, the slowest input and peak memory, and its findings (crash, timeout, out-of-memory and
leak inputs). Exit status 1 when any harness found something.

    cmake --preset fuzz && cmake --build --preset fuzz
    bench/fuzz/run_fuzz.py [--runs 1000000] [--max-time 1800] [--jobs 2] [--harness idx ...]
                           [--markdown docs/fuzzing-results.md]

Each harness fuzzes a working corpus under BUILD/fuzz-corpus/<name>/, started from the seeds
in tests/fuzz/corpus/<name>/ and kept between runs, so a second run goes on from where the
first stopped (--fresh starts from the seeds again). The limits are those of the CI smoke
(tests/fuzz/smoke.sh): an input over 10 s is a hang, over 2 GB of memory or one allocation over
1 GB a finding. Findings are kept in BUILD/fuzz-findings/<name>/; a crash that is fixed becomes
a regression input in tests/fuzz/corpus/<name>/ (named regression-*).
"""
import argparse
import concurrent.futures
import datetime
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HARNESSES = ["safetensors", "checkpoint", "batch", "idx", "cifar", "jpeg", "image_folder",
             "config", "profile", "schedule", "flags"]
LIMITS = ["-timeout=10", "-rss_limit_mb=2048", "-malloc_limit_mb=1024"]
BEGIN, END = "<!-- fuzz-results:begin -->", "<!-- fuzz-results:end -->"
FINDING = re.compile(r"^(crash|timeout|oom|leak|slow-unit)-")


def run_one(name, args):
    binary = os.path.join(args.build_dir, "tests", "fuzz", f"fuzz_{name}")
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"run_fuzz: {binary} is missing: build the fuzz preset first "
                         "(cmake --preset fuzz && cmake --build --preset fuzz)")
    corpus = os.path.join(args.build_dir, "fuzz-corpus", name)
    findings = os.path.join(args.build_dir, "fuzz-findings", name)
    if args.fresh:
        shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(findings, exist_ok=True)
    seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
    for f in os.listdir(seeds):
        shutil.copy(os.path.join(seeds, f), corpus)
    before = set(os.listdir(findings))
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    cmd = [binary, *LIMITS, f"-runs={args.runs}", f"-max_total_time={args.max_time}",
           "-print_final_stats=1", "-close_fd_mask=1", f"-artifact_prefix={findings}/", corpus]
    start = datetime.datetime.now()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    seconds = (datetime.datetime.now() - start).total_seconds()
    log = p.stdout
    with open(os.path.join(findings, "last-run.log"), "w") as f:
        f.write(" ".join(cmd) + "\n" + log)
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", log, re.M))
    # The last progress line: "#N  DONE  cov: C ft: F corp: U/Sb ..." (or the last "pulse").
    cov = re.findall(r"^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\d+\w*)", log, re.M)
    new = sorted(f for f in set(os.listdir(findings)) - before if FINDING.match(f))
    return {
        "harness": name,
        "executions": int(stats.get("number_of_executed_units", 0)),
        "exec_per_s": int(stats.get("average_exec_per_sec", 0)),
        "seconds": round(seconds),
        "edges": int(cov[-1][0]) if cov else 0,
        "features": int(cov[-1][1]) if cov else 0,
        "corpus_units": int(cov[-1][2]) if cov else 0,
        "corpus_size": cov[-1][3] if cov else "?",
        "slowest_s": int(stats.get("slowest_unit_time_sec", 0)),
        "peak_rss_mb": int(stats.get("peak_rss_mb", 0)),
        "findings": new,
        "status": p.returncode,
        "log": os.path.join(findings, "last-run.log"),
    }


def table(results):
    head = ["harness", "executions", "exec/s", "time (s)", "edges", "features", "corpus",
            "slowest (s)", "peak RSS (MB)", "findings"]
    rows = [[r["harness"], f"{r['executions']:,}", f"{r['exec_per_s']:,}", str(r["seconds"]),
             str(r["edges"]), str(r["features"]), f"{r['corpus_units']} ({r['corpus_size']})",
             str(r["slowest_s"]), str(r["peak_rss_mb"]),
             ", ".join(r["findings"]) or ("0" if r["status"] == 0 else f"exit {r['status']}")]
            for r in results]
    return head, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "fuzz"))
    ap.add_argument("--runs", type=int, default=1000000, help="executions per harness")
    ap.add_argument("--max-time", type=int, default=1800, help="seconds cap per harness")
    ap.add_argument("--jobs", type=int, default=2, help="harnesses run at once")
    ap.add_argument("--harness", nargs="+", choices=HARNESSES, default=HARNESSES)
    ap.add_argument("--fresh", action="store_true", help="start from the seed corpus again")
    ap.add_argument("--markdown", help="also write the table as markdown to this file")
    args = ap.parse_args()
    if args.runs <= 0 or args.max_time <= 0 or args.jobs <= 0:
        ap.error("--runs, --max-time and --jobs must be positive")
    # The commit when the run starts (the harnesses were built from it, or from a tree that
    # differs from it: then "-dirty"); HEAD may move while a long run goes.
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    if subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD"]).returncode != 0:
        commit += "-dirty"
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda h: run_one(h, args), args.harness))
    head, rows = table(results)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    bad = [r for r in results if r["findings"] or r["status"] != 0]
    for r in bad:
        print(f"run_fuzz: {r['harness']}: findings in {os.path.dirname(r['log'])} "
              f"(log {r['log']})", file=sys.stderr)
    if args.markdown:
        block = (f"{BEGIN}\nWritten by `bench/fuzz/run_fuzz.py --runs {args.runs} --max-time "
                 f"{args.max_time} --jobs {args.jobs}` on {datetime.date.today().isoformat()}, "
                 f"commit {commit}, {os.cpu_count()} CPUs.\n\n"
                 "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n" +
                 "".join("| " + " | ".join(r) + " |\n" for r in rows) + END + "\n")
        # Replaces the generated block of a page that has one; otherwise the file is the block.
        text = open(args.markdown).read() if os.path.exists(args.markdown) else ""
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END) + 1:]
        else:
            text = block
        with open(args.markdown, "w") as f:
            f.write(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
