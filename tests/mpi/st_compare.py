#!/usr/bin/env python3
"""Compares the float32 tensors of two safetensors files (standard library only).

usage: st_compare.py A B [--rtol R] [--atol A]
Both files must hold the same tensor names and shapes; every value must satisfy
|a - b| <= atol + rtol * max(|a|, |b|). Prints the largest difference; exit 1 if any
value is outside the tolerance (or the files differ in names/shapes), 2 on bad usage.
"""
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        lo, hi = t["data_offsets"]
        count = (hi - lo) // 4
        out[name] = (tuple(t["shape"]), struct.unpack_from("<%df" % count, blob, base + lo))
    return out


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = dict(zip(argv[1:], argv[2:]))
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    rtol = float(opts.get("--rtol", "1e-4"))
    atol = float(opts.get("--atol", "1e-5"))
    a, b = read(args[0]), read(args[1])
    if sorted(a) != sorted(b):
        print("tensor names differ: %s" % sorted(set(a) ^ set(b)))
        return 1
    worst, worst_name, bad, total = 0.0, "", 0, 0
    for name in sorted(a):
        (sa, va), (sb, vb) = a[name], b[name]
        if sa != sb:
            print("%s: shape %s vs %s" % (name, sa, sb))
            return 1
        for x, y in zip(va, vb):
            d = abs(x - y)
            total += 1
            if d > atol + rtol * max(abs(x), abs(y)) or d != d:
                bad += 1
            if d > worst or d != d:
                worst, worst_name = d, name
    print("%d tensors, %d values: max |diff| %.3g (%s); %d outside atol %g + rtol %g"
          % (len(a), total, worst, worst_name, bad, atol, rtol))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
