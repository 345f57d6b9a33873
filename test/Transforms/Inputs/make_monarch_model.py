#!/usr/bin/env python3
"""Write the tiny-gpt2 fixture model with exact Monarch MLP weights.

  make_monarch_model.py OUTDIR [--nblocks 4] [--seed 0] [--padded-mlir FILE]

Generates tiny-gpt2 with test/Models/oracle/make_model.py's machinery (same
config, weights and inputs), then overwrites every layer's mlp.c_fc.weight
and mlp.c_proj.weight with the dense form of random Monarch factors of
MonarchLinear's shapes for NBLOCKS blocks. fly-structure-linear with
kind=monarch init=project must then recover those matrices exactly, so the
structured model computes what the dense one does.

--padded-mlir also writes FILE: one fly.linear 50 -> 30 (widths that are not
multiples of NBLOCKS, so the structured form pads x and crops y) whose weight
is the visible [30][50] corner of a Monarch matrix of the padded shapes,
which the projection must also recover exactly.

numpy + safetensors only; deterministic for a given --seed.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Models", "oracle"))

import numpy as np  # noqa: E402

from make_model import write_model  # noqa: E402


def monarch_shapes(out, inp, nb):
    """w1 [k, q, p] and w2 [l, s, r] of a MonarchLinear: widths rounded up
    to multiples of nb."""
    blk_in, blk_out = -(-inp // nb), -(-out // nb)
    if blk_in < blk_out:
        return (nb, blk_in, blk_in), (nb, blk_out, blk_in)
    return (nb, blk_out, blk_in), (nb, blk_out, blk_out)


def monarch_apply(x, w1, w2):
    """y = fly.monarch_matmul(x, w1, w2) for x [b, k*p] (the op's formula)."""
    k, q, p = w1.shape
    l, s, r = w2.shape
    b = x.shape[0]
    h = np.einsum("kqp,bkp->bkq", w1, x.reshape(b, k, p)).reshape(b, k * q)
    g = h.reshape(b, r, l).transpose(0, 2, 1)  # g[b, ll, rr] = h[b, rr*l + ll]
    y = np.einsum("lsr,blr->bls", w2, g)  # y[b, ll, ss]
    return y.transpose(0, 2, 1).reshape(b, s * l)  # y[b, ss*l + ll]


def monarch_dense(w1, w2):
    """W [out][in] with y = x W^T: the op applied to the identity, transposed."""
    inp = w1.shape[0] * w1.shape[2]
    return monarch_apply(np.eye(inp), w1, w2).T


def resource(array):
    """An MLIR dense_resource blob: alignment 4, then little-endian f32."""
    return "0x04000000" + np.ascontiguousarray(array, dtype="<f4").tobytes().hex().upper()


def write_padded_mlir(path, nb, rng):
    out, inp = 30, 50
    s1, s2 = monarch_shapes(out, inp, nb)
    w = monarch_dense(0.1 * rng.standard_normal(s1), 0.1 * rng.standard_normal(s2))[:out, :inp]
    b = 0.1 * rng.standard_normal(out)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("""func.func @layer(%%x: tensor<2x5x%(i)dxf32>) -> tensor<2x5x%(o)dxf32> {
  %%w = arith.constant dense_resource<padded.weight> : tensor<%(o)dx%(i)dxf32>
  %%b = arith.constant dense_resource<padded.bias> : tensor<%(o)dxf32>
  %%y = fly.linear %%x, %%w, %%b : (tensor<2x5x%(i)dxf32>, tensor<%(o)dx%(i)dxf32>, tensor<%(o)dxf32>) -> tensor<2x5x%(o)dxf32>
  return %%y : tensor<2x5x%(o)dxf32>
}

{-#
  dialect_resources: {
    builtin: {
      padded.weight: "%(w)s",
      padded.bias: "%(b)s"
    }
  }
#-}
""" % {"i": inp, "o": out, "w": resource(w), "b": resource(b)})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--nblocks", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--padded-mlir", help="also write the padded single-layer test to this file")
    args = ap.parse_args(argv)

    from safetensors.numpy import save_file

    weights, _ = write_model("tiny-gpt2", args.outdir)
    rng = np.random.default_rng(args.seed + 1000)
    layers = sorted({k.split(".")[2] for k in weights if k.startswith("transformer.h.")}, key=int)
    for layer in layers:
        for name in ("mlp.c_fc.weight", "mlp.c_proj.weight"):
            key = "transformer.h.%s.%s" % (layer, name)
            inp, out = weights[key].shape  # Conv1D stores [in, out]
            s1, s2 = monarch_shapes(out, inp, args.nblocks)
            # 0.1 * 0.1 * sqrt(terms per entry): entries of the size of
            # GPT-2's 0.02 initialisation.
            w1 = 0.1 * rng.standard_normal(s1)
            w2 = 0.1 * rng.standard_normal(s2)
            dense = monarch_dense(w1, w2)  # [out][in]
            assert dense.shape == (out, inp)
            weights[key] = np.ascontiguousarray(dense.T.astype(np.float32))
    save_file(weights, os.path.join(args.outdir, "model.safetensors"), metadata={"format": "pt"})
    print("wrote %s (tiny-gpt2, Monarch MLPs with %d blocks)" % (args.outdir, args.nblocks))
    if args.padded_mlir:
        write_padded_mlir(args.padded_mlir, args.nblocks, rng)
        print("wrote %s (50 -> 30 Monarch layer, padded)" % args.padded_mlir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
