#!/usr/bin/env python3
"""End-to-end checks of `augur train` and `augur eval` through the command line, on small
synthetic data: resuming gives identical results, a failed checkpoint write or a NaN loss
leaves the last checkpoint intact, bad flags are refused naming them, --config works, an
output folder holding another run (or in use by one) is refused or replaced on request.

    test_train_cli.py AUGUR CASE
"""
import fcntl
import hashlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
import tempfile

from augur_cli import run_augur, tensors  # noqa: E402 (beside this script)

AUGUR = sys.argv[1]
SMALL = ["train", "--dataset", "synthetic", "--image-size", "16", "--limit-train", "256",
         "--limit-test", "128", "-b", "32", "--pp-stages", "2", "--print-freq", "4", "-j", "1",
         "--lr", "0.05"]


def run(args, expect_ok=True):
    return run_augur(AUGUR, args, expect_ok)


def run_limited(args, max_file_bytes):
    """`augur args` that may not write a file larger than `max_file_bytes`; must fail."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG rather than a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    p = subprocess.run([AUGUR] + args, capture_output=True, text=True, preexec_fn=limit)
    assert p.returncode != 0, f"augur {' '.join(args)} should have failed:\n{p.stderr}"
    return p


def epochs(path):
    with open(os.path.join(path, "metrics.jsonl")) as f:
        return [r for r in map(json.loads, f) if r["kind"] == "epoch"]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def case_resume(d):
    for predictor in ("nesterov", "linear"):
        resume_once(os.path.join(d, predictor), ["--predictor", predictor])


def resume_once(d, extra, eval_extra=()):
    # An uninterrupted 2-epoch run, and one "interrupted" after epoch 0: resumed from the
    # epoch-0 checkpoint (model_0 is written together with it and holds the same state).
    # The linear predictor also keeps the last step's gradient across the resumption.
    full, part = os.path.join(d, "full"), os.path.join(d, "part")
    run(SMALL + extra + ["--epochs", "2", "--output-dir", full])
    run(SMALL + extra + ["--epochs", "2", "--output-dir", part, "--resume",
                         os.path.join(full, "model_0.safetensors")])
    a, b = epochs(full)[1:], epochs(part)
    assert len(a) == 1 and len(b) == 1, (a, b)
    for ra, rb in zip(a, b):
        for k in ("loss", "top1", "top5", "train_loss", "lr", "step"):
            assert ra[k] == rb[k], f"epoch {ra['epoch']}: {k} {ra[k]} != {rb[k]}"
    assert tensors(os.path.join(full, "model_1.safetensors")) == \
        tensors(os.path.join(part, "model_1.safetensors")), "final weights differ"
    # eval on the checkpoint reproduces the last epoch's test accuracy
    p = run(["eval", "--weights", os.path.join(full, "model_1.safetensors"), "--dataset",
             "synthetic", "--image-size", "16", "--limit-test", "128", "-j", "1"] +
            list(eval_extra))
    assert f"top-1 {a[-1]['top1']:.2f}%" in p.stdout, (p.stdout, a[-1])


def header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))


def write_batch(path, n, c, side):
    """A safetensors batch for `augur step`: seeded images F32 [n, c, side, side], labels."""
    rng = random.Random(5)
    images = struct.pack("<%df" % (n * c * side * side),
                         *[rng.uniform(-1, 1) for _ in range(n * c * side * side)])
    labels = struct.pack("<%dq" % n, *[i % 10 for i in range(n)])
    head = json.dumps({
        "images": {"dtype": "F32", "shape": [n, c, side, side],
                   "data_offsets": [0, len(images)]},
        "labels": {"dtype": "I64", "shape": [n],
                   "data_offsets": [len(images), len(images) + len(labels)]}}).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + images + labels)


def case_precision(d):
    # bf16 (CPU emulation): resuming is exact, eval in bf16 reproduces the test accuracy, the
    # checkpoint holds f32 master weights, and args.json records the precision that ran.
    bf16 = ["--precision", "bf16"]
    resume_once(os.path.join(d, "bf16"), bf16, eval_extra=bf16)
    full = os.path.join(d, "bf16", "full")
    with open(os.path.join(full, "args.json")) as f:
        assert json.load(f)["precision"] == "bf16"
    h = header(os.path.join(full, "model_1.safetensors"))
    dtypes = {v["dtype"] for k, v in h.items() if k != "__metadata__"}
    assert dtypes <= {"F32", "I64"} and "F32" in dtypes, dtypes
    # The same run in fp32 (auto on the CPU) trains differently: bf16 really computed.
    f32 = os.path.join(d, "fp32")
    run(SMALL + ["--epochs", "2", "--output-dir", f32, "--cudnn-benchmark", "--nondeterministic"])
    with open(os.path.join(f32, "args.json")) as f:
        recorded = json.load(f)
    assert recorded["precision"] == "fp32", recorded
    assert recorded["cudnn_benchmark"] and recorded["nondeterministic"], recorded
    assert tensors(os.path.join(full, "model_1.safetensors")) != \
        tensors(os.path.join(f32, "model_1.safetensors"))
    # (How close bf16 training comes to fp32 is the accuracy study's question, with seeds:
    # bench/staleness/run_study.py --preset bf16-accuracy.)
    # `augur step --precision bf16`: gradients and master weights written in f32, logits
    # computed in bf16 (not the fp32 step's), the precision in the file's metadata.
    batch = os.path.join(d, "batch.safetensors")
    write_batch(batch, 4, 3, 16)
    outs = {}
    for prec in ("fp32", "bf16"):
        outs[prec] = os.path.join(d, "step-%s.safetensors" % prec)
        run(["step", "--model", "resnet20", "--batch", batch, "--out", outs[prec],
             "--precision", prec, "--steps", "2"])
    h = header(outs["bf16"])
    assert h["__metadata__"]["precision"] == "bf16", h["__metadata__"]
    assert {v["dtype"] for k, v in h.items() if k != "__metadata__"} == {"F32", "I64"}
    assert tensors(outs["bf16"]) != tensors(outs["fp32"])
    # Refusals name the flag.
    for args, needle in [
            (["--precision", "tf32"], "--precision tf32: TF32 is a GPU tensor-core mode"),
            (["--precision", "fp16"], "--precision"),
            (["--precision", "bf16", "--device", "cuda:0"], "cuda:0")]:
        p = run(SMALL + args + ["--output-dir", os.path.join(d, "x")], expect_ok=False)
        assert needle in p.stderr, (args, p.stderr)
        assert not os.path.exists(os.path.join(d, "x", "metrics.jsonl"))


def case_failures(d):
    out = os.path.join(d, "run")
    run(SMALL + ["--epochs", "1", "--output-dir", out])
    ckpt = os.path.join(out, "checkpoint.safetensors")
    before = digest(ckpt)
    # A checkpoint write that fails midway: files may grow to 64 KiB only (the kernel's
    # RLIMIT_FSIZE, EFBIG as a full disk gives ENOSPC), the checkpoint is larger.
    p = run_limited(SMALL + ["--epochs", "2", "--output-dir", out, "--resume", ckpt], 64 << 10)
    assert "checkpoint.safetensors" in p.stderr and "unchanged" in p.stderr, p.stderr
    assert digest(ckpt) == before, "the previous checkpoint changed"
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")], os.listdir(out)
    # A NaN loss stops training with a clear message; the checkpoint stays as it was.
    p = run([a if a != "0.05" else "1e12" for a in SMALL] +
            ["--epochs", "2", "--output-dir", out, "--resume", ckpt], expect_ok=False)
    assert "loss became" in p.stderr and "intact" in p.stderr, p.stderr
    assert digest(ckpt) == before, "the checkpoint changed after a NaN loss"
    run(["eval", "--weights", ckpt, "--dataset", "synthetic", "--image-size", "16",
         "--limit-test", "64", "-j", "1"])


def case_flags(d):
    bad = [
        (["train", "--no-such-flag"], "--no-such-flag"),
        (["train", "--pp-schedule", "warp"], "--pp-schedule"),
        (["train", "--balance", "3,3", "--split-at", "layer2.0"], "--balance and --split-at"),
        (["train", "--pp-schedule", "sequential", "--pp-stages", "2"], "--pp-stages"),
        (["train", "--pp-schedule", "gpipe", "-b", "10", "--micro-batches", "4"],
         "--micro-batches"),
        (["train", "--device", "cpu", "--devices", "cpu,cpu"], "--devices"),
        (["train", "--device", "gpu:0"], "gpu:0"),
        (["train", "--dataset", "cifar10", "--data-path", os.path.join(d, "missing")], "missing"),
        (["train", "--lr", "-1"], "--lr: must be a positive number, got '-1'"),
        # NaN refused by name; ranges said in words, limits named, no 310-digit bounds.
        (["train", "--lr", "nan"], "--lr: must be a finite number, got 'nan'"),
        (["train", "--momentum", "NaN"], "--momentum: must be a finite number"),
        (["train", "--epochs", "0"], "--epochs: must be a positive integer, got '0'"),
        (["train", "-b", "2147483647"], "must be a positive integer of at most 1048576"),
        (["train", "--image-size", "2147483647"], "--image-size: must be a non-negative integer "
         "of at most 8192"),
        (["train", "--seed", "-1"], "--seed: must be a non-negative integer below 2^64"),
        (["train", "--lr-scheduler", "multistep", "--lr-milestones", "abc"],
         "--lr-milestones: 'abc'"),
        (["train", "--lr-scheduler", "multistep", "--lr-milestones", "3333333333333333333"],
         "--lr-milestones: 3333333333333333333 is over the limit of 1000000 epochs"),
        (["train", "--spike-compensation", "--nesterov"],
         "--spike-compensation and --nesterov are two forms of one update"),
        (["train", "--stage-momentum-max", "0.5"],
         "--stage-momentum-max: must be at least --momentum"),
        (["train", "--optimizer", "adamw", "--predictor", "linear",
          "--momentum-bias-correction"], "model SGD with momentum"),
        (["train", "--optimizer", "adamw"],
         "--predictor nesterov with --optimizer adamw: that predictor models SGD"),
        (["simulate", "--pp-schedule", "gpipe", "--micro-batches", "2147483647"],
         "--micro-batches: must be a positive integer of at most 65536"),
        (["info", "--model", "resnet20", "--num-classes", "2147483647"],
         "--num-classes: must be a positive integer of at most 100000"),
    ]
    for args, needle in bad:
        extra = ["--output-dir", os.path.join(d, "x")] if args[0] == "train" else []
        p = run(args + extra, expect_ok=False)
        text = p.stdout + p.stderr
        assert needle in text, f"{args}: {needle!r} not in {text!r}"
        # A user's mistake is told in the user's terms: no check expression, no source path.
        assert ".cpp:" not in text, text
        assert "e+308" not in text and "1797693134862315" not in text, text


def case_outdir(d):
    # A folder that holds a run is refused, the earlier run left as it was.
    out = os.path.join(d, "o")
    run(SMALL + ["--epochs", "2", "--output-dir", out])
    metrics = os.path.join(out, "metrics.jsonl")
    before = digest(metrics)
    p = run(SMALL + ["--epochs", "1", "--output-dir", out], expect_ok=False)
    assert "holds another run" in p.stderr and "--overwrite" in p.stderr and \
        "--resume" in p.stderr, p.stderr
    assert digest(metrics) == before, "the earlier run's metrics changed"
    # --overwrite replaces it whole: no model_1 of the old run beside the new run's model_0.
    run(SMALL + ["--epochs", "1", "--output-dir", out, "--overwrite"])
    assert not os.path.exists(os.path.join(out, "model_1.safetensors"))
    assert len(epochs(out)) == 1, epochs(out)
    # A second run while one writes there: refused, naming the holder (the lock taken here
    # as a run takes it).
    with open(os.path.join(out, ".augur.lock"), "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.seek(0)
        lock.truncate()
        lock.write("424242")
        lock.flush()
        p = run(SMALL + ["--epochs", "1", "--output-dir", out, "--overwrite"], expect_ok=False)
        assert "in use by another augur run (process 424242)" in p.stderr, p.stderr
    # The default folder moves on to the next free one, and says so.
    cwd = os.getcwd()
    os.chdir(d)
    try:
        run(SMALL + ["--epochs", "1"])
        p = run(SMALL + ["--epochs", "1"])
        assert "writing to 'runs/default-1' instead" in p.stderr, p.stderr
        with open(os.path.join("runs", "default-1", "args.json")) as f:
            assert json.load(f)["output_dir"] == "runs/default-1"
        assert len(epochs(os.path.join("runs", "default"))) == 1
    finally:
        os.chdir(cwd)


def rewrite_checkpoint(src, dst, metadata=None, nan_in=None):
    """A copy of a safetensors checkpoint with metadata fields replaced, or a NaN written
    into the first value of tensor `nan_in`."""
    with open(src, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    if metadata:
        header["__metadata__"].update(metadata)
    if nan_in:
        begin = header[nan_in]["data_offsets"][0]
        data[begin:begin + 4] = struct.pack("<f", float("nan"))
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(dst, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + bytes(data))


def case_checkpoint(d):
    # Training state read from a checkpoint is checked against the run before it is trusted.
    out = os.path.join(d, "run")
    run(SMALL + ["--epochs", "1", "--output-dir", out])
    ckpt = os.path.join(out, "checkpoint.safetensors")
    bad = os.path.join(d, "bad.safetensors")
    cases = [
        ({"augur.epoch": "-1000000"}, "is not a count"),
        ({"augur.epoch": "1junk"}, "is not a count"),
        ({"augur.steps_done": "99999999999999999999"}, "is not a count"),
        ({"augur.steps_done": "3"}, "do not fit epoch 1"),
    ]
    for meta, needle in cases:
        rewrite_checkpoint(ckpt, bad, metadata=meta)
        p = run(SMALL + ["--epochs", "3", "--output-dir", os.path.join(d, "r"), "--resume", bad],
                expect_ok=False)
        assert needle in p.stderr and bad in p.stderr, (meta, p.stderr)
    # A finished run: nothing to train, said so, non-zero.
    p = run(SMALL + ["--epochs", "1", "--output-dir", out, "--resume", ckpt], expect_ok=False)
    assert "nothing is left to train" in p.stderr, p.stderr
    # NaN weights: refused by --resume and by eval, naming the file.
    rewrite_checkpoint(ckpt, bad, nan_in="conv1.weight")
    p = run(SMALL + ["--epochs", "2", "--output-dir", os.path.join(d, "n"), "--resume", bad],
            expect_ok=False)
    assert "NaN or infinity" in p.stderr and bad in p.stderr, p.stderr
    p = run(["eval", "--weights", bad, "--dataset", "synthetic", "--image-size", "16",
             "--limit-test", "64", "-j", "1"], expect_ok=False)
    assert "NaN or infinity" in p.stderr and bad in p.stderr, p.stderr
    # The untouched checkpoint still resumes.
    run(SMALL + ["--epochs", "2", "--output-dir", out, "--resume", ckpt])


def started(args):
    return subprocess.Popen([AUGUR] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(path, job):
    deadline = time.monotonic() + 120
    while not os.path.exists(path):
        assert job.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, f"no {path}"
        time.sleep(0.005)


def case_midepoch(d):
    # Checkpoints inside an epoch resume exactly: a run stopped by SIGINT, or killed with
    # SIGKILL, and resumed from its last checkpoint ends with the uninterrupted run's weights,
    # for gpipe (a checkpoint every 3 of 8 steps an epoch) and pipedream (segments of 3 steps).
    for schedule in ("gpipe", "pipedream"):
        args = SMALL + ["--pp-schedule", schedule, "--micro-batches", "2", "--epochs", "2",
                        "--checkpoint-every", "3"]
        whole = os.path.join(d, schedule + "-whole")
        run(args + ["--output-dir", whole])
        final = tensors(os.path.join(whole, "checkpoint.safetensors"))
        for how in ("SIGINT", "SIGKILL"):
            out = os.path.join(d, f"{schedule}-{how}")
            ckpt = os.path.join(out, "checkpoint.safetensors")
            job = started(args + ["--output-dir", out])
            wait_for(ckpt, job)
            if how == "SIGKILL":
                time.sleep(random.uniform(0, 0.3))
            job.send_signal(getattr(signal, how))
            _, err = job.communicate(timeout=120)
            if how == "SIGINT":
                assert job.returncode == 130, (job.returncode, err)
                assert "stopped by SIGINT" in err and "--resume " + ckpt in err, err
            else:
                assert job.returncode == -signal.SIGKILL, (job.returncode, err)
            p = run(args + ["--output-dir", out, "--resume", ckpt])
            assert "resumed from" in p.stderr, p.stderr
            assert tensors(ckpt) == final, f"{schedule}: stopped by {how} and resumed differs"
            print(f"{schedule}: stopped by {how}, resumed: the uninterrupted run's weights")
    # A second signal ends the run at once; the checkpoint on disk stays whole.
    out = os.path.join(d, "twice")
    ckpt = os.path.join(out, "checkpoint.safetensors")
    job = started(SMALL + ["--epochs", "2", "--checkpoint-every", "1", "--pp-schedule", "gpipe",
                           "--output-dir", out])
    wait_for(ckpt, job)
    job.send_signal(signal.SIGINT)
    job.send_signal(signal.SIGINT)
    job.communicate(timeout=60)
    assert job.returncode == 130, job.returncode
    run(["eval", "--weights", ckpt, "--dataset", "synthetic", "--image-size", "16",
         "--limit-test", "64", "-j", "1"])


def mount_tmpfs(path, size):
    """A tmpfs of `size` bytes at `path`, or False where this process may not mount."""
    os.makedirs(path, exist_ok=True)
    return os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
        capture_output=True).returncode == 0


def fill(path, leave):
    """Fills the file system of `path` up to `leave` bytes free."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(os.path.join(path, "filler"), "ab") as f:
        f.write(b"\0" * max(0, free - leave))


def case_faults(d):
    """A full file system and a read-only one: clear errors, before training where that can
    be known, and the previous checkpoint never touched."""
    disk = os.path.join(d, "disk")
    if not mount_tmpfs(disk, 16 << 20):
        print("faults: needs root to mount a tmpfs; skipped")
        sys.exit(77)
    try:
        out = os.path.join(disk, "run")
        run(SMALL + ["--epochs", "1", "--output-dir", out])
        ckpt = os.path.join(out, "checkpoint.safetensors")
        before = digest(ckpt)
        size = os.path.getsize(ckpt)
        metrics = os.path.join(out, "metrics.jsonl")
        metrics_before = digest(metrics)
        resume = SMALL + ["--epochs", "2", "--output-dir", out, "--resume", ckpt]
        # Too little room for the next checkpoint: refused before the first step.
        fill(disk, size)
        p = run(resume, expect_ok=False)
        assert "free" in p.stderr and out in p.stderr and "needs" in p.stderr, p.stderr
        assert digest(metrics) == metrics_before, "it trained before refusing"
        assert digest(ckpt) == before
        # Full to the last block: the run's first write (args.json) fails, naming it.
        fill(disk, 0)
        p = run(resume, expect_ok=False)
        assert "args.json" in p.stderr or "free" in p.stderr, p.stderr
        assert digest(ckpt) == before
        os.remove(os.path.join(disk, "filler"))
        # Read-only: the lock cannot be taken, said before anything else.
        subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
        p = run(resume, expect_ok=False)
        assert out in p.stderr and "Read-only file system" in p.stderr, p.stderr
        assert digest(ckpt) == before
        subprocess.run(["mount", "-o", "remount,rw", disk], check=True)
        # A trace path that is a symbolic link is written through it, the link kept.
        trace = os.path.join(d, "trace.json")
        link = os.path.join(out, "trace-link.json")
        os.symlink(trace, link)
        run(resume + ["--trace", link])
        assert os.path.islink(link) and json.load(open(trace))["traceEvents"]
    finally:
        subprocess.run(["umount", "-l", disk])


def case_limits(d):
    """A batch far larger than the data set costs only the data set's memory."""
    import resource
    ckpt = os.path.join(d, "m", "checkpoint.safetensors")
    run(SMALL + ["--epochs", "1", "--output-dir", os.path.join(d, "m")])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # -b at its limit: a buffer for 2^20 16x16 RGB images would be 3.2 GB.
    run(["eval", "--weights", ckpt, "--dataset", "synthetic", "--image-size", "16",
         "--limit-test", "16", "-b", "1048576", "-j", "1"])
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    assert peak_mb < 1500, f"eval of 16 images with -b 1048576 peaked at {peak_mb:.0f} MB"


def case_config(d):
    cfg = os.path.join(d, "run.toml")
    out = os.path.join(d, "cfg")
    with open(cfg, "w") as f:
        f.write('[train]\ndataset = "synthetic"\nimage-size = 16\nlimit-train = 64\nlimit-test = 32\n'
                f'batch-size = 32\npp-stages = 2\nworkers = 1\noutput-dir = "{out}"\n'
                'weight-policy = "stash"\n')
    run(["train", "--config", cfg])
    # A key that is no option is refused, naming it.
    with open(cfg, "a") as f:
        f.write("no-such-option = 3\n")
    p = run(["train", "--config", cfg], expect_ok=False)
    text = p.stdout + p.stderr
    assert f"{cfg} line 11: 'no-such-option' is not an option of augur train" in text, text
    # Every config error names the file and line: syntax, sections, values, ranges.
    cases = [
        ('[train]\nlr 0.1\n', "line 2: expected 'key = value'"),
        ('[trian]\n', "line 1: unknown section [trian]"),
        ('[train]\ndataset = synthetic\n', "line 2: 'synthetic' is not a TOML value"),
        ('[train]\nlr = 0.1\nlr = 0.2\n', "line 3: [train] lr is set twice"),
        ('[train]\nname = "open\n', "line 2: a string is not closed"),
        ('[train]\n\nmomentum = nan\n', "line 3: --momentum: must be a finite number"),
        ('lr = 0.1\n', "line 1: 'lr' is not an option of augur "),
    ]
    for body, needle in cases:
        bad = os.path.join(d, "bad.toml")
        with open(bad, "w") as f:
            f.write(body)
        p = run(["train", "--config", bad, "--output-dir", os.path.join(d, "x")], expect_ok=False)
        text = p.stdout + p.stderr
        assert f"{bad} {needle}" in text, f"{body!r}: {needle!r} not in {text!r}"
        assert "INI" not in text, text
    with open(os.path.join(out, "args.json")) as f:
        args = json.load(f)
    assert args["weight_policy"] == "stash" and args["limit_train"] == 64, args


RULES = ["--stage-momentum-max", "0.98", "--momentum-bias-correction",
         "--stage-lr-warmup-steps", "6", "--spike-compensation", "--predictor",
         "constant-gradient", "--pp-schedule", "pipedream"]


def case_rules(d):
    # The staleness rules by stage change the run, are reported as applied, and resume bit
    # for bit: from an epoch's end, and from a mid-epoch checkpoint after SIGKILL.
    resume_once(os.path.join(d, "epoch"), RULES)
    plain = os.path.join(d, "plain")
    run(SMALL + ["--predictor", "constant-gradient", "--epochs", "2", "--output-dir", plain])
    assert tensors(os.path.join(plain, "model_1.safetensors")) != \
        tensors(os.path.join(d, "epoch", "full", "model_1.safetensors")), "the rules did nothing"
    args = SMALL + RULES + ["--epochs", "2", "--checkpoint-every", "3"]
    whole = os.path.join(d, "whole")
    p = run(args + ["--output-dir", whole])
    # K = 2: stage 0 is 1 step stale (mu_0 = 0.9 + 1 * 0.08 / 2 = 0.94), stage 1 fresh.
    assert "staleness rules: stage momentum to 0.98, bias correction, stage warm-up over 6 " \
        "steps, spike compensation; per stage s=1 mu=0.94" in p.stderr, p.stderr
    assert ", s=0 mu=0.9 " in p.stderr, p.stderr
    final = tensors(os.path.join(whole, "checkpoint.safetensors"))
    out = os.path.join(d, "killed")
    ckpt = os.path.join(out, "checkpoint.safetensors")
    job = started(args + ["--output-dir", out])
    wait_for(ckpt, job)
    time.sleep(random.uniform(0, 0.3))
    job.send_signal(signal.SIGKILL)
    job.communicate(timeout=120)
    run(args + ["--output-dir", out, "--resume", ckpt])
    assert tensors(ckpt) == final, "killed and resumed under the staleness rules differs"


def case_cooldown(d):
    # --sync-cooldown-epochs: pipedream's last epoch runs as 1f1b, one step per mini-batch as
    # before (steps and lr go on unchanged). It is the run a user gets by resuming the
    # pipedream checkpoint with --pp-schedule 1f1b: bit for bit the same weights. It resumes
    # exactly itself, and differs from the pipedream run it starts from.
    plain_args = SMALL + ["--predictor", "constant-gradient", "--epochs", "3"]
    base = plain_args + ["--micro-batches", "2"]
    cool = os.path.join(d, "cool")
    p = run(base + ["--sync-cooldown-epochs", "1", "--output-dir", cool])
    assert "epochs 2-2: synchronous cool-down, 1f1b with 2 micro-batches" in p.stderr, p.stderr
    assert "does not apply" not in p.stderr, p.stderr  # --micro-batches applies here
    ep = epochs(cool)
    assert [r["schedule"] for r in ep] == ["pipedream", "pipedream", "1f1b"], ep
    assert [r["step"] for r in ep] == [8, 16, 24], [r["step"] for r in ep]
    plain = os.path.join(d, "plain")
    run(base + ["--output-dir", plain])
    assert [r["lr"] for r in epochs(plain)] == [r["lr"] for r in ep], "the lr schedule moved"
    final = tensors(os.path.join(cool, "model_2.safetensors"))
    assert final != tensors(os.path.join(plain, "model_2.safetensors")), "no cool-down happened"
    assert tensors(os.path.join(cool, "model_1.safetensors")) == \
        tensors(os.path.join(plain, "model_1.safetensors")), "the pipedream epochs differ"
    switched = os.path.join(d, "switched")
    run(base + ["--pp-schedule", "1f1b", "--output-dir", switched, "--resume",
                os.path.join(plain, "model_1.safetensors")])
    assert tensors(os.path.join(switched, "model_2.safetensors")) == final, \
        "the cool-down is not pipedream's checkpoint resumed as 1f1b"
    again = os.path.join(d, "again")
    run(base + ["--sync-cooldown-epochs", "1", "--output-dir", again, "--resume",
                os.path.join(cool, "model_1.safetensors")])
    assert tensors(os.path.join(again, "model_2.safetensors")) == final, "resume differs"
    for extra, needle in [
            (["--sync-cooldown-epochs", "3"], "--sync-cooldown-epochs 3 must be less than "
                                              "--epochs 3"),
            (["--sync-cooldown-epochs", "1", "--pp-schedule", "gpipe"],
             "--sync-cooldown-epochs ends a pipedream run synchronously"),
            (["--sync-cooldown-epochs", "1", "--micro-batches", "5"],
             "not divisible by --micro-batches 5")]:
        p = run(plain_args + extra + ["--output-dir", os.path.join(d, "bad")], expect_ok=False)
        assert needle in p.stderr, (extra, p.stderr)


def main():
    case = sys.argv[2]
    with tempfile.TemporaryDirectory() as d:
        globals()["case_" + case](d)
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
