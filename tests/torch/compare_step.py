#!/usr/bin/python3
"""Compares `augur step` with PyTorch + torchvision on the same weights and batch: logits,
loss, every parameter gradient and the running statistics after one training step; and
loads Augur's exported state_dict back into torchvision. Exits 77 (skipped) when PyTorch or
torchvision is not installed.

    compare_step.py AUGUR MODEL IMAGE_SIZE BATCH CLASSES IN_CHANNELS f32|f64 [OPTIMIZER STEPS]

With OPTIMIZER (sgd, sgd-nesterov or adamw) and STEPS, both run STEPS optimizer steps on the
batch (lr 0.05, momentum 0.9, weight decay 1e-3) and the loss of every step and the final
parameters and buffers are compared, with the tolerances scaled by the number of steps.
Multi-step runs are compared in f64 only: in f32 the ~1e-6 differences of one step (ReLU
flips included) are amplified by every update, which is the dynamics of training, not an
error of either implementation.

Tolerances: each conv/linear output is a sum of K products with unit roundoff u;
independent implementations differ by about u*sqrt(K) relative per layer (random rounding),
and the errors of L layers on a path add at most linearly. We allow 4 * L * u * sqrt(Kmax)
in relative Frobenius norm (twice that for gradients, which pass forward and backward): L
counts conv and linear layers, Kmax is the largest reduction length in the model.

Why two precisions. In f32 the activations of the two implementations differ by ~1e-6
relative, so a ReLU input within that distance of zero can fall on different sides of the
kink; the gradient then takes a different path through that one unit, and in a deep network
(ResNet-34/50 at 64x64 has ~10^6 ReLU inputs) that happens a few times per batch and moves
gradients by ~1% -- a property of f32 ReLU networks, not an error of either side (PyTorch's
own f32 and f64 gradients differ the same way when it happens). So:
  f64: Augur's CPU reference runs in double (`--dtype f64`) against PyTorch in double, and
       everything is compared: u is 2^-53, plus one f32 rounding of Augur's written outputs.
  f32: Augur in f32 against PyTorch in f32: logits, loss and running statistics always;
       gradients only for networks whose few ReLU inputs make a flip improbable."""
import math
import os
import subprocess
import sys
import tempfile

try:
    import torch
    import torchvision
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

U = 2.0 ** -24


def cifar_resnet(depth, num_classes, in_channels):
    """He et al.'s CIFAR ResNet with projection shortcuts, named like torchvision."""
    from torchvision.models.resnet import BasicBlock, ResNet
    import torch.nn as nn
    n = (depth - 2) // 6
    model = ResNet(BasicBlock, [n, n, n, 1], num_classes=num_classes)
    model.inplanes = 16
    model.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
    model.bn1 = nn.BatchNorm2d(16)
    model.maxpool = nn.Identity()
    model.layer1 = model._make_layer(BasicBlock, 16, n)
    model.layer2 = model._make_layer(BasicBlock, 32, n, stride=2)
    model.layer3 = model._make_layer(BasicBlock, 64, n, stride=2)
    model.layer4 = nn.Identity()
    model.fc = nn.Linear(64, num_classes)
    return model


def build(name, num_classes, in_channels):
    if name in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110"):
        return cifar_resnet(int(name[6:]), num_classes, in_channels)
    m = getattr(torchvision.models, name)(num_classes=num_classes)
    if in_channels != 3:
        m.conv1 = torch.nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    return m


def rel_err(a, b):
    a, b = a.double(), b.double()
    return float((a - b).norm() / max(b.norm(), 1e-30))


def main():
    augur, name, size, batch, classes, in_ch = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
    precision = sys.argv[7] if len(sys.argv) > 7 else "f32"
    double = precision == "f64"
    optimizer = sys.argv[8] if len(sys.argv) > 8 else None
    steps = int(sys.argv[9]) if len(sys.argv) > 9 else 0
    torch.manual_seed(0)
    model = build(name, classes, in_ch)
    # Non-trivial BN parameters and statistics, so their handling is exercised.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    layers = len(convs)
    kmax = max(m.weight[0].numel() for m in convs)
    u = 2.0 ** -53 if double else U
    # f64: Augur writes f32 files, so each output carries one more f32 rounding (U relative).
    tol_fwd = 4 * layers * u * math.sqrt(kmax) + (2 * U if double else 0)
    tol_bwd = 2 * tol_fwd
    if steps:
        tol_fwd *= steps + 1
        tol_bwd *= steps + 1
    # f32 gradients are compared where flips are improbable: fewer than 2^17 ReLU inputs.
    relu_inputs = batch * sum(m.weight.shape[0] for m in convs[:-1]) * (size // 4) ** 2
    check_grads = double or relu_inputs < 2 ** 17

    images = torch.randn(batch, in_ch, size, size)
    labels = torch.randint(0, classes, (batch,))
    with tempfile.TemporaryDirectory() as d:
        w_path, b_path, o_path = (os.path.join(d, f) for f in ("w.st", "b.st", "o.st"))
        safetensors_io.save(model.state_dict(), w_path)
        safetensors_io.save({"images": images, "labels": labels}, b_path)
        subprocess.run([augur, "step", "--model", name, "--num-classes", str(classes),
                        "--weights", w_path, "--batch", b_path, "--out", o_path, "--dtype", precision]
                       + (["--steps", str(steps), "--lr", "0.05", "--wd", "1e-3",
                           "--optimizer", "adamw" if optimizer == "adamw" else "sgd"]
                          + (["--nesterov"] if optimizer == "sgd-nesterov" else [])
                          + (["--momentum", "0.9"] if optimizer != "adamw" else [])
                          if steps else []),
                       check=True)
        out = safetensors_io.load(o_path)

        if double:
            model = model.double()
        model.train()
        x = images.double() if double else images
        if steps:
            if optimizer == "adamw":
                opt = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=1e-3)
            else:
                opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                                      weight_decay=1e-3, nesterov=optimizer == "sgd-nesterov")
            losses = []
            for _ in range(steps):
                opt.zero_grad()
                logits = model(x)
                loss = torch.nn.functional.cross_entropy(logits, labels)
                loss.backward()
                grads = {n: p.grad.clone() for n, p in model.named_parameters()}
                opt.step()
                losses.append(loss.detach())
            loss = torch.stack(losses)
        else:
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits, labels)
            loss.backward()
            grads = {n: p.grad for n, p in model.named_parameters()}

        failures = []

        def check(what, a, b, tol):
            e = rel_err(a, b)
            status = "ok" if e <= tol else "FAIL"
            if status == "FAIL" or what in ("logits", "loss") or os.environ.get("AUGUR_VERBOSE"):
                print(f"  {what:48s} rel err {e:.2e} (tolerance {tol:.2e}) {status}")
            if e > tol:
                failures.append(what)

        print(f"{name} ({precision}): {layers} conv/linear layers, Kmax {kmax}, "
              f"gradients {'compared' if check_grads else 'not compared (ReLU flips, see above)'}")
        check("logits", out["logits"], logits.detach(), tol_fwd)
        check("loss", out["loss"], loss.detach().reshape(-1), tol_fwd)
        if check_grads:
            for pname, p in model.named_parameters():
                check("grad." + pname, out["grad." + pname], grads[pname], tol_bwd)
        if steps:
            for pname, p in model.named_parameters():
                check(pname, out[pname], p.detach(), tol_bwd)
        for bname, buf in model.named_buffers():
            if bname.endswith("num_batches_tracked"):
                if int(out[bname]) != int(buf):
                    failures.append(bname)
            else:
                check(bname, out[bname], buf, tol_fwd)

        # Augur's export loads back into torchvision (strict: every key, every shape).
        seeded = os.path.join(d, "seeded.st")
        subprocess.run([augur, "step", "--model", name, "--num-classes", str(classes),
                        "--batch", b_path, "--out", seeded, "--eval"], check=True,
                       stdout=subprocess.DEVNULL)
        exported = {k: v for k, v in safetensors_io.load(seeded).items()
                    if k not in ("logits", "loss")}
        fresh = build(name, classes, in_ch)
        fresh.load_state_dict(exported, strict=True)
        fresh.eval()
        with torch.no_grad():
            check("eval logits of the exported model", safetensors_io.load(seeded)["logits"],
                  fresh(images), 4 * layers * U * math.sqrt(kmax))
    if failures:
        print(f"{len(failures)} comparisons failed: {', '.join(failures[:10])}")
        return 1
    print(f"{name} ({precision}): every compared tensor within tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
