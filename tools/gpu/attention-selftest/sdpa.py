#!/usr/bin/env python3
"""PyTorch reference timing for the fused attention self-test.

Reads check's output (file argument or stdin), whose lines
  FLY_ATTN_RESULT <name> <bh> <t> <d> <bf16> <causal> <scale> <fly_us> [heads]
                  [window]
describe each case, times torch.nn.functional.scaled_dot_product_attention
on the same shape / dtype / causality / scale (q, k, v of shape
[1, BH, T, D], contiguous; heads > 0, fly's packed layout: q, k, v are
strided views of one [B*T, 3*H*D] qkv tensor, as GPT-2 slices them, and the
time includes the [B, H, T, D] -> [B*T, H*D] copy of the output that the
next projection needs) with CUDA events (median of SAMPLES samples of
REPS back-to-back calls), and prints fly time / SDPA time per case.

Windowed cases (window > 0, fly.local_attention; f16, default scale) with
T >= FLEX_MIN_T are compared with FlexAttention under a block mask of fly's
band and with dense SDPA of the same causality, both [1, BH, T, D], by
flex_window.py (copied beside this file; see there); each shape is timed
once. Smaller windowed cases (correctness only) are skipped.
"""
import os
import statistics
import sys

import torch
import torch.nn.functional as F

SAMPLES = 30
REPS = 20
FLEX_MIN_T = 4096


def time_sdpa(bh, t, d, bf16, causal, scale, heads=0):
    dtype = torch.bfloat16 if bf16 else torch.float16
    gen = torch.Generator(device="cuda").manual_seed(0)
    if heads:
        b = bh // heads
        qkv = torch.randn(b * t, 3 * heads * d, device="cuda", dtype=dtype,
                          generator=gen)
        q, k, v = (x.transpose(1, 2) for x in
                   qkv.view(b, t, 3, heads, d).unbind(2))
        run = lambda: F.scaled_dot_product_attention(
            q, k, v, is_causal=causal, scale=scale).transpose(1, 2).reshape(
                b * t, heads * d)
    else:
        q, k, v = (torch.randn(1, bh, t, d, device="cuda", dtype=dtype,
                               generator=gen) for _ in range(3))
        run = lambda: F.scaled_dot_product_attention(q, k, v,
                                                     is_causal=causal,
                                                     scale=scale)
    for _ in range(5):
        run()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(SAMPLES):
        start.record()
        for _ in range(REPS):
            run()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e3 / REPS)
    return statistics.median(times)


def time_window_peers(bh, t, d, bf16, causal, scale, window):
    """(SDPA dense us, FlexAttention sliding-window us) on [1, BH, T, D]:
    flex_window.time_case (fresh static compile per shape, the smaller of
    the CUDA-event and do_bench medians; f16, default scale)."""
    key = (bh, t, d, causal, window)
    if key not in _timed:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import flex_window
        flex, _, _, sdpa = flex_window.time_case(t, causal, window, bh, d)
        _timed[key] = (sdpa, flex)
    return _timed[key]


_timed = {}


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    cases = [line.split()[1:] for line in source
             if line.startswith("FLY_ATTN_RESULT ")]
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, "
          f"cuda {torch.version.cuda}")
    print(f"{'kernel':50s} {'fly us':>9s} {'SDPA us':>9s} {'SDPA TF/s':>9s} "
          f"{'fly/SDPA time':>13s}")
    windowed = []
    for name, bh, t, d, bf16, causal, scale, fly_us, *rest in cases:
        bh, t, d, bf16, causal = int(bh), int(t), int(d), bf16 == "1", \
            causal == "1"
        scale, fly_us = float(scale), float(fly_us)
        heads = int(rest[0]) if rest else 0
        window = int(rest[1]) if len(rest) > 1 else 0
        if window > 0:
            if (t >= FLEX_MIN_T and heads == 0 and not bf16 and
                    abs(scale - d ** -0.5) < 1e-9):
                windowed.append((name, bh, t, d, bf16, causal, scale, fly_us,
                                 window))
            continue
        us = time_sdpa(bh, t, d, bf16, causal, scale, heads)
        flops = 4.0 * bh * t * t * d * (0.5 if causal else 1.0)
        print(f"{name:50s} {fly_us:9.1f} {us:9.1f} "
              f"{flops / (us * 1e-6) / 1e12:9.1f} {fly_us / us:13.2f}")
    if not windowed:
        return
    print(f"\nSliding window (fly.local_attention) vs FlexAttention "
          f"(block mask of the same band) and dense SDPA:")
    print(f"{'kernel':50s} {'fly us':>9s} {'Flex us':>9s} {'SDPA us':>9s} "
          f"{'fly/Flex':>9s} {'fly/SDPA':>9s}")
    for name, bh, t, d, bf16, causal, scale, fly_us, window in windowed:
        try:
            sdpa, flex = time_window_peers(bh, t, d, bf16, causal, scale,
                                           window)
        except Exception as e:  # report and go on with the other shapes
            print(f"{name:50s} {fly_us:9.1f} peers failed: {e!r}")
            continue
        print(f"{name:50s} {fly_us:9.1f} {flex:9.1f} {sdpa:9.1f} "
              f"{fly_us / flex:9.2f} {fly_us / sdpa:9.2f}", flush=True)


if __name__ == "__main__":
    main()
