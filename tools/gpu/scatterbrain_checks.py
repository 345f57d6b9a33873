#!/usr/bin/env python3
"""Check cases for the Scatterbrain GPU kernels (issue #6), for tools/gpu/device-check.sh.

Each case is an attention-only module (fly.scatterbrain_attention, non-causal,
64 random features, head dim 64) with seeded N(0, 1) inputs rounded to f16:

  make BUILD_DIR ART_DIR   (CPU machine) writes NAME.mlir, compiles
                           NAME.cuda-f16.fly, runs fly's CPU reference
                           pipeline on the inputs and stores its output as
                           NAME.ref.npy (f16 for the large case), plus the
                           inputs NAME.input<i>.npy of the small cases.
  inputs ART_DIR           (GPU machine) regenerates the inputs of the large
                           case (84 heads: too big to carry; same seed, same
                           numbers).

The cases cover one and several 64-key chunks per group, a ragged last group
(T 1600 = 25 chunks in groups of 2), and windows 64 .. 256.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

# name, heads, T, window, carried inputs
CASES = [("sb-t256-w256", 2, 256, 256, True),
         ("sb-t1024-w64", 4, 1024, 64, True),
         ("sb-t1536-w128", 3, 1536, 128, True),
         ("sb-t1600-h84-w96", 84, 1600, 96, False)]


def module(heads, seq, window):
    t = "tensor<1x%dx%dx64xf32>" % (heads, seq)
    p = "tensor<64x64xf32>"
    return ("func.func @attention(%%q: %s, %%k: %s, %%v: %s, %%proj: %s) -> %s {\n"
            "  %%o = fly.scatterbrain_attention %%q, %%k, %%v, %%proj window = %d"
            " : (%s, %s, %s, %s) -> %s\n  return %%o : %s\n}\n"
            % (t, t, t, p, t, window, t, t, t, p, t, t))


def inputs(heads, seq, window):
    rng = np.random.default_rng(seq + window)
    arrays = [rng.standard_normal((1, heads, seq, 64)) for _ in range(3)]
    arrays.append(rng.standard_normal((64, 64)))
    return [a.astype(np.float16) for a in arrays]


def write_inputs(art, name, arrays):
    paths = []
    for i, a in enumerate(arrays):
        paths.append(os.path.join(art, "%s.input%d.npy" % (name, i)))
        np.save(paths[-1], a)
    return paths


def make(build, art):
    compiler = os.path.join(build, "bin", "fly-compile")
    runner = os.path.join(build, "bin", "fly-run")
    os.makedirs(art, exist_ok=True)
    for name, heads, seq, window, carried in CASES:
        src = os.path.join(art, name + ".mlir")
        with open(src, "w") as f:
            f.write(module(heads, seq, window))
        cpu = os.path.join(art, name + ".cpu-ref.fly")
        for extra, out in ((["--pipeline", "reference"], cpu),
                           (["--target", "cuda", "--dtype", "f16"],
                            os.path.join(art, name + ".cuda-f16.fly"))):
            subprocess.run([compiler, src, "-o", out, "--quiet"] + extra, check=True)
        paths = write_inputs(art, name, inputs(heads, seq, window))
        ref = os.path.join(art, name + ".ref.npy")
        cmd = [runner, cpu, "--iters", "1", "--warmup", "0", "--quiet", "--output", ref]
        for path in paths:
            cmd += ["--input", path]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
        subprocess.run(["rm", "-rf", cpu], check=True)
        if not carried:
            np.save(ref, np.load(ref).astype(np.float16))
            for path in paths:
                os.remove(path)


def regenerate(art):
    for name, heads, seq, window, carried in CASES:
        if not carried:
            write_inputs(art, name, inputs(heads, seq, window))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("build")
    m.add_argument("art")
    i = sub.add_parser("inputs")
    i.add_argument("art")
    args = ap.parse_args()
    if args.command == "make":
        make(args.build, args.art)
    else:
        regenerate(args.art)


if __name__ == "__main__":
    main()
