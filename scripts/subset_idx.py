#!/usr/bin/env python3
"""Writes the first N training samples and the whole test set of an MNIST-format dataset
(idx files, gzip) to another folder, so a small copy can travel where the full one cannot."""
import gzip
import struct
import sys
from pathlib import Path


def subset(src: Path, dst: Path, name: str, limit: int) -> None:
    data = gzip.open(src / name).read()
    ndim = data[3]
    dims = list(struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim]))
    item = 1
    for d in dims[1:]:
        item *= d
    n = min(limit, dims[0])
    body = data[4 + 4 * ndim : 4 + 4 * ndim + n * item]
    head = data[:4] + struct.pack(">" + "I" * ndim, n, *dims[1:])
    with gzip.open(dst / name, "wb") as f:
        f.write(head + body)


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: subset_idx.py SRC_DIR DST_DIR N_TRAIN")
    src, dst, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        subset(src, dst, name, n)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        subset(src, dst, name, 1 << 31)


if __name__ == "__main__":
    main()
