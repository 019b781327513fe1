#!/usr/bin/env python3
"""Writes the small valid seed files of tests/fuzz/corpus/<target>/ (standard library only).

Run once by hand (python3 tests/fuzz/make_seeds.py); the files are committed. Crash
reproducers found later are added to the same folders by hand as regression-*.
"""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors ---------------------------------------------------------------------
def safetensors(tensors, meta=None):
    header, blob = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if meta is not None:
        header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
put("safetensors", "f32_meta.safetensors", safetensors(
    [("w", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F32", [2], f32(0.5, -0.5))],
    {"family": "classifier", "step": "12", "config": "{\"hidden\":4}"}))
put("safetensors", "types.safetensors", safetensors([
    ("h", "F16", [3], struct.pack("<3e", 1.0, -2.0, 0.25)),
    ("bf", "BF16", [2], bytes([0x80, 0x3f, 0x00, 0xc0])),
    ("d", "F64", [1], struct.pack("<d", 3.5)),
    ("i", "I64", [2], struct.pack("<2q", 7, -7)),
    ("u", "U8", [4], bytes([0, 1, 2, 255])),
    ("t", "BOOL", [2], bytes([0, 1])),
    ("s", "I32", [], struct.pack("<i", 5)),
    ("e", "F32", [0, 3], b""),
]))
put("safetensors", "ema_optim.safetensors", safetensors([
    ("w", "F32", [1], f32(1)), ("ema/w", "F32", [1], f32(0.9)),
    ("optim/exp_avg/w", "F32", [1], f32(0.1)), ("optim/exp_avg_sq/w", "F32", [1], f32(0.01)),
], {"step": "3", "epoch": "1", "rng": "seed 0"}))
put("safetensors", "empty.safetensors", safetensors([], {}))


# ---- PNG -----------------------------------------------------------------------------------
def png(width, height, bit_depth, colour_type, rows, palette=None, trns=None):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", palette)
    if trns:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


put("png", "gray8.png", png(3, 2, 8, 0, [bytes([0, 128, 255]), bytes([1, 2, 3])]))
put("png", "rgb8.png", png(2, 2, 8, 2, [bytes(range(6)), bytes(range(6, 12))]))
put("png", "rgba8.png", png(2, 1, 8, 6, [bytes([255, 0, 0, 128, 0, 255, 0, 255])]))
put("png", "gray16.png", png(2, 1, 16, 0, [bytes([0x12, 0x34, 0xff, 0xff])]))
put("png", "graya8.png", png(2, 1, 8, 4, [bytes([10, 255, 20, 0])]))
put("png", "palette.png", png(4, 1, 2, 3, [bytes([0b00011011])], palette=bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]), trns=bytes([255, 128])))
put("png", "gray1.png", png(8, 1, 1, 0, [bytes([0b10110010])]))


# ---- IDX -----------------------------------------------------------------------------------
images = struct.pack(">IIII", 0x803, 2, 3, 3) + bytes(range(0, 180, 10))
labels = struct.pack(">II", 0x801, 2) + bytes([0, 9])  # matches images: a valid MNIST-style pair
put("idx", "labels-any-idx1-ubyte", struct.pack(">II", 0x801, 5) + bytes([0, 9, 3, 1, 255]))
put("idx", "images-idx3-ubyte", images)
put("idx", "labels-idx1-ubyte", labels)
put("idx", "images-idx3-ubyte.gz", gzip.compress(images, mtime=0))
put("idx", "labels-idx1-ubyte.gz", gzip.compress(labels, mtime=0))

# ---- captions.tsv (the folder holds a.png gray 2x2 and b.png RGB 2x2) ---------------------
put("captions", "plain.tsv", "a.png\ta small red circle\nb.png\ta large blue square\n")
put("captions", "header_labels.tsv", "file\tcaption\tlabel\na.png\tone cat\t0\nb.png\ttwo dogs\t1\na.png\tcat again\t0\n")
put("captions", "utf8_crlf.tsv", "b.png\tcafé — naïve ünïcode\r\na.png\t日本語のキャプション\r\n\n")

# ---- tokenizer: a stored vocabulary, and captions ---------------------------------------
put("tokenizer", "vocab.txt", "<pad>\n<bos>\n<eos>\n<unk>\na\nred\ncircle\nsmall\n")
put("tokenizer", "captions.txt", "a small red circle in the top left\nA Large BLUE square, left of a cross!\nit's 2 o'clock\n")
put("tokenizer", "utf8.txt", "naïve café\nслово и ещё\n\t  spaced   out \n")

# ---- sequences: first byte = mode (bit 0 CSV, 1 tokens, 2 lowercase, 3-5 alphabet) --------
put("sequences", "text_chars.bin", b"\x00" + "hello world\nabc\nzzz\n".encode())
put("sequences", "text_az_lower.bin", b"\x0c" + "Hello\nWORLD\nno digits 4\n".encode())  # lowercase, a-z
put("sequences", "text_acgt.bin", b"\x10" + "acgtacgt\nggcc\nacgx\n".encode())
put("sequences", "text_tokens.bin", b"\x22" + "up down up\ndown down\nup left\n".encode())  # tokens, up,down
put("sequences", "text_utf8.bin", b"\x00" + "éüß\nλόγος\n\n\n".encode())
put("sequences", "csv_seq.bin", b"\x01" + "seq,x,y\n0,1.5,2\n0,-1,3e2\n1,0,0\n".encode())
put("sequences", "csv_blank.bin", b"\x01" + "a,b\n1,2\n3,4\n\n5,6\n".encode())
put("sequences", "csv_one.bin", b"\x01" + "value\n0.25\n-7\n".encode())

# ---- --config JSON -------------------------------------------------------------------------
put("config", "basic.json", "{\"epochs\": 3, \"batch\": 64, \"lr\": 0.002, \"optimizer\": \"adamw\"}\n")
put("config", "all.json", json.dumps({
    "epochs": 1, "iters": 100, "batch": 32, "lr": 1e-3, "optimizer": "sgd", "weight_decay": 0.0,
    "momentum": 0.8, "lr-schedule": "cosine", "warmup": 10, "clip": 1.0, "ema": 0.999, "seed": 42,
    "device": "cpu", "threads": 2, "save_every": 50, "val_split": 0.1, "skip-nonfinite": True,
    "init": None, "out": "runs/x", "resume": False, "force": True, "log_every": 10}, indent=1))
put("config", "empty.json", "{}")

# ---- CLI arguments: first byte picks the parser (bit 0: training verb), then NUL-separated argv
args = lambda mode, *a: bytes([mode]) + b"\x00".join(x.encode() for x in a)
put("cli_args", "plain.bin", args(0, "--flag", "--count", "12", "--rate=0.25", "--name", "n", "pos1", "pos2"))
put("cli_args", "common.bin", args(0, "--device", "cpu", "--threads=2", "--json", "-5", "--", "-h"))
put("cli_args", "train.bin", args(1, "--epochs", "2", "--lr-schedule=cosine", "--width", "8", "--batch", "16", "--seed=3"))
put("cli_args", "train_config.bin", args(1, "--config", "cfg.json", "--lr", "0.5", "--skip-nonfinite", "--out", "run"))
