#!/usr/bin/env python3
# ===- make_seeds.py - Seed corpora for the fuzzers ------------------------===#
#
# Regenerates test/Fuzz/corpus/: small valid safetensors files (every dtype,
# scalars, empty tensors, metadata) next to copies of the malformed inputs in
# test/Models/Inputs/bad/, and the fixtures' config.json files next to the
# malformed configs. Inputs that once crashed a reader live in
# test/Fuzz/regressions/, not here. Standard library only; the outputs are
# checked in and deterministic. corpus/passes/ holds seeded random bytes
# for the pass fuzzer.
#
#   python3 test/Fuzz/make_seeds.py
#
# ===----------------------------------------------------------------------===#

import glob
import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ST = os.path.join(HERE, "corpus", "safetensors")
CFG = os.path.join(HERE, "corpus", "config")
PASSES = os.path.join(HERE, "corpus", "passes")

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4,
         "I8": 1, "U8": 1, "BOOL": 1}


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape); data is a byte counter."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + n]}
        data += bytes((len(data) + i) % 251 for i in range(n))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    for d in (ST, CFG):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    seeds = {
        "valid-f32.safetensors": safetensors([("w", "F32", [2, 3])]),
        "valid-two.safetensors": safetensors(
            [("a", "F16", [4]), ("b", "BF16", [2, 2])],
            {"format": "pt"}),
        "valid-all-dtypes.safetensors": safetensors(
            [(dt.lower(), dt, [2]) for dt in SIZES]),
        "valid-scalar-empty.safetensors": safetensors(
            [("s", "F64", []), ("e", "I32", [0, 5]), ("x", "U8", [3])]),
        "valid-gpt2-names.safetensors": safetensors(
            [("transformer.wte.weight", "F32", [4, 2]),
             ("transformer.h.0.attn.c_attn.bias", "F32", [6])],
            {"format": "pt", "note": "seed"}),
        "metadata-only.safetensors": safetensors([], {"a": "b"}),
    }
    for name, data in seeds.items():
        with open(os.path.join(ST, name), "wb") as f:
            f.write(data)

    bad = os.path.join(ROOT, "test", "Models", "Inputs", "bad")
    for path in sorted(glob.glob(os.path.join(bad, "*.safetensors"))):
        shutil.copy(path, os.path.join(ST, "bad-" + os.path.basename(path)))
    for path in sorted(glob.glob(os.path.join(bad, "*.json"))):
        shutil.copy(path, os.path.join(CFG, "bad-" + os.path.basename(path)))
    fixtures = os.path.join(ROOT, "test", "Models", "fixtures")
    for path in sorted(glob.glob(os.path.join(fixtures, "*", "config.json"))):
        name = os.path.basename(os.path.dirname(path))
        shutil.copy(path, os.path.join(CFG, name + ".json"))

    # The pass fuzzer's inputs are not IR but the bytes its generator reads
    # (pipeline, snippet kinds, shapes, weights): seeded random bytes.
    os.makedirs(PASSES, exist_ok=True)
    rng = random.Random(7)
    for i in range(24):
        data = bytes([i * 11 % 256]) + bytes(rng.randrange(256)
                                             for _ in range(255))
        with open(os.path.join(PASSES, "seed-%02d.bin" % i), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
