#!/usr/bin/python3
"""Writes the seed corpora in tests/fuzz/corpus/<harness>/: small valid inputs of each format
and a few damaged ones, each a few hundred bytes to a few kilobytes (libFuzzer mutates small
inputs fastest). Run again only to change the seeds; crash regressions found by fuzzing are
added beside them by hand (named regression-*).

    make_seeds.py [AUGUR_BUILD_DIR]   (the build's fuzz_checkpoint writes its own seed)
"""
import gzip
import io
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: name -> (dtype, shape, bytes)"""
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def jpeg(w, h, mode="RGB", **kw):
    from PIL import Image
    im = Image.new(mode, (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (x * 16 % 256, y * 16 % 256, 128) if mode == "RGB" else (x * y) % 256
    b = io.BytesIO()
    im.save(b, "JPEG", **kw)
    return b.getvalue()


def main():
    # safetensors (weights): resnet20's stem under torchvision names, and damaged headers.
    stem = {"conv1.weight": ("F32", [16, 3, 3, 3], f32([0.01] * 432)),
            "bn1.weight": ("F32", [16], f32([1.0] * 16)),
            "bn1.bias": ("F32", [16], f32([0.0] * 16)),
            "bn1.num_batches_tracked": ("I64", [], struct.pack("<q", 3))}
    put("safetensors", "stem", safetensors(stem, {"format": "pt"}))
    put("safetensors", "scalar", safetensors({"x": ("F64", [1], struct.pack("<d", 1.5))}))
    put("safetensors", "bad-offsets", b"\x30\0\0\0\0\0\0\0" +
        b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,99]}}'[:48])
    put("safetensors", "huge-dims", safetensors({"w": ("F32", [2**62, 4], b"")}))
    # batch (augur step)
    put("batch", "one", safetensors({"images": ("F32", [1, 1, 2, 2], f32([0.1, 0.2, 0.3, 0.4])),
                                     "labels": ("I64", [1], struct.pack("<q", 0))}))
    put("batch", "empty-dim", safetensors({"images": ("F32", [1, 0, 2, 2], b""),
                                           "labels": ("I64", [1], struct.pack("<q", 0))}))
    # IDX: first byte 0 plain, 1 gzipped by the harness, 2 a gzip stream as given.
    images = struct.pack(">IIII", 0x803, 2, 2, 2) + bytes(range(8))
    labels = struct.pack(">II", 0x801, 3) + bytes([1, 2, 3])
    for name, body in (("images", images), ("labels", labels)):
        put("idx", name + "-plain", b"\0" + body)
        put("idx", name + "-gz", b"\1" + body)
        put("idx", name + "-stream", b"\2" + gzip.compress(body))
    put("idx", "truncated", b"\0" + images[:-3])
    # CIFAR: one record, and one cut short.
    record = bytes([7]) + bytes(i % 256 for i in range(3072))
    put("cifar", "one-record", record)
    put("cifar", "two-records", record + bytes([2]) + bytes(3072))
    put("cifar", "short", record[:100])
    # JPEG: RGB, greyscale, progressive, and one cut short.
    put("jpeg", "rgb", jpeg(8, 8))
    put("jpeg", "grey", jpeg(8, 4, "L"))
    put("jpeg", "progressive", jpeg(16, 8, progressive=True))
    put("jpeg", "cut", jpeg(8, 8)[:120])
    # Image folders: NUL-separated (path, bytes) pairs.
    tiny = jpeg(4, 4)
    put("image_folder", "two-classes", b"\0".join([
        b"train/cat/a.jpg", tiny, b"train/dog/b.jpg", tiny, b"val/cat/c.jpg", tiny]))
    put("image_folder", "unknown-val-class", b"\0".join([
        b"train/cat/a.jpg", tiny, b"val/eel/c.jpg", tiny]))
    # TOML config files.
    put("config", "train", '[train]\ndataset = "synthetic"\nimage-size = 16\nlimit-train = 64\n'
        'batch-size = 32\npp-stages = 2\nlr = 0.05\nweight-policy = "stash"\n'
        'lr-milestones = "30,60"\n')
    put("config", "eval", '[eval]\nweights = "model.safetensors"\nlimit-test = 8\n')
    put("config", "bad-line", '[train]\nlr = \n"unterminated\n')
    # Profiles: a measured one, trimmed.
    with open(os.path.join(HERE, "..", "..", "bench", "profiles",
                           "resnet20-28px-b8-h100.json")) as f:
        put("profile", "resnet20", f.read())
    put("profile", "not-json", "{\"units\": [1, 2")
    # Schedules in text form.
    put("schedule", "1f1b-lowered", "0F0 0SA0 0RG0 0B0 0U\n1RA0 1F0 1B0 1SG0 1U\n")
    put("schedule", "gpipe", "0F0 0F1 0B0 0B1 0U\n1F0 1F1 1B0 1B1 1U\n")
    put("schedule", "empty-line", "0F0\n\n2F0\n")
    # List flags: first byte = stages << 2 | flag (0 balance, 1 split-at, 2 devices, 3 milestones).
    put("flags", "balance", bytes([3 << 2 | 0]) + b"3,3,4")
    put("flags", "split-at", bytes([2 << 2 | 1]) + b"layer2.0")
    put("flags", "devices", bytes([2 << 2 | 2]) + b"cpu,cuda:0")
    put("flags", "milestones", bytes([3]) + b"30,60,80")
    # Checkpoints: written by the harness's own engine through save_checkpoint.
    if len(sys.argv) > 1:
        exe = os.path.join(sys.argv[1], "tests", "fuzz", "fuzz_checkpoint")
        os.makedirs(os.path.join(OUT, "checkpoint"), exist_ok=True)
        subprocess.run([exe], check=True, env=dict(
            os.environ, AUGUR_FUZZ_WRITE_SEED=os.path.join(OUT, "checkpoint", "two-stages")))


if __name__ == "__main__":
    main()
