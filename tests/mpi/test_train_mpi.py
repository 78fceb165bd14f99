#!/usr/bin/env python3
"""`augur train` launched by mpirun, one process per stage, against the same run in one
process: the same epoch figures and the same checkpoint tensors, bit for bit (each process
uses one CPU thread, as the one-process run does here, so reductions add in the same order);
a run stopped after epoch 0 and resumed under mpirun, and one killed in its second epoch and
resumed, end equal to the uninterrupted one; a
NaN loss on one rank stops every rank at once, naming that rank; a launch whose size is not
--pp-stages, or a torchrun-style launch of CPU ranks, is refused before any work. Every run is bounded in time.

    test_train_mpi.py AUGUR MPIRUN [MPIRUN FLAGS...]
"""
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps"))
from augur_cli import tensors  # noqa: E402 (tests/apps/augur_cli.py)

AUGUR, MPIRUN, FLAGS = sys.argv[1], sys.argv[2], sys.argv[3:]
SMALL = ["train", "--dataset", "synthetic", "--image-size", "16", "--limit-test", "128",
         "--print-freq", "4", "-j", "1"]
ENV = dict(os.environ, AUGUR_NUM_THREADS="1")
LIMIT = 120  # seconds for any one run


def run(cmd, expect_ok=True):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=LIMIT)
    took = time.monotonic() - t0
    if expect_ok and p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    if not expect_ok and p.returncode == 0:
        sys.exit(f"{' '.join(cmd)} should have failed:\n{p.stdout}\n{p.stderr}")
    return p, took


def one(args, lr="0.05", b="32", limit="256"):
    return run([AUGUR] + SMALL + ["--lr", lr, "-b", b, "--limit-train", limit] + args)


def ranks(n, args, expect_ok=True, lr="0.05", b="32", limit="256"):
    return run([MPIRUN] + FLAGS + ["-np", str(n), AUGUR] + SMALL +
               ["--lr", lr, "-b", b, "--limit-train", limit] + args, expect_ok)


def epochs(path):
    """Epoch records without the figures that depend on timing."""
    with open(os.path.join(path, "metrics.jsonl")) as f:
        out = []
        for r in map(json.loads, f):
            if r["kind"] != "epoch":
                continue
            for k in ("images_per_s", "epoch_seconds", "utilisation_per_stage",
                      "utilisation_mean"):
                r.pop(k)
            out.append(r)
        return out


def killed_and_resumed(d, extra):
    """A job killed (SIGKILL to every process) in its second epoch, resumed by a new mpirun
    from the checkpoint it left, ends with the uninterrupted run's weights, bit for bit."""
    limit = "1024"  # epochs of a few seconds, so the kill lands inside one
    whole, killed = os.path.join(d, "whole"), os.path.join(d, "killed")
    one(extra + ["--output-dir", whole], limit=limit)
    job = subprocess.Popen([MPIRUN] + FLAGS + ["-np", "2", AUGUR] + SMALL +
                           ["--lr", "0.05", "-b", "32", "--limit-train", limit] + extra +
                           ["--output-dir", killed], env=ENV, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    first = os.path.join(killed, "model_0.safetensors")
    deadline = time.monotonic() + LIMIT
    while not os.path.exists(first) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    # Every process of the job: mpirun's group, and the ranks (OpenMPI may start them in
    # groups of their own), found by the folder on their command line.
    os.killpg(job.pid, signal.SIGKILL)
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if killed.encode() in f.read() and int(pid) != os.getpid():
                    os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    job.wait(timeout=30)
    assert job.returncode == -signal.SIGKILL, f"the job ended ({job.returncode}) before the kill"
    # The folder's lock goes with the last process that held it.
    with open(os.path.join(killed, ".augur.lock")) as lock:
        until = time.monotonic() + 30
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock, fcntl.LOCK_UN)
                break
            except BlockingIOError:
                assert time.monotonic() < until, "a killed rank still holds the output folder"
                time.sleep(0.1)
    assert not os.path.exists(os.path.join(killed, "model_1.safetensors"))
    ranks(2, extra + ["--output-dir", killed, "--resume",
                      os.path.join(killed, "checkpoint.safetensors")], limit=limit)
    assert tensors(os.path.join(killed, "checkpoint.safetensors")) == \
        tensors(os.path.join(whole, "checkpoint.safetensors")), "killed and resumed differs"
    print("killed in epoch 1 (SIGKILL), resumed under mpirun: the uninterrupted run's weights")


def check_step_records(path, stages):
    """Progress records of a job carry every stage's figures (gathered from its ranks), and
    each stage's utilisation is a fraction of its window (a window whose records arrived in a
    burst at the end would divide a stage's busy time by almost nothing)."""
    with open(os.path.join(path, "metrics.jsonl")) as f:
        steps = [r for r in map(json.loads, f) if r["kind"] == "step"]
    assert steps, "no step records"
    for r in steps:
        assert r["loss"] is not None and r["images_per_s"] > 0, r
        assert len(r["staleness_per_stage"]) == stages, r
        assert all(s is not None for s in r["staleness_per_stage"]), r
        assert all(0 < u <= 1.5 for u in r["utilisation_per_stage"]), r
    print(f"step records: {len(steps)}, every stage's figures in each")


def check_job_trace(path, ranks, stages, replicas, micro_batches):
    """One trace for the job: a named compute and comms track per rank; an arrow from every
    send to its receive, paired by id, between ranks of one pipeline, forward in time."""
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "process_name"}
    want = {r: f"rank {r}: stage {r // replicas}, replica {r % replicas}" for r in range(ranks)}
    assert names == want, names
    assert {e["pid"] for e in events if e["ph"] == "X"} == set(range(ranks))
    ends = {}
    for e in events:
        if e["ph"] in ("s", "f"):
            ends.setdefault(e["id"], {})[e["ph"]] = e
    assert len(ends) == 2 * (stages - 1) * micro_batches * replicas, len(ends)
    for pair in ends.values():
        s, f = pair["s"], pair["f"]
        assert s["name"] == f["name"] and s["pid"] != f["pid"], pair
        assert s["pid"] % replicas == f["pid"] % replicas, pair  # within one pipeline
        assert s["ts"] <= f["ts"], pair
    print(f"job trace: {ranks} ranks' tracks, {len(ends)} arrows, each forward in time")


def main():
    with tempfile.TemporaryDirectory() as d:
        # The last: bf16 activations and gradients travel between the processes.
        for schedule, stages, prec in (("pipedream", 2, "fp32"), ("1f1b", 2, "fp32"),
                                       ("pipedream", 4, "fp32"), ("pipedream", 2, "bf16")):
            extra = ["--pp-schedule", schedule, "--pp-stages", str(stages), "--epochs", "2",
                     "--precision", prec]
            name = f"{schedule}{stages}-{prec}"
            alone, split = os.path.join(d, name), os.path.join(d, "split")
            one(extra + ["--output-dir", alone])
            p, _ = ranks(stages, extra + ["--output-dir", split])
            assert f"{stages} processes (mpirun, MPI)" in p.stderr, p.stderr
            a, b = epochs(alone), epochs(split)
            assert a == b, f"{schedule} K={stages}: epoch records differ:\n{a}\n{b}"
            for f in ("checkpoint.safetensors", "model_0.safetensors"):
                assert tensors(os.path.join(alone, f)) == tensors(os.path.join(split, f)), f
            with open(os.path.join(split, "metrics.jsonl")) as f:
                assert any(json.loads(r)["kind"] == "step" for r in f), "no step records"
            print(f"{schedule} K={stages} {prec}: {stages} ranks = one process "
                  f"({a[-1]['top1']}% top-1)")

            if schedule == "pipedream" and stages == 2 and prec == "fp32":
                # Interrupted after epoch 0 and resumed by a new mpirun: the same end.
                resumed = os.path.join(d, "resumed")
                ranks(2, extra + ["--output-dir", resumed, "--resume",
                                  os.path.join(split, "model_0.safetensors")])
                assert tensors(os.path.join(resumed, "checkpoint.safetensors")) == \
                    tensors(os.path.join(split, "checkpoint.safetensors")), "resume differs"
                assert epochs(resumed) == epochs(split)[1:], "resumed epoch differs"
                print("resumed under mpirun after epoch 0: the same checkpoint")
                killed_and_resumed(d, extra)
            os.rename(split, os.path.join(d, f"split-{name}"))

        # Two pipelines of two stages, -b 16 and 2 micro-batches each: the micro-batches of
        # one pipeline with -b 32 and 4, replica d taking micro-batches 2d and 2d + 1 of each
        # batch. The first step's losses are the same bits; later ones differ only by the
        # order the 4 micro-batch gradients are added in (2 per replica, then averaged): a few
        # units in the last place per step, measured under 1e-7 of the loss after 4 steps, so
        # 1e-5 over 4 steps. (Longer runs drift further: over 8 steps on this data they part
        # by 1e-3, faster than smooth growth of rounding would give; presumably a discrete
        # choice, a ReLU's sign or a max-pool's winner, flips; not investigated.) Test figures
        # differ more: BatchNorm's running statistics are gathered per replica and averaged.
        dp, single = os.path.join(d, "dp"), os.path.join(d, "single")
        p, _ = ranks(4, ["--pp-schedule", "gpipe", "--pp-stages", "2", "--dp-replicas", "2",
                         "--micro-batches", "2", "--epochs", "1", "--output-dir", dp], b="16",
                     limit="128")
        assert "pipeline 0 = ranks 0,2; pipeline 1 = ranks 1,3" in p.stderr, p.stderr
        one(["--pp-schedule", "gpipe", "--pp-stages", "2", "--micro-batches", "4", "--epochs", "1",
             "--output-dir", single], limit="128")
        a, b = epochs(single)[0], epochs(dp)[0]
        assert a["step"] == b["step"] == 4, (a, b)
        assert abs(a["train_loss"] - b["train_loss"]) <= 1e-5 * abs(a["train_loss"]), (a, b)
        one(["--pp-schedule", "gpipe", "--pp-stages", "2", "--micro-batches", "4", "--epochs", "1",
             "--output-dir", single + "1"], limit="32")
        first = os.path.join(d, "dp1")
        ranks(4, ["--pp-schedule", "gpipe", "--pp-stages", "2", "--dp-replicas", "2",
                  "--micro-batches", "2", "--epochs", "1", "--output-dir", first], b="16",
              limit="32")
        assert epochs(single + "1")[0]["train_loss"] == epochs(first)[0]["train_loss"]
        print(f"2 x 2 ranks: train loss {b['train_loss']:.9f} against {a['train_loss']:.9f} for "
              "one pipeline of 4 micro-batches over 4 steps; the first step's the same bits")
        # pipedream with two replicas: each step averages one micro-batch of each replica.
        # Traced: one trace of the job, written by rank 0.
        pd = os.path.join(d, "dp-pipedream")
        trace = os.path.join(d, "job-trace.json")
        ranks(4, ["--pp-stages", "2", "--dp-replicas", "2", "--epochs", "1", "--output-dir", pd,
                  "--trace", trace], b="16", limit="128")
        assert epochs(pd)[0]["step"] == 4, epochs(pd)
        check_job_trace(trace, ranks=4, stages=2, replicas=2, micro_batches=4)
        check_step_records(pd, stages=2)

        # A NaN loss on the last stage's rank: every rank ends, non-zero, within seconds
        # (the launcher stops the others), and the failing rank is named once.
        p, took = ranks(2, ["--pp-stages", "2", "--epochs", "1",
                            "--output-dir", os.path.join(d, "nan")], expect_ok=False, lr="1e30")
        # mpirun's own MPI_ABORT banner (a block between dashed rules) shares the stream;
        # it is left out so only the ranks' own lines are counted.
        ranks_own = re.sub(r"-{20,}\n.*?-{20,}\n", "", p.stderr, flags=re.S)
        assert ranks_own.count("augur: rank 1 (stage 1, replica 0) failed: loss became") == 1, \
            p.stderr
        assert took < 30, f"the failed job took {took:.0f} s to end"
        print(f"NaN on rank 1: the job ended in {took:.1f} s, exit {p.returncode}")

        # Three processes for two stages: refused before any work, naming both counts.
        p, _ = ranks(3, ["--pp-stages", "2", "--output-dir", os.path.join(d, "bad")],
                     expect_ok=False)
        assert "3 processes" in p.stderr and "--pp-stages 2" in p.stderr, p.stderr
        print("3 processes for 2 stages: refused")

        # The synchronous cool-down changes the micro-batches' shape mid-run: one process
        # only, refused before any work, naming the flag.
        p, _ = ranks(2, ["--pp-stages", "2", "--epochs", "2", "--sync-cooldown-epochs", "1",
                         "--output-dir", os.path.join(d, "cooldown")], expect_ok=False)
        assert "--sync-cooldown-epochs runs in one process" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(d, "cooldown", "metrics.jsonl"))
        print("--sync-cooldown-epochs across processes: refused")

        # torchrun's variables on CPU ranks: refused before any work, pointing to mpirun
        # (torchrun-style launches carry GPU ranks over NCCL).
        env = dict(ENV, RANK="0", WORLD_SIZE="2", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                   MASTER_PORT="29500")
        p = subprocess.run([AUGUR] + SMALL + ["--pp-stages", "2", "--output-dir",
                                              os.path.join(d, "torchrun")],
                           capture_output=True, text=True, env=env, timeout=LIMIT)
        assert p.returncode != 0 and "torchrun" in p.stderr and "mpirun" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(d, "torchrun", "metrics.jsonl"))
        print("torchrun's variables with CPU ranks: refused")


if __name__ == "__main__":
    main()
