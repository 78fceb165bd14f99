#!/usr/bin/env python3
"""`augur simulate --measure-on`: the measured profile it saves reloads through --profile to
the same stage costs, and its flags are refused where they make no sense, naming the flag;
stages sharing devices; replicas' all-reduce before each Step.

    test_simulate_cli.py AUGUR
"""
import json
import os
import sys
import tempfile

from augur_cli import run_augur  # noqa: E402 (beside this script)

AUGUR = sys.argv[1]
BASE = ["simulate", "--pp-schedule", "gpipe", "--pp-stages", "3", "--micro-batches", "2",
        "--batch-size", "8"]
MODEL = ["--model", "resnet20", "--image-size", "16", "--input-channels", "1"]


def run(args, expect_ok=True):
    return run_augur(AUGUR, args, expect_ok)


def stage_table(out):
    """The per-stage cost rows (stage, forward, backward, step, act MB, units)."""
    rows, on = [], False
    for line in out.splitlines():
        if line.startswith("stage  forward ms"):
            on = True
        elif on and not line.strip():
            break
        elif on:
            rows.append(line.split())
    return rows


def main():
    with tempfile.TemporaryDirectory() as d:
        prof = os.path.join(d, "p.json")
        measured = run(BASE + MODEL + ["--measure-on", "cpu", "--repeats", "2",
                                       "--save-profile", prof]).stdout
        assert "measured on cpu" in measured, measured
        p = json.load(open(prof))
        assert p["format"] == "augur-unit-profile" and p["model"] == "resnet20", p
        assert p["micro_batch"] == 4 and p["in_channels"] == 1 and p["repeats"] == 2, p
        assert all(u["forward_ms"] > 0 and u["backward_ms"] > 0 for u in p["units"]), p
        reloaded = run(BASE + ["--profile", prof]).stdout
        assert stage_table(measured) and stage_table(measured) == stage_table(reloaded), (
            measured, reloaded)
        for args, flag in [(["--save-profile", prof], "--save-profile"),
                           (["--repeats", "3"], "--repeats"),
                           (["--measure-on", "cpu"], "--measure-on"),
                           (MODEL + ["--measure-on", "cpu", "--profile", prof], "--measure-on")]:
            err = run(BASE + args, expect_ok=False).stderr
            assert flag in err, (args, err)
        err = run(BASE + MODEL + ["--measure-on", "tpu:0"], expect_ok=False).stderr
        assert "tpu:0" in err, err
    # --devices: gpipe K = 3, M = 2, F = 1 ms, B = 2 ms. Apart: (M + K - 1)(F + B) = 12 ms; all on
    # one device: all the compute, 3 x 2 x 3 = 18 ms; a count that fits no stage is refused.
    uniform = ["simulate", "--pp-schedule", "gpipe", "--pp-stages", "3", "--micro-batches", "2",
               "--forward-ms", "1", "--backward-ms", "2"]
    def makespan(extra):
        out = run(uniform + extra).stdout
        return float(next(l for l in out.splitlines() if l.startswith("makespan")).split()[1])
    assert abs(makespan([]) - 12) < 1e-6
    assert abs(makespan(["--devices", "cuda:0,cuda:1,cuda:2"]) - 12) < 1e-6
    assert abs(makespan(["--devices", "cpu"]) - 18) < 1e-6
    shared_two = makespan(["--devices", "cuda:0,cuda:0,cuda:1"])
    assert 12 - 1e-6 <= shared_two <= 18 + 1e-6, shared_two
    err = run(uniform + ["--devices", "cpu,cpu"], expect_ok=False).stderr
    assert "--devices" in err and "2 devices for 3 stages" in err, err
    # --dp-replicas: 4 replicas all-reduce 1 MB per stage over 8 Gbit/s (1000 bytes/us) before
    # the Step: 6 rounds of 250 us, 1.5 ms, added to every stage's last action, so to the
    # makespan; at 0 bytes, or with one replica, nothing is added.
    dp = ["--dp-replicas", "4", "--link-gbps", "8", "--gradient-arena-bytes", "1000000"]
    assert abs(makespan(dp) - 13.5) < 1e-6, makespan(dp)
    assert abs(makespan(dp[:4]) - 12) < 1e-6
    assert abs(makespan(["--dp-replicas", "1"] + dp[2:]) - 12) < 1e-6
    out = run(uniform + dp + ["--allreduce-gbps", "80"]).stdout
    assert "all-reduce ms per step: 0.150 0.150 0.150" in out, out
    err = run(BASE + MODEL + ["--gradient-arena-bytes", "5"], expect_ok=False).stderr
    assert "--gradient-arena-bytes" in err, err
    print("simulate measure, devices and replicas: ok")


if __name__ == "__main__":
    main()
