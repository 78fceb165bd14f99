#!/usr/bin/env python3
"""Plots one or more `augur train` output directories (their metrics.jsonl) into PNGs:
test accuracy and loss per epoch, training loss per step, images/s, and per-stage
staleness and prediction quality. Uses Debian's python3-matplotlib.

    scripts/plot_runs.py RUN_DIR [RUN_DIR ...] --out plots/ [--label NAME ...]
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        sys.exit(f"plot_runs: cannot read {path}: {e}")
    except json.JSONDecodeError as e:
        sys.exit(f"plot_runs: {path} is not JSON lines: {e}")
    return ([r for r in rows if r.get("kind") == "epoch"],
            [r for r in rows if r.get("kind") == "step"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", default="plots")
    ap.add_argument("--label", action="append", help="one per run (default: the folder name)")
    args = ap.parse_args()
    labels = args.label or [os.path.basename(os.path.normpath(r)) for r in args.runs]
    if len(labels) != len(args.runs):
        sys.exit("plot_runs: give one --label per run")
    os.makedirs(args.out, exist_ok=True)
    data = [load(r) for r in args.runs]
    written = []

    def figure(name, title, xlabel, ylabel, series):
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        drawn = False
        for label, xs, ys in series:
            if xs:
                ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=label)
                drawn = True
        if not drawn:
            plt.close(fig)
            return
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        path = os.path.join(args.out, name)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

    figure("accuracy.png", "Test top-1 accuracy", "epoch", "top-1 (%)",
           [(l, [e["epoch"] + 1 for e in ep], [e["top1"] for e in ep]) for l, (ep, _) in zip(labels, data)])
    figure("loss.png", "Test loss", "epoch", "loss",
           [(l, [e["epoch"] + 1 for e in ep], [e["loss"] for e in ep]) for l, (ep, _) in zip(labels, data)])
    figure("train_loss.png", "Training loss", "step", "loss",
           [(l, [s["step"] for s in st], [s["loss"] for s in st]) for l, (_, st) in zip(labels, data)])
    figure("images_per_s.png", "Throughput", "epoch", "images/s",
           [(l, [e["epoch"] + 1 for e in ep], [e["images_per_s"] for e in ep]) for l, (ep, _) in zip(labels, data)])
    figure("staleness.png", "Realised staleness per stage (last epoch)", "stage", "mean staleness",
           [(l, list(range(len(ep[-1]["staleness_per_stage"]))), ep[-1]["staleness_per_stage"])
            for l, (ep, _) in zip(labels, data) if ep])
    figure("quality.png", "Prediction quality per stage (last epoch; 0 = perfect, 1 = stale)",
           "stage", "|W_hat - W(i)| / |W_stale - W(i)|",
           [(l, [i for i, q in enumerate(ep[-1]["quality_per_stage"]) if q is not None],
             [q for q in ep[-1]["quality_per_stage"] if q is not None])
            for l, (ep, _) in zip(labels, data) if ep])
    for p in written:
        print(p)


if __name__ == "__main__":
    main()
