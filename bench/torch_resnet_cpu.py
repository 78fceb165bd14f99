#!/usr/bin/env python3
"""The peer of bench_resnet_cpu: the same training loop in PyTorch on the CPU.

torchvision's ResNet-50 with 10 classes at 32x32, batch 32, forward + cross-entropy + backward
+ SGD (momentum 0.9, weight decay 5e-4, lr 0.01, zero_grad each step) on a fixed synthetic
batch, torch.set_num_threads(threads). Both memory layouts are measured (contiguous NCHW and
channels_last) and the faster one is the peer; the last line is

    torch: <img/s> img/s (<layout>); best step <img/s> img/s

(the median step, and the fastest step of either layout), which bench/compare_resnet_cpu.sh
reads. Run it with Debian's interpreter (/usr/bin/python3, python3-torch and
python3-torchvision).

--model resnet20|32|44|56|110 builds He et al.'s CIFAR ResNet as Augur's models/resnet_spec.cpp
does (3x3 stem of 16 channels, three groups of basic blocks at 16/32/64 channels, a 1x1
convolution + BatchNorm shortcut where the shape changes, global average pool, linear head),
from torchvision's BasicBlock; --channels sets the input channels (1 for Fashion-MNIST).
"""
import argparse
import statistics
import sys
import time

import torch
import torchvision


CIFAR_DEPTHS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}


class CifarResNet(torch.nn.Module):
    def __init__(self, blocks, classes, channels):
        super().__init__()
        nn = torch.nn
        block = torchvision.models.resnet.BasicBlock
        self.stem = nn.Sequential(nn.Conv2d(channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU(inplace=True))
        layers, width_in = [], 16
        for g, width in enumerate((16, 32, 64)):
            for b in range(blocks):
                stride = 2 if b == 0 and g > 0 else 1
                down = None
                if stride != 1 or width_in != width:
                    down = nn.Sequential(nn.Conv2d(width_in, width, 1, stride, bias=False),
                                         nn.BatchNorm2d(width))
                layers.append(block(width_in, width, stride, down))
                width_in = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(args):
    if args.model in CIFAR_DEPTHS:
        return CifarResNet(CIFAR_DEPTHS[args.model], args.classes, args.channels)
    if args.channels != 3:
        sys.exit("--channels other than 3 needs a CIFAR ResNet (resnet20|32|44|56|110)")
    return getattr(torchvision.models, args.model)(num_classes=args.classes)


def measure(layout, args):
    torch.manual_seed(0)
    model = build(args).to(args.device)
    x = torch.randn(args.batch, args.channels, args.size, args.size, device=args.device)
    labels = torch.arange(args.batch, device=args.device) % args.classes
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        # --bf16: PyTorch's mixed precision, the peer of Augur's --bf16 (f32 master weights,
        # bf16 convolutions and GEMMs, BatchNorm in f32).
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = loss_fn(model(x), labels)
        loss.backward()
        opt.step()
        return loss.item()  # waits for the step on a GPU too

    losses = [step() for _ in range(args.warmup)]
    seconds = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        losses.append(step())
        seconds.append(time.perf_counter() - t0)
    if not all(map(lambda v: v == v and abs(v) != float("inf"), losses)):
        sys.exit(f"torch {layout}: non-finite loss")
    med = statistics.median(seconds)
    print(f"torch {layout}: {args.batch / med:.1f} img/s (median step {med * 1e3:.1f} ms over "
          f"{args.steps} steps; fastest {min(seconds) * 1e3:.1f} ms, slowest "
          f"{max(seconds) * 1e3:.1f} ms; loss {losses[0]:.4f} -> {losses[-1]:.4f})", flush=True)
    return args.batch / med, args.batch / min(seconds)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet50")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--layout", choices=["both", "nchw", "channels_last"], default="both")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the peer of --device cuda:N)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 (the peer of --tf32)")
    p.add_argument("--bf16", action="store_true",
                   help="torch.autocast(bfloat16) (the peer of --bf16)")
    args = p.parse_args()
    if args.device.startswith("cuda"):
        # Augur computes in true f32 unless --tf32: PyTorch does the same arithmetic.
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True  # Augur also picks its conv algorithms by timing
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn "
          f"{torch.backends.mkldnn.is_available()}")
    layouts = ["nchw", "channels_last"] if args.layout == "both" else [args.layout]
    results = {layout: measure(layout, args) for layout in layouts}
    best = max(results, key=lambda layout: results[layout][0])
    fastest = max(r[1] for r in results.values())
    print(f"torch: {results[best][0]:.1f} img/s ({best}); best step {fastest:.1f} img/s")


if __name__ == "__main__":
    main()
