#!/usr/bin/env python3
# ===- make_bad_inputs.py - Generate malformed safetensors files ----------===#
#
# Regenerates the malformed .safetensors inputs next to this script, for lit
# tests of the weight loader's diagnostics. Each file breaks exactly one rule
# so a test can check for one specific message. Standard library only, so it
# runs anywhere; the outputs are checked in and deterministic.
#
#   python3 test/Models/Inputs/bad/make_bad_inputs.py
#
# ===----------------------------------------------------------------------===#

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header_bytes(header):
    """JSON header padded with spaces to a multiple of 8, as writers do."""
    text = json.dumps(header, separators=(",", ":")).encode()
    return text + b" " * (-len(text) % 8)


def write(name, header, data, header_len=None):
    """Writes length prefix + header + data; header_len overrides the prefix
    (to lie about the header size)."""
    hdr = header if isinstance(header, bytes) else header_bytes(header)
    length = len(hdr) if header_len is None else header_len
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<Q", length) + hdr + data)


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def main():
    # A valid two-tensor header whose data is 5 bytes short: "b" runs past
    # the end of the data section.
    write(
        "truncated.safetensors",
        {"a": tensor("F32", [2, 2], 0, 16), "b": tensor("F32", [4], 16, 32)},
        f32(*range(8))[:-5],
    )
    # The length prefix claims more header bytes than the file holds.
    hdr = header_bytes({"a": tensor("F32", [1], 0, 4)})
    write("header-too-long.safetensors", hdr, f32(1.0), header_len=4096)
    # Offsets consistent with the shape but beyond the 8-byte data section.
    write(
        "offsets-out-of-range.safetensors",
        {"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 8, 16)},
        f32(1.0, 2.0),
    )
    # "b" starts inside "a".
    write(
        "overlap.safetensors",
        {"a": tensor("F32", [4], 0, 16), "b": tensor("F32", [2], 8, 16)},
        f32(1.0, 2.0, 3.0, 4.0),
    )
    # A 2x3 F32 tensor needs 24 bytes, but the offsets span 16.
    write(
        "dtype-mismatch.safetensors",
        {"w": tensor("F32", [2, 3], 0, 16)},
        f32(1.0, 2.0, 3.0, 4.0),
    )
    # The header is cut mid-object.
    write("not-json.safetensors", b'{"a": {"dtype": "F32", "sha', f32(1.0))


if __name__ == "__main__":
    main()
